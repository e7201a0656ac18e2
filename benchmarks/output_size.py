"""Output size against input size, for the two cases that grew faster than their input (issue 30, item 4):

1. `verify --format json` of a ghg-inventory whose N batches all overlap (CR-NO-OVERLAP: every batch
   fails, each against every other): bytes of result per byte of package, for growing N;
2. `screen` of the Rosehill statements (78 rows) copied K times under new ids (each copy's figures equal the
   others': PLAUS-IDENTICAL-FIGURES groups that grow with K): bytes of JSON lines per byte of input.

    python benchmarks/output_size.py [--batches 100,400,1502] [--copies 1,2,4]

Proportional output is a flat "out/in" column. Run it on main and on this branch to compare."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from test_screen import inventory  # noqa: E402

VERICARBON = [sys.executable, "-m", "vericarbon"]
ROSEHILL = HERE.parent / "tests" / "data" / "statements" / "rosehill-company_data.csv"


def _run(*args: object) -> None:
    done = subprocess.run([*VERICARBON, *map(str, args)], capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"vericarbon {' '.join(map(str, args))}: exit {done.returncode}\n{done.stderr}")


def overlapping_inventories(folder: Path, counts: list[int]) -> None:
    print(f"{'batches':>8} {'package B':>11} {'result B':>12} {'out/in':>7}")
    for n in counts:
        package, result = folder / f"inventory-{n}.json", folder / f"result-{n}.json"
        package.write_text(json.dumps(inventory(f"OVERLAP-{n}", [(1, 1000)] * n)))
        _run("verify", package, "--format", "json", "-o", result)
        size_in, size_out = package.stat().st_size, result.stat().st_size
        print(f"{n:>8} {size_in:>11,} {size_out:>12,} {size_out / size_in:>7.1f}")


def copied_statements(folder: Path, copies: list[int]) -> None:
    statements = folder / "rosehill.jsonl"
    _run("import", "statements", "--from", "rosehill", ROSEHILL, "-o", statements)
    rows = [json.loads(line) for line in statements.read_text().splitlines()]
    print(f"{'copies':>8} {'packages':>9} {'input B':>11} {'output B':>12} {'out/in':>7}")
    for k in copies:
        source = folder / f"rosehill-{k}.jsonl"
        with source.open("w") as out:
            for copy in range(k):
                for row in rows:
                    out.write(json.dumps({**row, "id": f"{row['id']}#{copy}" if copy else row["id"]}) + "\n")
        lines = folder / f"lines-{k}.jsonl"
        _run("screen", source, "--jobs", "1", "-o", lines)
        size_in, size_out = source.stat().st_size, lines.stat().st_size
        print(f"{k:>8} {k * len(rows):>9} {size_in:>11,} {size_out:>12,} {size_out / size_in:>7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="100,400,1502")
    parser.add_argument("--copies", default="1,2,4")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        overlapping_inventories(Path(folder), [int(n) for n in args.batches.split(",")])
        copied_statements(Path(folder), [int(k) for k in args.copies.split(",")])


if __name__ == "__main__":
    main()
