"""Batch rules at scale: the EU ETS verified emissions (one statement per installation-year, converted by
`vericarbon import statements --from eutl`) screened with and without the plausibility ruleset's batch rules,
side by side — packages per second, wall time and peak memory of each run — and the jumps and gaps the batch
rules found checked against an independent computation of the same thresholds in DuckDB over the CSV.

    pip install '.[bench]'
    python benchmarks/series.py [--csv ../shared/data/eutl-verified-emissions/verified_emissions_long.csv] [--jobs 2] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MEASURE = "import resource, subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)"


def screen(packages: Path, out: Path, ledger: Path, jobs: int, rulesets: list[str]) -> tuple[float, int]:
    """Seconds and peak resident KiB of one screening run in a fresh process."""
    ledger.unlink(missing_ok=True)
    options = [item for ruleset in rulesets for item in ("--ruleset", ruleset)]
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURE, sys.executable, "-m", "vericarbon", "screen", str(packages), "--jobs", str(jobs), "--ledger", str(ledger), "-o", str(out), *options],
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    peak, code = done.stdout.split()
    if code not in ("0", "1"):
        raise SystemExit(f"screen exited {code}")
    return seconds, int(peak)


def independent(csv: Path, factor: float) -> tuple[set[str], set[str]]:
    """Jumps (a reported figure at least `factor` times the entity's previous record's, or at most its 1/factor,
    both reported and positive) and the entities with a gap, computed in DuckDB straight from the CSV."""
    import duckdb

    rows = duckdb.sql(f"""
        WITH series AS (
            SELECT account_id, CAST(year AS INTEGER) AS year, TRY_CAST(tonnes_co2 AS DOUBLE) AS t,
                   LAG(CAST(year AS INTEGER)) OVER w AS prev_year, LAG(TRY_CAST(tonnes_co2 AS DOUBLE)) OVER w AS prev_t
            FROM read_csv('{csv}', header = true, all_varchar = true)
            WINDOW w AS (PARTITION BY account_id ORDER BY CAST(year AS INTEGER)))
        SELECT account_id, year, (t > 0 AND prev_t > 0 AND (t >= {factor} * prev_t OR prev_t >= {factor} * t)) AS jump, (year - prev_year > 1) AS gap
        FROM series WHERE prev_year IS NOT NULL""").fetchall()
    jumps = {f"EUTL-{account}-{year}" for account, year, jump, _ in rows if jump}
    gaps = {f"EUTL:{account}" for account, _, _, gap in rows if gap}
    return jumps, gaps


def found(out: Path, rule: str) -> set[str]:
    """The packages the screen's lines say a rule's findings are about."""
    about = set()
    with out.open() as lines:
        for text in lines:
            for finding in json.loads(text).get("cross_package", []):
                if finding["rule"] == rule:
                    about.add(finding["about"])
    return about


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=ROOT.parent / "shared" / "data" / "eutl-verified-emissions" / "verified_emissions_long.csv")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        packages = work / "eutl.jsonl"
        subprocess.run([sys.executable, "-m", "vericarbon", "import", "statements", "--from", "eutl", str(args.csv), "-o", str(packages)], check=True, capture_output=True)
        count = sum(1 for _ in packages.open())
        runs: dict[str, list[tuple[float, int]]] = {"without batch rules": [], "with batch rules": []}
        for _ in range(args.repeat):  # interleaved, so both sides meet the same machine load
            runs["without batch rules"].append(screen(packages, work / "plain.jsonl", work / "plain.sqlite", args.jobs, ["ghg-statements"]))
            runs["with batch rules"].append(screen(packages, work / "batch.jsonl", work / "batch.sqlite", args.jobs, ["ghg-statements", "plausibility"]))
        print(f"{count} installation-years, {args.jobs} worker(s), best of {args.repeat}")
        best = {name: min(results) for name, results in runs.items()}
        for name, (seconds, peak) in best.items():
            print(f"  {name:20}  {seconds:6.1f} s  {count / seconds:8.0f} packages/s  peak {peak / 1024:6.0f} MiB")
        print(f"  ratio with/without:   {best['with batch rules'][0] / best['without batch rules'][0]:.2f} (time), {best['with batch rules'][1] / best['without batch rules'][1]:.2f} (memory)")
        jumps, gaps = independent(args.csv, 10)
        flagged_jumps, flagged_gaps = found(work / "batch.jsonl", "PLAUS-YEAR-ON-YEAR"), {p.rsplit("-", 1)[0].replace("EUTL-", "EUTL:") for p in found(work / "batch.jsonl", "PLAUS-SERIES-GAP")}
        print(f"jumps by a factor of 10: vericarbon {len(flagged_jumps)}, DuckDB {len(jumps)}, equal: {flagged_jumps == jumps}")
        print(f"installations with a gap: vericarbon {len(flagged_gaps)}, DuckDB {len(gaps)}, equal: {flagged_gaps == gaps}")
        if flagged_jumps != jumps or flagged_gaps != gaps:
            print(f"  differ: jumps {sorted(flagged_jumps ^ jumps)[:10]}, gaps {sorted(flagged_gaps ^ gaps)[:10]}")
            raise SystemExit(1)


if __name__ == "__main__":
    main()
