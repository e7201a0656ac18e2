"""The intake service's commands (vericarbon.service): `vericarbon serve`, the HTTP API with its worker
processes; `worker`, one more worker on the same database; `keys`, the API keys; `audit verify`, the audit
log's hash chain."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path

from vericarbon.cli import EXIT_FINDINGS, EXIT_OK
from vericarbon.cli.output import write_out
from vericarbon.errors import InputError
from vericarbon.evidence.package import SchemaStore
from vericarbon.resources import service_database



def _require_extra(command: str) -> None:
    """The service's libraries, installed apart: a missing one is the user's to add, not a bug."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise InputError(command, "the intake service needs its extra: pip install 'vericarbon[serve]'") from None


def serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--database", default=service_database(), metavar="PATH|URL", help="a SQLite file or a postgresql:// URL (default: $VERICARBON_DATABASE, else service.sqlite in the user's data folder: %(default)s)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes started with it (default: one per core; 0: the API alone)")
    serve.add_argument("--max-body-mb", type=float, default=64, metavar="MB", help="largest submission read (default %(default)g)")
    serve.add_argument("--lease", type=float, default=60, metavar="SECONDS", help="how long a worker holds a submission before another may take it over (default %(default)g)")
    serve.add_argument("--job-timeout", type=float, metavar="SECONDS", help="a submission checked longer than this is failed with that reason (default: half the lease; 0: no limit)")
    serve.add_argument("--webhook-allow-http", action="append", default=[], metavar="HOST",
                       help="allow http webhooks, and addresses of this machine or network, for this host exactly as written in the URL (repeatable; default: https to public addresses only)")
    serve.add_argument("--openapi", type=Path, metavar="FILE", help="write the OpenAPI document to FILE and exit")


def serve(args: argparse.Namespace, store: SchemaStore) -> int:
    _require_extra(args.command)
    if args.openapi:
        from vericarbon.service.openapi import document

        return write_out(args.openapi, json.dumps(document(), indent=1, sort_keys=True) + "\n", "--openapi")
    from vericarbon.service.supervisor import serve as supervise
    from vericarbon.service.webhooks import Policy

    supervise(args.database, args.host, args.port, args.workers, args.lease, args.job_timeout, int(args.max_body_mb * 1048576), Policy(frozenset(args.webhook_allow_http)))
    return EXIT_OK


def worker_options(worker: argparse.ArgumentParser) -> None:
    worker.add_argument("--database", default=service_database(), metavar="PATH|URL")
    worker.add_argument("--lease", type=float, default=60, metavar="SECONDS")
    worker.add_argument("--job-timeout", type=float, metavar="SECONDS", help="a submission checked longer than this is failed (default: half the lease; 0: no limit)")


def worker(args: argparse.Namespace, store: SchemaStore) -> int:
    _require_extra(args.command)
    from vericarbon.service import worker as service_worker

    service_worker.run(args.database, lease_seconds=args.lease, job_seconds=args.job_timeout)
    return EXIT_OK


def keys_options(keys: argparse.ArgumentParser) -> None:
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="a new key for a registry, or for one proponent of it; printed once, stored hashed")
    create.add_argument("--database", default=service_database(), metavar="PATH|URL")
    create.add_argument("--registry", required=True)
    create.add_argument("--proponent", help="the proponent's name: the key sees only its own submissions")
    revoke = key_commands.add_parser("revoke", help="remove a key: requests with it are refused from then on")
    revoke.add_argument("--database", default=service_database(), metavar="PATH|URL")
    revoke.add_argument("--key", required=True, help="the key, as printed when it was created")
    listing = key_commands.add_parser("list", help="every key's registry, proponent and creation time (keys themselves are not stored)")
    listing.add_argument("--database", default=service_database(), metavar="PATH|URL")


def keys(args: argparse.Namespace, store: SchemaStore) -> int:
    _require_extra(args.command)
    from vericarbon.service.store import Store

    database = Store(args.database)
    if args.keys_command == "create":
        print(database.create_key(args.registry, args.proponent))
    elif args.keys_command == "revoke":
        owner = database.revoke_key(args.key)
        if owner is None:
            raise InputError("--key", "no such key in this database")
        print(f"revoked the key of {owner.name}")
    else:
        for key in database.keys():
            created = dt.datetime.fromtimestamp(key["created"], dt.timezone.utc).isoformat(timespec="seconds")
            print(f"{key['registry']}\t{key['proponent'] or '(registry key)'}\t{created}\tsha256 {key['hash']}…")
    return EXIT_OK


def audit_options(audit: argparse.ArgumentParser) -> None:
    verify = audit.add_subparsers(dest="audit_command", required=True).add_parser("verify", help="exit 1 if an entry was edited or cut out")
    verify.add_argument("--database", default=service_database(), metavar="PATH|URL")


def audit(args: argparse.Namespace, store: SchemaStore) -> int:
    _require_extra(args.command)
    from vericarbon.service.store import Store

    checked = Store(args.database).verify_audit()
    print("\n".join(checked["problems"]) or f"the audit log's chain is whole: {checked['checked']} entries, head {checked['head']}"
          + (f" ({checked['before_the_chain']} older entries predate the chain)" if checked["before_the_chain"] else ""))
    return EXIT_OK if checked["ok"] else EXIT_FINDINGS
