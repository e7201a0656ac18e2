"""Registry import at scale: an ACR-style retirements export of N rows (generated, streamed to disk) through
`vericarbon import registry --from acr` as a fresh process; rows per second, wall time and peak memory,
for two sizes side by side, so a flat memory and a linear time show as ratios.

    python benchmarks/import_registry.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import csv
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = ["fiid", "Credit Serial Numbers", "Date Issued (GMT)", "Vintage", "Quantity of Credits", "Status Effective (GMT)", "Retired on Behalf of",
          "Retirement Reason", "Purpose of Retirement", "Project ID", "Project Name", "Project Type", "Project Methodology/Protocol", "Project Site Country",
          "CORSIA Eligible"]


def write_export(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(HEADER)
        for n in range(rows):
            project, first = 100 + n % 900, (n // 900) * 100 + 1
            writer.writerow([project, f"ACR-US-{project}-2024-{n % 97}-{first} to {first + 99}", "6/30/2025 7:43:26 PM", 2024, 100, "4/13/2026 7:17:56 PM",
                             f"Buyer {n % 5000} Inc.", "Environmental Benefit", f"Retirement for 2025 emissions #{n}", f"ACR{project}", f"Project {project}",
                             "Forest Carbon", "Improved Forest Management", "US", "No"])


def run(export: Path, out: Path) -> tuple[float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "vericarbon", "import", "registry", "--from", "acr", str(export), "-o", str(out)], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}): {done.stderr[-500:]}")
    return seconds, max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    sizes = (args.rows // 10, args.rows)
    print(f"{'rows':>10}{'seconds':>9}{'rows/s':>10}{'peak MiB':>10}")
    figures = []
    with tempfile.TemporaryDirectory() as folder:
        for rows in sizes:
            export = Path(folder) / f"acr-{rows}.csv"
            write_export(export, rows)
            seconds, peak_kib = run(export, Path(folder) / f"out-{rows}.jsonl")
            lines = sum(1 for _ in (Path(folder) / f"out-{rows}.jsonl").open("rb"))
            assert lines == rows, f"{lines} records for {rows} rows"
            figures.append((seconds, peak_kib))
            print(f"{rows:>10,}{seconds:>9.1f}{rows / seconds:>10,.0f}{peak_kib / 1024:>10.0f}")
    (small_s, small_m), (large_s, large_m) = figures
    print(f"10x the rows: {large_s / small_s:.1f}x the time, {large_m / small_m:.2f}x the peak memory (peak of any child so far)")


if __name__ == "__main__":
    main()
