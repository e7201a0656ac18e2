"""Why the service runs on Starlette: Starlette against FastAPI (built on it) for what `vericarbon serve` does
— start a process, answer a small JSON request, take a request body — measured side by side.

    pip install fastapi httpx   # FastAPI only for this comparison
    python benchmarks/web_framework.py [--seconds 5]

Prints each framework's import time (best of 5 fresh processes) and requests/s of GET /healthz and of a
POST echoing a 10 KB JSON body, served by uvicorn on a loopback port with 8 concurrent clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time

from ports import free_port, wait_for_port

APPS = {
    "starlette": """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def health(request): return JSONResponse({"ok": True})
async def echo(request): return JSONResponse({"size": len(await request.body())})
app = Starlette(routes=[Route("/healthz", health), Route("/echo", echo, methods=["POST"])])
""",
    "fastapi": """
from fastapi import FastAPI, Request
app = FastAPI()
@app.get("/healthz")
async def health(): return {"ok": True}
@app.post("/echo")
async def echo(request: Request): return {"size": len(await request.body())}
""",
}
IMPORTS = {"starlette": "import starlette.applications, starlette.routing, starlette.responses", "fastapi": "import fastapi"}


def import_ms(statement: str) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        best = min(best, time.perf_counter() - start)
    return best * 1000


async def load(port: int, seconds: float, method: str, path: str, body: bytes) -> float:
    import httpx

    done = 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                response = await client.request(method, path, content=body or None, headers={"content-type": "application/json"})
                response.raise_for_status()
                done += 1

        await asyncio.gather(*(worker() for _ in range(8)))
    return done / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5)
    seconds = parser.parse_args().seconds
    body = json.dumps({"lines": ["x" * 100] * 100}).encode()
    for name, source in APPS.items():
        port = free_port()
        server = subprocess.Popen([sys.executable, "-c", source + f"\nimport uvicorn\nuvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')"])
        try:
            wait_for_port(port)
            health = asyncio.run(load(port, seconds, "GET", "/healthz", b""))
            echo = asyncio.run(load(port, seconds, "POST", "/echo", body))
        finally:
            server.terminate()
            server.wait()
        print(f"{name:10} import {import_ms(IMPORTS[name]):5.0f} ms   GET /healthz {health:6.0f} req/s   POST 10 KB {echo:6.0f} req/s")


if __name__ == "__main__":
    main()
