"""The HTTP API (Starlette): submissions in, status, results and reports out, per tenant.

Every request but /healthz, /readyz and /openapi.json carries `Authorization: Bearer KEY`; a registry's key sees all
of its registry's submissions, a proponent's key only its own (another's is 404, as if it did not exist).
A submission is read and validated when it arrives, in a thread, with the CLI's limits and messages, so a
malformed or hostile body gets its 4xx at once and a valid one is queued for the workers. Every request
and its outcome goes to the append-only audit log. The routes and their shapes are in openapi.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from vericarbon.version import __version__
from vericarbon.errors import InputError
from vericarbon.evidence.package import SchemaStore
from vericarbon.importers.isolated import check_workbook_isolated
from vericarbon.resources import builtin_rulesets
from vericarbon.rules.rulesets import load_ruleset
from vericarbon.service.openapi import document as openapi_document
from vericarbon.service.store import Identity, Store, Unavailable, registry_conflicts, shown_location
from vericarbon.service.webhooks import Policy, RefusedTarget, check_target
from vericarbon.service.worker import WORKBOOK, read_submission


class Children(Protocol):
    """What /readyz asks of the process that supervises the service's children (supervisor.Supervisor,
    which starts this app: the app knows it only by this much)."""

    def alive(self) -> dict[str, int]: ...

    def expected(self) -> dict[str, int]: ...


LOG = logging.getLogger("vericarbon.service")
DEFAULT_MAX_BODY = 64 * 1024 * 1024  # as `screen --max-package-mb`
BODY_SECONDS = 120  # a body that takes longer to arrive is refused (408): a slow sender cannot hold a connection
FAULT_SECONDS = 10.0
AUDIT_FIELD = 200  # characters of a path or header kept in the audit log
_SUFFIX = {"application/json": ".json", "application/yaml": ".yaml", "application/x-yaml": ".yaml", "text/yaml": ".yaml",
           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": WORKBOOK}


def create_app(location: str, max_body: int = DEFAULT_MAX_BODY, webhook_policy: Policy = Policy(), supervisor: Children | None = None) -> Starlette:
    """The service on the database at `location` (a SQLite file or a postgresql:// URL); webhooks are
    vetted under `webhook_policy` (webhooks.py); /readyz counts the `supervisor`'s children (none: the API
    alone, its workers elsewhere)."""
    store = Store(location)
    schemas = SchemaStore()

    def problem(code: int, message: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"error": message, **extra}, status_code=code)

    async def caller(request: Request) -> Identity | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return None
        return await run_in_threadpool(store.identity, header[7:].strip())

    def authenticated(handler: Callable[[Request, Identity], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            who = await caller(request)
            if who is None:
                sent = request.headers.get("authorization", "").lower().startswith("bearer ")
                return problem(401, f"this API key is not known to the service's database ({shown_location(store.location)})" if sent else "an API key is needed: Authorization: Bearer KEY")
            request.state.who = who
            return await handler(request, who)

        return endpoint

    async def submit(request: Request, who: Identity) -> Response:
        kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if kind not in _SUFFIX:
            return problem(415, f"a submission is JSON, YAML or a filled workbook (.xlsx), not {kind!r}", accepted=sorted(_SUFFIX))
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_body:
            return problem(413, f"the body is {int(declared)} bytes; at most {max_body} are read")
        body = bytearray()
        try:
            async with asyncio.timeout(BODY_SECONDS):
                async for chunk in request.stream():  # counted as it arrives: a body that lies about its length stops here too
                    body += chunk
                    if len(body) > max_body:
                        return problem(413, f"the body is over {max_body} bytes; at most {max_body} are read")
        except TimeoutError:
            return problem(408, f"the body did not arrive within {BODY_SECONDS} s")
        name = Path(request.query_params.get("name", "submission")).name + _SUFFIX[kind]
        try:
            if _SUFFIX[kind] == WORKBOOK:  # first in a limited child: a workbook that aborts its reader must not end the API with it
                await run_in_threadpool(check_workbook_isolated, name, bytes(body))
            package = await run_in_threadpool(read_submission, name, bytes(body), schemas)
        except InputError as error:
            await run_in_threadpool(store.audit, who, "refused", None, error.render()[:2000])
            return problem(422, error.render(), problems=[{"location": where, "message": what} for where, what in error.problems])
        submission = await run_in_threadpool(store.submit, who, name, bytes(body), package.data.get("id"), package.kind)
        return JSONResponse({"id": submission, "status": "queued", "links": {"self": f"/v1/submissions/{submission}", "result": f"/v1/submissions/{submission}/result",
                                                                              "report": f"/v1/submissions/{submission}/report"}}, status_code=202)

    async def status(request: Request, who: Identity) -> Response:
        found = await run_in_threadpool(store.submission, who, request.path_params["id"])
        if found is None:
            return problem(404, "no such submission")
        summary = json.loads(found.pop("summary") or "{}")
        to_fix = summary.get("to_fix")
        return JSONResponse({**found, "received": _iso(found["received"]), "decided": _iso(found["decided"]), "profile": summary.get("profile"),
                             "counts": summary.get("counts"), "decision": summary.get("decision"), "statement": summary.get("statement"),
                             "to_fix": to_fix if isinstance(to_fix, list) else [],  # a count, not the items, in rows decided before they were kept
                             "ledger_conflicts": registry_conflicts(summary) if who.proponent is None else summary.get("ledger_conflicts", []),
                             "engine_errors": summary.get("engine_errors", [])})

    async def result(request: Request, who: Identity) -> Response:
        found = await run_in_threadpool(store.submission, who, request.path_params["id"], "status, result, error")
        if found is None:
            return problem(404, "no such submission")
        if found["status"] != "done":
            return problem(409, f"the submission is {found['status']}" + (f": {found['error']}" if found["error"] else ""), status=found["status"])
        return Response(found["result"], media_type="application/json")

    async def report(request: Request, who: Identity) -> Response:
        found = await run_in_threadpool(store.submission, who, request.path_params["id"], "status, result, error")
        if found is None:
            return problem(404, "no such submission")
        if found["status"] != "done":
            return problem(409, f"the submission is {found['status']}", status=found["status"])
        wanted = request.query_params.get("format") or ("pdf" if "application/pdf" in request.headers.get("accept", "") else "html")
        if wanted not in ("html", "pdf"):
            return problem(400, f"a report is html or pdf, not {wanted!r}")
        from vericarbon.render import renderer

        try:
            rendered = await run_in_threadpool(renderer(wanted), json.loads(found["result"]))
        except InputError as error:  # PDF without the pdf extra
            return problem(406, error.render())
        return Response(rendered, media_type="application/pdf" if wanted == "pdf" else "text/html; charset=utf-8")

    async def conflicts(request: Request, who: Identity) -> Response:
        if who.proponent is not None:
            return problem(403, "the ledger's conflicts are for the registry's own key")
        return JSONResponse({"conflicts": await run_in_threadpool(store.conflicts, who)})

    async def webhooks(request: Request, who: Identity) -> Response:
        if who.proponent is not None:
            return problem(403, "webhooks are registered with the registry's own key")
        try:
            url = (await request.json())["url"]
        except (ValueError, KeyError, TypeError):
            return problem(422, 'a webhook is {"url": "https://…"}')
        try:
            await run_in_threadpool(check_target, url, webhook_policy)  # resolves the host: in a thread
        except RefusedTarget as refused:
            await run_in_threadpool(store.audit, who, "webhook refused", None, f"{str(url)[:200]}: {refused}")
            return problem(422, f"this webhook is refused: {refused}")
        hook, secret = await run_in_threadpool(store.add_webhook, who, url)
        return JSONResponse({"id": hook, "url": url, "secret": secret, "signature": "X-Vericarbon-Signature: sha256=HMAC-SHA256(secret, body) in hex"}, status_code=201)

    async def audit(request: Request, who: Identity) -> Response:
        if who.proponent is not None:
            return problem(403, "the audit log is for the registry's own key")
        return JSONResponse({"entries": await run_in_threadpool(store.audit_log, who)})

    async def rulesets(request: Request, who: Identity) -> Response:
        return JSONResponse({"rulesets": await run_in_threadpool(_rulesets)})

    async def health(request: Request) -> Response:
        """Liveness: the process answers (a restart would not mend a database that is down)."""
        return JSONResponse({"ok": True, "version": __version__})

    async def ready(request: Request) -> Response:
        """Readiness: the database answers, every child is running, and how long the oldest queued job has waited."""
        found: dict[str, Any] = {"version": __version__, "database": store.dialect}
        try:
            oldest = (await run_in_threadpool(store.read_one, "SELECT min(received) FROM submissions WHERE status = 'queued'"))[0]
            found["database_reachable"], found["oldest_queued_seconds"] = True, None if oldest is None else round(time.time() - oldest, 3)
        except Unavailable as fault:
            found["database_reachable"], found["database_error"] = False, fault.cause
        if faults and time.monotonic() - faults[-1][0] < FAULT_SECONDS:  # reads may work while writes fail (a full disk)
            found["database_reachable"], found["database_error"] = False, faults[-1][1]
        if supervisor is not None:
            found["processes"] = {role: {"running": supervisor.alive().get(role, 0), "expected": count} for role, count in supervisor.expected().items()}
        found["ok"] = found["database_reachable"] and all(p["running"] == p["expected"] for p in found.get("processes", {}).values())
        return JSONResponse(found, status_code=200 if found["ok"] else 503)

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    anonymous = RateLimit(per_second=5, burst=20)
    faults: list[tuple[float, str]] = []  # the last database fault a request met: /readyz reports it for FAULT_SECONDS

    class Audited(BaseHTTPMiddleware):
        """Every request, with who made it and how it ended, into the audit log."""

        async def dispatch(self, request: Request, call_next: Callable) -> Response:
            failure = None
            try:
                response = await call_next(request)
            except Unavailable as fault:  # down, restarting or full: the client may try again, and is told why
                faults[:] = [(time.monotonic(), fault.cause)]
                failure = fault.cause[:2000]
                response = problem(503, f"the service database is unavailable: {fault.cause}; try again later", retry=True)
                response.headers["Retry-After"] = "5"
            except Exception as error:  # never a traceback to the client (the CLI's rule); the audit log keeps what happened
                failure = f"{type(error).__name__}: {error}"[:2000]
                response = problem(500, f"internal error ({type(error).__name__}); it is in the audit log")
            if request.url.path not in ("/healthz", "/readyz", "/openapi.json"):
                who = getattr(request.state, "who", None)
                outcome = str(response.status_code) + (f" {failure}" if failure else "")
                if who is None:  # anyone can send these: bounded in size and in rate, so they cannot flood the log
                    peer = request.client.host if request.client else "?"
                    if not anonymous.allow(peer):
                        return response
                    outcome += f" from {peer}, user agent {request.headers.get('user-agent', '')[:AUDIT_FIELD]!r}"
                try:
                    await run_in_threadpool(store.audit, who, "request", f"{request.method} {request.url.path[:AUDIT_FIELD]}", outcome[:2000])
                except Unavailable as fault:  # the audit log is in the database that failed: the service's log keeps it
                    LOG.warning("not audited (%s): %s %s %d", fault.cause, request.method, request.url.path, response.status_code)
            return response

    routes = [
        Route("/v1/submissions", authenticated(submit), methods=["POST"]),
        Route("/v1/submissions/{id}", authenticated(status), methods=["GET"]),
        Route("/v1/submissions/{id}/result", authenticated(result), methods=["GET"]),
        Route("/v1/submissions/{id}/report", authenticated(report), methods=["GET"]),
        Route("/v1/ledger/conflicts", authenticated(conflicts), methods=["GET"]),
        Route("/v1/webhooks", authenticated(webhooks), methods=["POST"]),
        Route("/v1/audit", authenticated(audit), methods=["GET"]),
        Route("/v1/rulesets", authenticated(rulesets), methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
        Route("/readyz", ready, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Audited)])
    app.state.store = store
    return app


class RateLimit:
    """A token bucket per client address: `burst` at once, then `per_second`. Past it, unauthenticated
    requests still get their answer but are counted, not each written to the audit log."""

    def __init__(self, per_second: float, burst: int, clients: int = 10_000) -> None:
        self.per_second, self.burst, self.clients = per_second, burst, clients
        self.buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, when counted)
        self.dropped = 0

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        if len(self.buckets) >= self.clients and client not in self.buckets:
            self.buckets.clear()  # bounded memory: forget every address rather than grow without end
        tokens, then = self.buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.per_second)
        if tokens < 1:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                LOG.warning("unauthenticated requests over the audit rate limit: %d not audited so far (latest from %s)", self.dropped, client)
            self.buckets[client] = (tokens, now)
            return False
        self.buckets[client] = (tokens - 1, now)
        return True


def _iso(moment: float | None) -> str | None:
    """A stored Unix time as the API gives every time: ISO 8601 in UTC, to the millisecond."""
    return None if moment is None else dt.datetime.fromtimestamp(moment, dt.timezone.utc).isoformat(timespec="milliseconds")


@functools.cache
def _rulesets() -> list[dict]:
    """The built-in rulesets, as GET /v1/rulesets lists them."""
    store = SchemaStore()
    found = []
    for path in builtin_rulesets():
        ruleset = load_ruleset(path, store, compile_now=False)
        found.append({"id": ruleset.id, "version": ruleset.data["version"], "title": ruleset.data["title"], "applies_to": ruleset.data["applies_to"],
                      "rules": len(ruleset.rules), "manual_checks": len(ruleset.manual_checks), "batch_rules": len(ruleset.data.get("batch_rules", []))})
    return found

