"""The intake service under load, on loopback: two `vericarbon serve --workers 0` processes and two
`vericarbon worker` processes on one database; N concurrent clients submit a mix of small and mid
inventory packages for a fixed time, a share of them retiring credits another package already retired
(planted overlaps). Then the same again while another registry, whose 20 webhooks answer only after
5 s, submits alongside (its deliveries run in the delivery processes, never on the workers: the first
registry's decision times should not move); then while one worker and one service process are killed.

    python benchmarks/service.py [--database postgresql://…] [--clients 8] [--seconds 20] [--rate N]

Default database: a SQLite file in a temporary folder; with VERICARBON_TEST_DATABASE set (.ci/postgres
starts a cluster) or --database, PostgreSQL. Prints submissions/s accepted and decided, p50/p99 latency
from receipt to decision (the server's clocks), and checks: every acknowledged submission decided (0
lost), each decided once (audit entries and ledger ranges; 0 duplicated), every planted overlap found.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from handwritten import generate  # noqa: E402
from ports import free_port, wait_for_port  # noqa: E402

from vericarbon.screening.ledger import open_ledger  # noqa: E402
from vericarbon.service.store import Store  # noqa: E402

VERICARBON = [sys.executable, "-m", "vericarbon"]
SIZES = {"small": (40, 5), "mid": (400, 50)}
OVERLAP_SHARE = 0.1
SLOW_HOOKS, SLOW_SECONDS = 20, 5.0
PHASES = [("steady", False, False), (f"beside a registry whose {SLOW_HOOKS} webhooks take {SLOW_SECONDS:g} s each", False, True),
          ("one worker and one service process killed mid-run", True, False)]


class Packages:
    """Packages with serials of their own, except a planted share that retires credits an earlier one did."""

    def __init__(self, seed: int, prefix: str = "LOAD") -> None:
        self.prefix = prefix
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.count = 0
        self.planted: list[tuple[str, str]] = []  # (earlier package id, later package id)
        self.base: dict[int, int] = {}  # package number -> the serial base its credits start from
        self.bodies = {size: json.dumps(generate(*shape)) for size, shape in SIZES.items()}

    def next(self) -> tuple[str, bytes]:
        with self.lock:
            self.count += 1
            number = self.count
            overlap = number > 1 and self.random.random() < OVERLAP_SHARE
            size = "mid" if self.random.random() < 0.2 else "small"
            if overlap:
                earlier = self.random.randrange(1, number)
                self.planted.append((f"{self.prefix}-{earlier}", f"{self.prefix}-{number}"))
            self.base[number] = self.base[earlier] if overlap else number * 10**7
        package = json.loads(self.bodies[size])
        package["id"] = f"{self.prefix}-{number}"
        base = self.base[number]
        for batch in package["offsets"]["batches"]:
            batch["serial"] = {"prefix": f"{self.prefix}-", "start": base + batch["serial"]["start"], "end": base + batch["serial"]["end"]}
        if overlap:
            package["offsets"]["batches"] = package["offsets"]["batches"][:1]  # one batch of the earlier package's credits
            package["documents"] = package["documents"][:1]
        return package["id"], json.dumps(package).encode()


def client(ports: list[int], key: str, packages: Packages, until: float, acknowledged: list, failures: list, interval: float) -> None:
    connections: dict[int, http.client.HTTPConnection] = {}
    turn = random.randrange(len(ports))
    next_at = time.time()
    while time.time() < until:
        next_at += interval
        time.sleep(max(0.0, next_at - time.time()))
        package_id, body = packages.next()
        for _ in range(len(ports) * 2):  # a refused or dropped connection: the other service process
            port = ports[turn % len(ports)]
            turn += 1
            try:
                connection = connections.setdefault(port, http.client.HTTPConnection("127.0.0.1", port, timeout=30))
                connection.request("POST", "/v1/submissions", body, {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
                response = connection.getresponse()
                answer = json.loads(response.read())
                if response.status == 202:
                    acknowledged.append((answer["id"], package_id))
                else:
                    failures.append(f"{response.status} {answer}")
                break
            except (OSError, http.client.HTTPException, ValueError):
                connections.pop(port, None)


class _SlowEndpoint(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that takes SLOW_SECONDS to answer."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(SLOW_SECONDS)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def slow_registry(database: str, port: int) -> tuple[str, http.server.ThreadingHTTPServer]:
    """A registry with SLOW_HOOKS webhooks at an endpoint that answers slowly: its key and the endpoint."""
    endpoint = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowEndpoint)
    threading.Thread(target=endpoint.serve_forever, daemon=True).start()
    store = Store(database)
    key, registry_key = store.create_key("SLOW", "Slow Ltd"), store.create_key("SLOW")
    for _ in range(SLOW_HOOKS):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/v1/webhooks", json.dumps({"url": f"http://127.0.0.1:{endpoint.server_address[1]}/hook"}),
                           {"Authorization": f"Bearer {registry_key}", "Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 201, response.read()
    return key, endpoint


def phase(database: str, clients: int, seconds: float, kill: bool, packages: Packages, key: str, rate: float, slow: bool = False) -> dict:
    ports = [free_port(), free_port()]
    # the slow registry's receiver is on loopback: the operator lists it, as the tests do
    services = [subprocess.Popen([*VERICARBON, "serve", "--database", database, "--workers", "0", "--port", str(port), "--webhook-allow-http", "127.0.0.1"],
                                 stderr=subprocess.DEVNULL) for port in ports]
    workers = [subprocess.Popen([*VERICARBON, "worker", "--database", database, "--lease", "5"]) for _ in range(2)]
    for port in ports:
        wait_for_port(port, 60)
    acknowledged: list = []
    failures: list = []
    start = time.time()
    interval = clients / rate if rate else 0.0  # each client's pace, for `rate` submissions/s in all
    threads = [threading.Thread(target=client, args=(ports, key, packages, start + seconds, acknowledged, failures, interval)) for _ in range(clients)]
    if slow:  # one more client, of the slow registry, whose decisions are not measured
        slow_key, endpoint = slow_registry(database, ports[0])
        threads.append(threading.Thread(target=client, args=(ports, slow_key, Packages(seed=7, prefix="SLOW"), start + seconds, [], failures, interval or 0.2)))
    for thread in threads:
        thread.start()
    if kill:
        time.sleep(seconds / 2)
        workers[0].send_signal(signal.SIGKILL)
        services[0].send_signal(signal.SIGKILL)
    for thread in threads:
        thread.join()
    submitted = time.time() - start
    store = Store(database)
    ids = [submission for submission, _ in acknowledged]
    deadline = time.time() + 300
    while time.time() < deadline:
        pending = store.read_one("SELECT count(*) FROM submissions WHERE status IN ('queued', 'checking')")[0]
        if not pending:
            break
        time.sleep(0.2)
    drained = time.time() - start
    for process in services + workers:
        process.send_signal(signal.SIGTERM)
    for process in services + workers:
        process.wait()
    if slow:
        endpoint.shutdown()
    return {"acknowledged": acknowledged, "failures": failures, "submitted_seconds": submitted, "drained_seconds": drained, "ids": ids}


def verify(database: str, acknowledged: list, planted: list[tuple[str, str]]) -> dict:
    store = Store(database)
    rows = {row[0]: row for row in store.read_all("SELECT id, status, received, decided, package_id, summary FROM submissions")}
    lost = [submission for submission, _ in acknowledged if submission not in rows or rows[submission][1] != "done"]
    decided_entries = store.read_all("SELECT subject, count(*) FROM audit WHERE action = 'decided' GROUP BY subject")
    decided_twice = [subject for subject, count in decided_entries if count > 1]
    with open_ledger(database) as ledger:
        recorded: dict[tuple[str, str], int] = {}
        for row in ledger.ranges():
            recorded[row[6], row[8]] = recorded.get((row[6], row[8]), 0) + 1  # (package, its range's pointer)
    packages = {package_id for _, package_id in acknowledged}
    conflicts: dict[str, set[str]] = {}
    for _, _, _, _, package_id, summary in rows.values():
        conflicts[package_id] = {c["other"]["package_id"] for c in json.loads(summary or "{}").get("ledger_conflicts", [])}
    found = [pair for pair in planted if pair[0] in packages and pair[1] in packages]
    missed = [(a, b) for a, b in found if a not in conflicts.get(b, set()) and b not in conflicts.get(a, set())]
    latencies = sorted(rows[s][3] - rows[s][2] for s, _ in acknowledged if s in rows and rows[s][3])
    return {"lost": lost, "decided_twice": decided_twice, "missed_overlaps": missed, "planted_overlaps": len(found), "latencies": latencies,
            "ranges_recorded_twice": sum(1 for count in recorded.values() if count > 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("VERICARBON_TEST_DATABASE"))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=0, help="submissions per second in all (default 0: as fast as the clients can); below the workers' pace, latency is the check's, not the queue's")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = args.database or str(Path(folder) / "service.sqlite")
        for number, (label, kill, slow) in enumerate(PHASES):
            if args.database and database.startswith("postgres"):
                database = _fresh_postgres(args.database)
            elif not args.database:
                database = str(Path(folder) / f"service-{number}.sqlite")
            key = Store(database).create_key("LOAD", "Load Ltd")
            packages = Packages(seed=20261126 + kill)
            run = phase(database, args.clients, args.seconds, kill, packages, key, args.rate, slow)
            checked = verify(database, run["acknowledged"], packages.planted)
            latencies = checked["latencies"]
            pace = f", {args.rate:g}/s offered" if args.rate else ", as fast as they can"
            print(f"{label} ({'PostgreSQL' if database.startswith('postgres') else 'SQLite'}, {args.clients} clients{pace}, {args.seconds:g} s, 2 service + 2 worker processes):")
            print(f"  accepted {len(run['acknowledged'])} submissions ({len(run['acknowledged']) / run['submitted_seconds']:.1f}/s), all decided after {run['drained_seconds']:.1f} s "
                  f"({len(run['acknowledged']) / run['drained_seconds']:.1f}/s); refused {len(run['failures'])}")
            if latencies:
                print(f"  receipt to decision: p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms")
            print(f"  lost {len(checked['lost'])}, decided twice {len(checked['decided_twice'])}, ranges recorded twice {checked['ranges_recorded_twice']}, "
                  f"planted overlaps {checked['planted_overlaps']}, missed {len(checked['missed_overlaps'])}")


def _fresh_postgres(admin: str) -> str:
    """A new database on the server of `admin`, for one phase."""
    import re
    import uuid

    import psycopg

    name = f"load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return re.sub(r"^(postgres(?:ql)?://[^/?]*/)[^?]*", lambda m: m.group(1) + name, admin)


if __name__ == "__main__":
    main()
