"""A worker process: takes queued submissions from the database, checks each as `verify` does (all the
built-in rulesets of its kind, then the intake decision), records its serial ranges in the credit ledger
and its result, with a delivery queued for each of the registry's webhooks (sent by the delivery process,
delivery.py, never by a worker: a slow endpoint must not hold up decisions).

A check and its ledger record happen before the result is recorded under the worker's lease. A worker
that dies leaves the lease to run out; another worker then checks the submission again, and recording
the same submission in the ledger again replaces its ranges (the ledger's rule), so nothing is lost and
nothing counted twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import tempfile
import time
from pathlib import Path

from vericarbon.errors import InputError, OutOfScope
from vericarbon.evidence.package import Package, SchemaStore, parse_package
from vericarbon.render import renderer
from vericarbon.run.checker import Checker
from vericarbon.run.evaluate import intake_decision
from vericarbon.screening.ledger import Ledger, open_ledger
from vericarbon.screening.ledger.records import Submission, submission_of
from vericarbon.service.store import Backoff, Identity, Job, Store, Unavailable

WORKBOOK = ".xlsx"
PROFILE = "intake"


class IntakeChecker:
    """How the service decides, so that the same file gives the same answer on the command line: as `verify
    --profile intake` where the package's kind has intake rules (on the full rulesets the service answered
    with checks awaiting an auditor, which intake leaves out), else as plain `verify`. The status names the
    profile that decided."""

    def __init__(self, store: SchemaStore) -> None:
        self.store = store
        self.intake = Checker(store, [], [], PROFILE)
        self.full = Checker(store, [], [], None)

    def check(self, package: Package) -> dict:
        try:
            return self.intake.check(package)
        except OutOfScope:  # no intake rule for this kind: every rule, and the decision from them
            return intake_decision(self.full.check(package))
LOG = logging.getLogger("vericarbon.service")


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


def check(job: Job, checker: IntakeChecker, ledger: Ledger, store: Store) -> tuple[str | None, dict, str | None, str | None]:
    """(verdict, summary, canonical JSON result, error) of one submission. Its ledger findings are kept in
    two views (tenant_view): the submitter's (`ledger_conflicts`, also in the result) and its registry's
    (`registry_ledger_conflicts`); `store` tells who submitted the other submissions a finding names."""
    try:
        package = read_submission(job.name, job.body, checker.store)
        submission, refused = scoped(submission_of(package, package.data.get("id") or job.id, f"submission {job.id}", {}), job.registry)
        result = checker.check(package)
    except InputError as error:
        return None, {}, None, error.render()
    conflicts = refused + ledger.record_many([submission])[0]
    decision = result["decision"]["outcome"]
    if conflicts and decision == "accept":
        decision = "return_to_proponent"  # credits counted twice across submissions are returned even when every rule passed
    owners = store.owners({other_submission(c) for c in conflicts} - {None})  # type: ignore[arg-type]
    submitter = Identity(job.registry, job.proponent)
    mine = tenant_view(conflicts, submitter, owners)
    summary = {"profile": result.get("profile"), "counts": result["summary"]["by_status"], "statement": result["summary"]["statement"], "decision": decision,
               "to_fix": [{"number": number, "rule": item["rule"], "title": item["title"], "status": item["status"], "fix": item["fix"],
                           "where": [place["pointer"] for place in item["where"]]} for number, item in enumerate(result["decision"]["to_fix"], 1)],
               "ledger_conflicts": mine, "registry_ledger_conflicts": tenant_view(conflicts, Identity(job.registry, None), owners)}
    if "engine_errors" in result["summary"]:  # checks that could not run: the status says the result is incomplete, and why
        summary["engine_errors"] = result["summary"]["engine_errors"]
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


class JobTimeout(BaseException):
    """A job ran over its time limit (raised by SIGALRM in the worker's main thread). A BaseException, so
    that no `except Exception` inside the checking swallows it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise JobTimeout


def timed_check(job: Job, checker: IntakeChecker, ledger: Any, store: Store, job_seconds: float, faults: tuple[type[Exception], ...] = ()) -> tuple[str | None, dict, str | None, str | None]:
    """`check` within `job_seconds` (0: no limit): a job over it, or one that crashes, is failed with
    the reason, never left to loop or lost. A database fault (`faults`, in the ledger) is no fault of the
    submission: it is raised as Unavailable, and the job taken up again once the database is back."""
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, job_seconds)
    try:
        return check(job, checker, ledger, store)
    except JobTimeout:
        return None, {}, None, f"checking ran over its time limit of {job_seconds:g} s"
    except faults as fault:
        raise Unavailable(" ".join(str(fault).split())) from fault
    except Exception as crash:  # a bug of ours inside one submission: its result, never the worker's end
        return None, {}, None, f"internal error ({type(crash).__name__}: {crash})"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def run(location: str, lease_seconds: float = 60.0, job_seconds: float | None = None, idle_seconds: float = 0.05,
        stop_after: float | None = None, parent: int | None = None) -> None:
    """Work until stopped: SIGTERM or SIGINT end it after the current job, and so does the end of
    `parent` (the supervising `serve`) when given. A database fault is waited out with backoff; the
    worker never exits for one. A job is failed after `job_seconds` (default half the lease; 0: no limit).
    `stop_after` seconds for tests."""
    job_seconds = lease_seconds / 2 if job_seconds is None else job_seconds
    if job_seconds and job_seconds >= lease_seconds:
        raise InputError("--job-timeout", f"must be shorter than the lease ({lease_seconds:g} s), or another worker takes the job over while it runs")
    name = f"{os.uname().nodename}:{os.getpid()}"
    store = Store(location)
    checker = IntakeChecker(SchemaStore())
    stopping = []
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stopping.append(True))
    deadline = None if stop_after is None else time.monotonic() + stop_after
    backoff = Backoff()
    ledger: contextlib.ExitStack | None = None
    while not stopping and (deadline is None or time.monotonic() < deadline) and (parent is None or os.getppid() == parent):
        try:
            if ledger is None:  # (re)opened after a fault: the ledger's connection does not survive one
                book = _open_ledger(ledger := contextlib.ExitStack(), location)
            job = store.take(name, lease_seconds)
            if job is None:
                time.sleep(idle_seconds)
            else:
                _record(store, job, name, timed_check(job, checker, book, store, job_seconds, store.faults), time.monotonic() + lease_seconds)
            backoff.reset()
        except (Unavailable, *store.faults) as fault:
            LOG.warning("worker %s: the database is unavailable (%s); trying again in %.1f s", name, " ".join(str(fault).split()), backoff.pause)
            if ledger is not None:
                with contextlib.suppress(Exception):
                    ledger.close()
                ledger = None
            backoff.wait()
    if ledger is not None:
        ledger.close()
    store.close()


def _open_ledger(stack: contextlib.ExitStack, location: str) -> Any:
    try:
        return stack.enter_context(open_ledger(location))
    except InputError as error:  # the ledger says "cannot be used" for a server that is down
        raise Unavailable(error.render()) from error


def _record(store: Store, job: Job, name: str, outcome: tuple, until: float) -> None:
    """Record a job's outcome, waiting out a database fault while the lease lasts (finish is safe to repeat:
    it records only under the lease, once); after that the job is taken up again by whoever holds it next."""
    backoff = Backoff()
    while True:
        try:
            store.finish(job, name, *outcome)
            return
        except Unavailable:
            if time.monotonic() + backoff.pause >= until:
                raise
            backoff.wait()
