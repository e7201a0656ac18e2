"""`vericarbon serve`: the HTTP API in this process, and the children it supervises — worker processes that
decide submissions and one delivery process that sends webhooks (delivery.py).

A child that exits is reaped and started again, after a pause that doubles with each quick exit (0.5 s up
to 30 s; back to 0.5 s once a child has run a minute). SIGTERM or SIGINT stops the whole tree gracefully:
the API stops taking connections, each child finishes its current job, and serve exits when they have
(SIGKILL after a grace period). uvicorn's own signal handling would re-raise the signal once it has
stopped, so the process died before stopping its children; here serve keeps the signal to itself. A child
exits when serve dies, even by SIGKILL: Linux's PR_SET_PDEATHSIG sends it SIGTERM, and on any system each
child also stops once its parent is no longer the serve that started it (a re-parented child's PPID changes).

A child is `python -m vericarbon.service.supervisor ROLE-AS-JSON`, so no command-line option of the
operator's `vericarbon worker` is needed for what only serve passes.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator

from vericarbon.service.store import shown_location
from vericarbon.service.webhooks import Policy

LOG = logging.getLogger("vericarbon.service")
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
QUICK_EXIT = 60.0  # a child that ran less than this before it exited counts as failing: its restart waits longer


@dataclass
class Child:
    """One supervised process: its role and options, and when it may be started again."""

    role: str
    options: dict[str, Any]
    process: subprocess.Popen | None = None
    started: float = 0.0
    failures: int = 0
    start_at: float = 0.0


class Supervisor:
    """Keeps its children running until stopped."""

    def __init__(self, children: list[Child], poll_seconds: float = 0.2) -> None:
        self.children, self.poll_seconds = children, poll_seconds
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def start(self) -> None:
        with self._lock:
            for child in self.children:
                self._spawn(child)
        self._thread.start()

    def alive(self) -> dict[str, int]:
        """How many children of each role are running now (for /readyz)."""
        with self._lock:
            counts: dict[str, int] = {}
            for child in self.children:
                counts[child.role] = counts.get(child.role, 0) + (child.process is not None and child.process.poll() is None)
            return counts

    def expected(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for child in self.children:
            counts[child.role] = counts.get(child.role, 0) + 1
        return counts

    def _spawn(self, child: Child) -> None:
        command = [sys.executable, "-m", "vericarbon.service.supervisor", json.dumps({"role": child.role, "parent": os.getpid(), **child.options})]
        child.process, child.started = subprocess.Popen(command), time.monotonic()
        LOG.info("started %s process %d", child.role, child.process.pid)

    def _watch(self) -> None:
        while not self._stopping.wait(self.poll_seconds):
            with self._lock:
                now = time.monotonic()
                for child in self.children:
                    if child.process is not None and child.process.poll() is not None:  # poll() reaps it: no zombie
                        code = child.process.returncode
                        child.failures = 0 if now - child.started >= QUICK_EXIT else child.failures + 1
                        child.start_at = now + min(0.5 * 2 ** (child.failures - 1), 30.0) if child.failures else now
                        LOG.warning("%s process %d exited (%s); starting another in %.1f s", child.role, child.process.pid, code, child.start_at - now)
                        child.process = None
                    if child.process is None and now >= child.start_at and not self._stopping.is_set():
                        self._spawn(child)

    def stop(self, grace: float) -> None:
        """SIGTERM every child, wait `grace` seconds for them to finish their jobs, then SIGKILL the rest."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        running = [c.process for c in self.children if c.process is not None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        deadline = time.monotonic() + grace
        for process in running:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                LOG.warning("%d did not stop within %.0f s: killed", process.pid, grace)
                process.kill()
                process.wait()


def _die_with_parent(parent: int) -> None:
    """SIGTERM when the parent dies (Linux); and if it is gone already, exit now."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        sys.exit(0)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")


def serve(location: str, host: str, port: int, workers: int, lease: float, job_seconds: float | None, max_body: int, policy: Policy,
          per_tenant: int = 2, delivery_timeout: float = 10.0, max_connections: int = 200) -> None:
    """Run the API on host:port and supervise `workers` workers and one delivery process until SIGTERM/SIGINT."""
    import uvicorn

    from vericarbon.service.app import create_app

    _configure_logging()
    children = [Child("worker", {"location": location, "lease_seconds": lease, "job_seconds": job_seconds}) for _ in range(workers)]
    children.append(Child("delivery", {"location": location, "allow_http": sorted(policy.allow_http), "per_tenant": per_tenant, "timeout": delivery_timeout}))
    supervisor = Supervisor(children)
    app = create_app(location, max_body, policy, supervisor)  # creates or migrates the database before any child opens it
    # idle keep-alive connections are closed after 5 s and at most `max_connections` are served at once
    # (503 past that), so slow or idle clients cannot hold the service
    class Server(uvicorn.Server):
        """uvicorn's server, but a signal only asks it to stop: uvicorn re-raises the signal once stopped,
        which killed serve before it stopped its children."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            previous = {number: signal.signal(number, self.handle_exit) for number in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for number, handler in previous.items():
                    signal.signal(number, handler)

    server = Server(uvicorn.Config(app, host=host, port=port, log_level="info", timeout_keep_alive=5, limit_concurrency=max_connections,
                                    log_config=None))
    LOG.info("vericarbon serve on http://%s:%d, database %s, %d workers and a delivery process", host, port, shown_location(location), workers)
    if app.state.store.owns_tables():
        LOG.warning("the service's database role owns its tables, so it could TRUNCATE, DROP or ALTER them, the audit log's included: "
                    "run serve as a role with only SELECT, INSERT, UPDATE and DELETE on them (README, the intake service)")
    supervisor.start()
    try:
        server.run()
    finally:
        LOG.info("stopping: the children finish their current jobs")
        supervisor.stop(grace=lease + 5)  # a job ends within its time limit, shorter than the lease
        LOG.info("stopped")


def child_main(argv: list[str]) -> int:
    """A supervised child: `role` and its options as JSON (Supervisor._spawn)."""
    options = json.loads(argv[0])
    role, parent = options.pop("role"), options.pop("parent")
    _die_with_parent(parent)
    _configure_logging()
    if role == "worker":
        from vericarbon.service import worker

        worker.run(options["location"], options["lease_seconds"], options["job_seconds"], parent=parent)
    else:
        from vericarbon.service import delivery

        delivery.run(options["location"], Policy(frozenset(options["allow_http"])), options["per_tenant"], options["timeout"], parent=parent)
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
