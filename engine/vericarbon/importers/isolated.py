"""A workbook read in a child process with resource limits, for untrusted uploads (the service).

xlsx_limits bounds what is known to blow up python-calamine before it runs; this is for what is not known
yet. A Rust allocation that fails aborts its process, and in the service that process is the API: here it
is a child with an address-space and a CPU-time limit, so an abort, a memory blow-up or a hang costs that
request alone and is answered as a refusal naming the limit.

    python -m vericarbon.importers.isolated NAME.xlsx < BODY   (what the parent runs: its problems as JSON)
"""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from vericarbon.errors import InputError

CHILD_MEMORY_BYTES = 2 << 30  # address space: the interpreter and its imports take ~0.5 GiB of it
CHILD_CPU_SECONDS = 30
CHILD_WALL_SECONDS = 60  # blocked rather than computing (the CPU limit does not see that)
_OUT_OF_MEMORY = 3  # the child's exit code for a MemoryError (a Rust abort is SIGABRT instead)


def check_workbook_isolated(name: str, body: bytes) -> None:
    """Read the workbook `body` (an upload called `name`) into a package in a limited child process; an
    InputError for the workbook's own problems and for a child that a limit stopped, else nothing: a
    workbook that passes reads the same in process."""
    try:
        child = subprocess.run([sys.executable, "-m", __name__, name], input=body, capture_output=True, timeout=CHILD_WALL_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise InputError(name, f"reading it as a workbook took over {CHILD_WALL_SECONDS} s; refused") from None
    if child.returncode == 0:
        answer = json.loads(child.stdout)
        if answer:
            raise InputError(answer["file"], [(where, what) for where, what in answer["problems"]])
        return
    if child.returncode > 0 and child.returncode != _OUT_OF_MEMORY:  # a bug in the reader, not the workbook's fault
        raise RuntimeError(f"the workbook reader failed (exit {child.returncode}): {child.stderr.decode(errors='replace')[-800:]}")
    cause = signal.Signals(-child.returncode).name if child.returncode < 0 else "out of memory"
    raise InputError(name, f"reading it as a workbook was stopped ({cause}): it needs more than the {CHILD_MEMORY_BYTES >> 30} GiB of memory "
                           f"or {CHILD_CPU_SECONDS} s of CPU an upload may use")


def _child(name: str) -> int:
    """Read the workbook on stdin; write {} or its problems ({"file", "problems"}) as JSON."""
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CPU, (CHILD_CPU_SECONDS, CHILD_CPU_SECONDS))
    from vericarbon.evidence.package import SchemaStore
    from vericarbon.importers.workbooks import read_workbook

    try:
        with tempfile.TemporaryDirectory(prefix="vericarbon-upload-") as folder:
            path = Path(folder) / Path(name).name
            path.write_bytes(sys.stdin.buffer.read())
            try:
                read_workbook(path, SchemaStore())
                answer = {}
            except InputError as error:  # named as the upload, not as the temporary file
                answer = {"file": error.file.replace(str(path), name), "problems": error.problems}
    except MemoryError:
        return _OUT_OF_MEMORY
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1]))
