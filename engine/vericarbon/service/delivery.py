"""The delivery process: sends the webhook deliveries that decisions queued (the deliveries table), apart
from the workers that decide submissions, so a registry whose endpoint is slow or down delays only its own
deliveries, never another registry's decisions.

Each registry has at most `per_tenant` deliveries in flight in this process (a slow endpoint holds that many
threads, not the pool); each is bounded by `timeout` seconds in all (webhooks.post), and a failed one is
tried again with backoff (Store.delivered: 2, 4, 8 … s, capped at an hour, DELIVERY_ATTEMPTS in all). A
delivery is claimed before it is sent (its next attempt pushed past the timeout), so two delivery processes
on one database (two `serve` machines) do not send it together; the per-tenant limit is per process.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import os
import signal
import threading
import time

from vericarbon.service.store import Backoff, Store, Unavailable
from vericarbon.service.webhooks import SIGNATURE_HEADER, Policy, post, signature

LOG = logging.getLogger("vericarbon.service")
THREADS = 16


class Deliverer:
    """Sends due deliveries on a thread pool, at most `per_tenant` of one registry's at a time."""

    def __init__(self, store: Store, policy: Policy, per_tenant: int = 2, timeout: float = 10.0, threads: int = THREADS) -> None:
        self.store, self.policy, self.per_tenant, self.timeout = store, policy, per_tenant, timeout
        self.pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="delivery")
        self.in_flight: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()

    def send_due(self) -> int:
        """Start the due deliveries that the per-tenant limits allow; how many were started."""
        started = 0
        for delivery, registry, url, secret, body, attempts in self.store.due_deliveries(self.per_tenant):
            with self.lock:
                if self.in_flight[registry] >= self.per_tenant:
                    continue
                if not self.store.claim_delivery(delivery, attempts, hold_seconds=self.timeout * 2 + 5):
                    continue  # another delivery process is sending it
                self.in_flight[registry] += 1
            self.pool.submit(self._send, delivery, registry, url, secret, body.encode())
            started += 1
        return started

    def _send(self, delivery: str, registry: str, url: str, secret: str, payload: bytes) -> None:
        try:
            error = post(url, payload, {SIGNATURE_HEADER: signature(secret, payload), "X-Vericarbon-Delivery": delivery}, self.policy, self.timeout)
            self.store.delivered(delivery, error)  # on a fault the claim runs out and it is sent again
        except Unavailable as fault:
            LOG.warning("delivery %s: the database is unavailable (%s)", delivery, fault.cause)
        finally:
            with self.lock:
                self.in_flight[registry] -= 1

    def close(self) -> None:
        """Wait for the deliveries in flight (each bounded by the timeout)."""
        self.pool.shutdown(wait=True)


def deliver_due(store: Store, policy: Policy = Policy(), per_tenant: int = 2, timeout: float = 10.0) -> int:
    """Send the deliveries due now and wait for them: one round of the delivery process (tests, tools)."""
    deliverer = Deliverer(store, policy, per_tenant, timeout)
    try:
        return deliverer.send_due()
    finally:
        deliverer.close()


def run(location: str, policy: Policy, per_tenant: int = 2, timeout: float = 10.0, idle_seconds: float = 0.2, parent: int | None = None) -> None:
    """Deliver until SIGTERM or SIGINT (then the deliveries in flight finish), or until `parent` ends."""
    stopping = []
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopping.append(True))
    store = Store(location)
    deliverer = Deliverer(store, policy, per_tenant, timeout)
    backoff = Backoff()
    while not stopping and (parent is None or os.getppid() == parent):
        try:
            if not deliverer.send_due():
                time.sleep(idle_seconds)
            backoff.reset()
        except (Unavailable, *store.faults) as fault:
            LOG.warning("delivery process: the database is unavailable (%s); trying again in %.1f s", " ".join(str(fault).split()), backoff.pause)
            backoff.wait()
    deliverer.close()
    store.close()
