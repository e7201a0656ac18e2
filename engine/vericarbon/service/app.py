"""The HTTP API (Starlette): submissions in, status, results and reports out, per tenant.

Every request but /healthz and /openapi.json carries `Authorization: Bearer KEY`; a registry's key sees all
of its registry's submissions, a proponent's key only its own (another's is 404, as if it did not exist).
A submission is read and validated when it arrives, in a thread, with the CLI's limits and messages, so a
malformed or hostile body gets its 4xx at once and a valid one is queued for the workers. Every request
and its outcome goes to the append-only audit log. The routes and their shapes are in openapi.py.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Awaitable, Callable

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
from vericarbon.resources import builtin_rulesets
from vericarbon.rules.rulesets import load_ruleset
from vericarbon.service.openapi import document as openapi_document
from vericarbon.service.store import Identity, Store, registry_conflicts
from vericarbon.service.worker import WORKBOOK, read_submission

DEFAULT_MAX_BODY = 64 * 1024 * 1024  # as `screen --max-package-mb`
_SUFFIX = {"application/json": ".json", "application/yaml": ".yaml", "application/x-yaml": ".yaml", "text/yaml": ".yaml",
           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": WORKBOOK}


def create_app(location: str, max_body: int = DEFAULT_MAX_BODY) -> Starlette:
    """The service on the database at `location` (a SQLite file or a postgresql:// URL)."""
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
                return problem(401, "an API key is needed: Authorization: Bearer KEY")
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
        async for chunk in request.stream():  # counted as it arrives: a body that lies about its length stops here too
            body += chunk
            if len(body) > max_body:
                return problem(413, f"the body is over {max_body} bytes; at most {max_body} are read")
        name = Path(request.query_params.get("name", "submission")).name + _SUFFIX[kind]
        try:
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
        return JSONResponse({**found, "counts": summary.get("counts"), "decision": summary.get("decision"), "statement": summary.get("statement"),
                             "ledger_conflicts": registry_conflicts(summary) if who.proponent is None else summary.get("ledger_conflicts", [])})

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
            assert isinstance(url, str) and url.startswith(("http://", "https://"))
        except (ValueError, KeyError, TypeError, AssertionError):
            return problem(422, 'a webhook is {"url": "https://…"}')
        hook, secret = await run_in_threadpool(store.add_webhook, who, url)
        return JSONResponse({"id": hook, "url": url, "secret": secret, "signature": "X-Vericarbon-Signature: sha256=HMAC-SHA256(secret, body) in hex"}, status_code=201)

    async def audit(request: Request, who: Identity) -> Response:
        if who.proponent is not None:
            return problem(403, "the audit log is for the registry's own key")
        return JSONResponse({"entries": await run_in_threadpool(store.audit_log, who)})

    async def rulesets(request: Request, who: Identity) -> Response:
        return JSONResponse({"rulesets": await run_in_threadpool(_rulesets)})

    async def health(request: Request) -> Response:
        try:
            await run_in_threadpool(store.read_one, "SELECT 1")
        except Exception as error:  # noqa: BLE001 (any database failure is "not ready")
            return problem(503, f"the database cannot be reached ({type(error).__name__})")
        return JSONResponse({"ok": True, "version": __version__, "database": store.dialect})

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    class Audited(BaseHTTPMiddleware):
        """Every request, with who made it and how it ended, into the audit log."""

        async def dispatch(self, request: Request, call_next: Callable) -> Response:
            failure = None
            try:
                response = await call_next(request)
            except Exception as error:  # never a traceback to the client (the CLI's rule); the audit log keeps what happened
                failure = f"{type(error).__name__}: {error}"[:2000]
                response = problem(500, f"internal error ({type(error).__name__}); it is in the audit log")
            if request.url.path not in ("/healthz", "/openapi.json"):
                who = getattr(request.state, "who", None)
                await run_in_threadpool(store.audit, who, "request", f"{request.method} {request.url.path}", str(response.status_code) + (f" {failure}" if failure else ""))
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
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Audited)])
    app.state.store = store
    return app


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

