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
from vericarbon.screening.ledger.records import Submission, submission_of
from vericarbon.service.store import Identity, Job, Store

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


def check(job: Job, checker: Checker, ledger: Ledger, store: Store) -> tuple[str | None, dict, str | None, str | None]:
    """(verdict, summary, canonical JSON result, error) of one submission. Its ledger findings are kept in
    two views (tenant_view): the submitter's (`ledger_conflicts`, also in the result) and its registry's
    (`registry_ledger_conflicts`); `store` tells who submitted the other submissions a finding names."""
    try:
        package = read_submission(job.name, job.body, checker.store)
        submission, refused = scoped(submission_of(package, package.data.get("id") or job.id, f"submission {job.id}", {}), job.registry)
        result = intake_decision(checker.check(package))
    except InputError as error:
        return None, {}, None, error.render()
    conflicts = refused + ledger.record_many([submission])[0]
    decision = result["decision"]["outcome"]
    if conflicts and decision == "accept":
        decision = "return_to_proponent"  # credits counted twice across submissions are returned even when every rule passed
    owners = store.owners({other_submission(c) for c in conflicts} - {None})  # type: ignore[arg-type]
    submitter = Identity(job.registry, job.proponent)
    mine = tenant_view(conflicts, submitter, owners)
    summary = {"counts": result["summary"]["by_status"], "statement": result["summary"]["statement"], "decision": decision,
               "to_fix": len(result["decision"]["to_fix"]), "ledger_conflicts": mine, "registry_ledger_conflicts": tenant_view(conflicts, Identity(job.registry, None), owners)}
    result["ledger_conflicts"] = mine
    return result["verdict"], summary, renderer("json")(result), None  # type: ignore[return-value]


def scoped(submission: Submission, registry: str) -> tuple[Submission, list[dict]]:
    """The submission with only the issuances its tenant's registry may record: serial blocks belong to
    the registry that issues them, so an issuance in another registry's block is not recorded (it can
    never block that registry's own issuance) but is this package's finding. Registries are compared
    by name, case and punctuation aside (a tenant 'ICR' issues in the ICR blocks)."""
    own = _name(registry)
    kept = [c for c in submission.claims if c.action != "issued" or _name(c.registry) == own]
    refused = [{"kind": "issued_outside_registry", "registry": c.registry, "block": c.block, "pointer": c.pointer, "range": [c.first, c.last]}
               for c in submission.claims if c not in kept]
    return submission._replace(claims=kept), refused


def _name(registry: str) -> str:
    return "".join(character for character in registry.casefold() if character.isalnum())


def other_submission(finding: dict) -> str | None:
    """The id of the service submission a finding's other record came from, if it came from one."""
    source = (finding.get("other") or {}).get("source") or ""
    return source.removeprefix("submission ") if source.startswith("submission ") else None


def tenant_view(conflicts: list[dict], viewer: Identity, owners: dict[str, Identity]) -> list[dict]:
    """The findings as `viewer` may see them. A registry sees in full what involves its own submissions;
    a proponent what involves its own. A finding about a record outside the viewer's tenancy (another
    proponent's, another registry's, or screened outside the service) says only that one exists: its
    kind and the viewer's own range, never the other's package id, hash, source or range."""
    seen = []
    for finding in conflicts:
        owner = owners.get(other_submission(finding) or "")
        if "other" not in finding or (owner is not None and owner.registry == viewer.registry and viewer.proponent in (None, owner.proponent)):
            seen.append(finding)
        else:
            seen.append({key: finding[key] for key in ("kind", "registry", "block", "pointer", "range") if key in finding} | {"other": "a record outside your tenancy"})
    return seen


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
                    verdict, summary, result, error = check(job, checker, ledger, store)
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
