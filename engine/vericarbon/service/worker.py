"""A worker process: takes queued submissions from the database, checks each as `verify` does (all the
built-in rulesets of its kind, then the intake decision), records its serial ranges in the credit ledger
and its result, and sends the webhook deliveries that are due, signed with HMAC-SHA256.

A check and its ledger record happen before the result is recorded under the worker's lease. A worker
that dies leaves the lease to run out; another worker then checks the submission again, and recording
the same submission in the ledger again replaces its ranges (the ledger's rule), so nothing is lost and
nothing counted twice.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from vericarbon.errors import InputError
from vericarbon.evidence.package import Package, SchemaStore, parse_package
from vericarbon.render import renderer
from vericarbon.run.checker import Checker
from vericarbon.run.evaluate import intake_decision
from vericarbon.screening.ledger import Ledger, open_ledger
from vericarbon.screening.ledger.records import submission_of
from vericarbon.service.store import Job, Store

SIGNATURE_HEADER = "X-Vericarbon-Signature"  # "sha256=" + hex HMAC-SHA256 of the body with the subscriber's secret
WORKBOOK = ".xlsx"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def read_submission(name: str, body: bytes, store: SchemaStore) -> Package:
    """A submitted body read as the CLI reads a file of that name: JSON, YAML or a filled workbook."""
    if name.lower().endswith(WORKBOOK):
        from vericarbon.evidence.package import validated_package
        from vericarbon.importers.workbooks import read_workbook

        with tempfile.TemporaryDirectory(prefix="vericarbon-submission-") as folder:
            path = Path(folder) / Path(name).name
            path.write_bytes(body)
            data = read_workbook(path, store)
        return validated_package(name, data, hashlib.sha256(body).hexdigest(), store)
    return parse_package(Path(name), body, store)


def check(job: Job, checker: Checker, ledger: Ledger) -> tuple[str | None, dict, str | None, str | None]:
    """(verdict, summary, canonical JSON result, error) of one submission."""
    try:
        package = read_submission(job.name, job.body, checker.store)
        submission = submission_of(package, package.data.get("id") or job.id, f"submission {job.id}", {})
        result = intake_decision(checker.check(package))
    except InputError as error:
        return None, {}, None, error.render()
    conflicts = ledger.record_many([submission])[0]
    decision = result["decision"]["outcome"]
    if conflicts and decision == "accept":
        decision = "return_to_proponent"  # credits counted twice across submissions are returned even when every rule passed
    summary = {"counts": result["summary"]["by_status"], "statement": result["summary"]["statement"], "decision": decision,
               "to_fix": len(result["decision"]["to_fix"]), "ledger_conflicts": conflicts}
    result["ledger_conflicts"] = conflicts
    return result["verdict"], summary, renderer("json")(result), None  # type: ignore[return-value]


def run(location: str, lease_seconds: float = 60.0, idle_seconds: float = 0.05, stop_after: float | None = None) -> None:
    """Work until stopped (SIGTERM or SIGINT end it after the current job); `stop_after` seconds for tests."""
    name = f"{os.uname().nodename}:{os.getpid()}"
    store = Store(location)
    checker = Checker(SchemaStore(), [], [], None)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    deadline = None if stop_after is None else time.monotonic() + stop_after
    with open_ledger(location) as ledger:
        while not stopping and (deadline is None or time.monotonic() < deadline):
            job = store.take(name, lease_seconds)
            if job is not None:
                try:
                    verdict, summary, result, error = check(job, checker, ledger)
                except Exception as crash:  # a bug of ours inside one submission: its result, never the worker's end
                    verdict, summary, result, error = None, {}, None, f"internal error ({type(crash).__name__}: {crash})"
                store.finish(job, name, verdict, summary, result, error)
                continue
            if not deliver_due(store):
                time.sleep(idle_seconds)
    store.close()


def deliver_due(store: Store, timeout: float = 5.0) -> int:
    """Send the webhook deliveries that are due; a failed one is tried again later with backoff."""
    sent = 0
    for delivery, url, secret, body, attempts in store.due_deliveries():
        if not store.claim_delivery(delivery, attempts, hold_seconds=timeout * 2):
            continue  # another worker is sending it
        payload = body.encode()
        request = urllib.request.Request(url, data=payload, method="POST", headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature(secret, payload), "X-Vericarbon-Delivery": delivery})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (a URL the registry registered)
                error = None if 200 <= response.status < 300 else f"HTTP {response.status}"
        except urllib.error.HTTPError as failure:
            error = f"HTTP {failure.code}"
        except (urllib.error.URLError, OSError, ValueError) as failure:
            error = str(getattr(failure, "reason", failure))
        store.delivered(delivery, error)
        sent += 1
    return sent
