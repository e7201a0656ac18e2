"""Start-up: what a user waits for when they run one command on one package. Each command runs as a fresh
process, the commands interleaved round by round (the machines are shared and noisy), and the best and
the spread of the rounds are printed with the ratio to the hand-written script on the same package.

    python benchmarks/startup.py [--rounds 15]

The rows: a bare `python -c pass`; the hand-written screening script (benchmarks/handwritten.py) on the
small sample; `vericarbon verify` on it as the README runs it (summary and HTML report), with
`--format json`, and on evidence_samples/verification-organisation.json (targets: under 150 ms and under
300 ms). The parse cache is warm, as at every start after the first; run from an installed vericarbon
(`pip install .`), since an editable install adds its import hook to every start.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "evidence_samples" / "inventory-conforming.json"
ORGANISATION = ROOT / "evidence_samples" / "verification-organisation.json"


def commands(work: Path) -> dict[str, list[str]]:
    vericarbon = shutil.which("vericarbon") or str(Path(sys.executable).with_name("vericarbon"))
    line = work / "small.jsonl"
    line.write_text(json.dumps(json.loads(SMALL.read_text())) + "\n")
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "hand-written script, small package": [sys.executable, str(ROOT / "benchmarks" / "handwritten.py"), str(line), str(work / "hand.jsonl")],
        "verify small package (summary + HTML)": [vericarbon, "verify", str(SMALL), "-o", str(work / "small.html")],
        "verify small package --format json": [vericarbon, "verify", str(SMALL), "--format", "json", "-o", str(work / "small.json")],
        "verify verification-organisation.json": [vericarbon, "verify", str(ORGANISATION), "-o", str(work / "organisation.html")],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds; each figure is the best of them (default 15: a round is ~1 s, and a shared machine often slows one by half)")
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as folder:
        runs = commands(Path(folder))
        times: dict[str, list[float]] = {name: [] for name in runs}
        for command in runs.values():  # warm the parse cache and the page cache
            subprocess.run(command, capture_output=True)
        for _ in range(rounds):
            for name, command in runs.items():
                start = time.perf_counter()
                done = subprocess.run(command, capture_output=True)
                times[name].append(time.perf_counter() - start)
                if done.returncode not in (0, 1):
                    raise SystemExit(f"{name} failed: {done.stderr.decode()[-500:]}")
    baseline = min(times["hand-written script, small package"])
    print(f"best of {rounds} interleaved rounds (spread: worst/best)")
    for name, measured in times.items():
        best = min(measured)
        print(f"  {name:42} {best * 1000:6.0f} ms  spread {max(measured) / best:4.2f}  ×{best / baseline:4.2f} the hand-written script")


if __name__ == "__main__":
    main()
