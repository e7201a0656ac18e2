"""The service's OpenAPI 3.1 description: served at /openapi.json and checked into docs/openapi.json
(`vericarbon serve --openapi` writes it; a test keeps the copy current)."""

from __future__ import annotations

from typing import Any

from vericarbon.version import __version__


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
_UNKNOWN = {"401": _error("No or an unknown API key"), "404": _error("No such submission for this key (another tenant's or proponent's is not shown)")}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "vericarbon intake service", "version": __version__,
                 "description": "Submit GHG evidence packages; workers check them against the built-in rulesets, record their serial ranges in the credit ledger and "
                                "post signed webhooks on each decision. Authenticate with Authorization: Bearer KEY (keys: vericarbon keys create)."},
        "components": {
            "securitySchemes": {"key": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}, "problems": {"type": "array", "items": {"type": "object"}}}},
                "Submitted": {"type": "object", "required": ["id", "status"], "properties": {"id": {"type": "string"}, "status": {"const": "queued"}, "links": {"type": "object"}}},
                "Status": {"type": "object", "required": ["id", "status"], "properties": {
                    "id": {"type": "string"}, "status": {"enum": ["queued", "checking", "done", "failed"]}, "received": {"type": "string", "format": "date-time"}, "decided": {"type": ["string", "null"], "format": "date-time"},
                    "package_id": {"type": ["string", "null"]}, "kind": {"type": ["string", "null"]}, "verdict": {"type": ["string", "null"]}, "attempts": {"type": "integer"},
                    "counts": {"type": ["object", "null"]}, "decision": {"enum": ["accept", "return_to_proponent", None]}, "statement": {"type": ["string", "null"]},
                    "to_fix": {"type": "array", "description": "what the proponent must fix, numbered from 1", "items": {"type": "object", "required": ["number", "rule", "fix"], "properties": {
                        "number": {"type": "integer"}, "rule": {"type": "string"}, "title": {"type": "string"}, "status": {"enum": ["fail", "not_evaluated"]}, "fix": {"type": "string"},
                        "where": {"type": "array", "items": {"type": "string"}}}}},
                    "ledger_conflicts": {"type": "array", "items": {"type": "object"}}, "error": {"type": ["string", "null"]}}},
                "Webhook": {"type": "object", "required": ["id", "url", "secret"], "properties": {"id": {"type": "string"}, "url": {"type": "string"}, "secret": {"type": "string"}}},
            },
        },
        "security": [{"key": []}],
        "paths": {
            "/v1/submissions": {"post": {
                "summary": "Submit a package (JSON, YAML or a filled .xlsx workbook); read and validated at once, checked by a worker",
                "parameters": [{"name": "name", "in": "query", "schema": {"type": "string"}, "description": "a file name for messages and reports"}],
                "requestBody": {"required": True, "content": {kind: {"schema": {}} for kind in ("application/json", "application/yaml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}},
                "responses": {"202": _json("Queued", {"$ref": "#/components/schemas/Submitted"}), "401": _UNKNOWN["401"], "413": _error("Body over the size limit"),
                              "415": _error("Not JSON, YAML or xlsx"), "422": _error("Not a valid package: the CLI's message, naming each location")}}},
            "/v1/submissions/{id}": {"get": {"summary": "A submission's status, verdict, counts, intake decision and ledger conflicts", "parameters": _ID,
                                             "responses": {"200": _json("The submission", {"$ref": "#/components/schemas/Status"}), **_UNKNOWN}}},
            "/v1/submissions/{id}/result": {"get": {"summary": "The canonical JSON result (schemas/result.schema.json)", "parameters": _ID,
                                                    "responses": {"200": _json("The result", {"type": "object"}), **_UNKNOWN, "409": _error("Not checked yet, or failed")}}},
            "/v1/submissions/{id}/report": {"get": {"summary": "The verification report, HTML (default) or PDF (?format=pdf or Accept: application/pdf; needs the pdf extra)", "parameters": _ID + [
                {"name": "format", "in": "query", "schema": {"enum": ["html", "pdf"]}}],
                "responses": {"200": {"description": "The report", "content": {"text/html": {}, "application/pdf": {}}}, **_UNKNOWN, "406": _error("PDF without the pdf extra"), "409": _error("Not checked yet")}}},
            "/v1/ledger/conflicts": {"get": {"summary": "Serial ranges issued or retired twice across the registry's submissions (registry key)",
                                             "responses": {"200": _json("Conflicts", {"type": "object"}), "401": _UNKNOWN["401"], "403": _error("A proponent's key")}}},
            "/v1/webhooks": {"post": {"summary": "Register a URL for decisions; each delivery is signed: X-Vericarbon-Signature: sha256=HMAC-SHA256(secret, body), retried with backoff (registry key)",
                                      "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "required": ["url"], "properties": {"url": {"type": "string"}}}}}},
                                      "responses": {"201": _json("Registered; the secret is shown once", {"$ref": "#/components/schemas/Webhook"}), "401": _UNKNOWN["401"], "403": _error("A proponent's key"), "422": _error("No URL")}}},
            "/v1/audit": {"get": {"summary": "The registry's append-only audit log, newest first (registry key)",
                                  "responses": {"200": _json("Entries", {"type": "object"}), "401": _UNKNOWN["401"], "403": _error("A proponent's key")}}},
            "/v1/rulesets": {"get": {"summary": "The built-in rulesets", "responses": {"200": _json("Rulesets", {"type": "object"}), "401": _UNKNOWN["401"]}}},
            "/healthz": {"get": {"summary": "Liveness: the process answers", "security": [], "responses": {"200": _json("Alive", {"type": "object"})}}},
            "/readyz": {"get": {"summary": "Readiness: the database is reachable, every worker and the delivery process run; the oldest queued job's age",
                                "security": [], "responses": {"200": _json("Ready", {"type": "object"}), "503": _json("Not ready, and why", {"type": "object"})}}},
            "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": _json("OpenAPI 3.1", {"type": "object"})}}},
        },
    }
