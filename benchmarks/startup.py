"""Start-up: what a user waits for when they run one command on one package. Each command runs as a fresh
process, the commands interleaved round by round (the machines are shared and noisy), and the best and
the spread of the rounds are printed with the ratio to the hand-written script on the same package.

    python benchmarks/startup.py [--rounds 15] [--baseline OTHER/bin/vericarbon]

With --baseline, each `verify` row is run a second time with another install's `vericarbon` (say, the
release before a change, installed into its own venv), interleaved in the same rounds, and the ratio of
the two is printed: an A/B in one run. CPU time (user + system of the child) is printed beside wall time,
as it is the steadier figure on a shared machine.

The rows: a bare `python -c pass`; the hand-written screening script (benchmarks/handwritten.py) on the
small sample; `vericarbon verify` on it as the README runs it (summary and HTML report), with
`--format json`, and on evidence_samples/verification-organisation.json (targets: under 150 ms and under
300 ms). The parse cache is warm, as at every start after the first; run from an installed vericarbon
(`pip install .`), since an editable install adds its import hook to every start.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "evidence_samples" / "inventory-conforming.json"
ORGANISATION = ROOT / "evidence_samples" / "verification-organisation.json"


def verify_rows(vericarbon: str, work: Path, label: str = "") -> dict[str, list[str]]:
    return {
        f"verify small package (summary + HTML){label}": [vericarbon, "verify", str(SMALL), "-o", str(work / "small.html")],
        f"verify small package --format json{label}": [vericarbon, "verify", str(SMALL), "--format", "json", "-o", str(work / "small.json")],
        f"verify verification-organisation.json{label}": [vericarbon, "verify", str(ORGANISATION), "-o", str(work / "organisation.html")],
    }


def commands(work: Path, baseline: str | None) -> dict[str, list[str]]:
    vericarbon = shutil.which("vericarbon") or str(Path(sys.executable).with_name("vericarbon"))
    line = work / "small.jsonl"
    line.write_text(json.dumps(json.loads(SMALL.read_text())) + "\n")
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "hand-written script, small package": [sys.executable, str(ROOT / "benchmarks" / "handwritten.py"), str(line), str(work / "hand.jsonl")],
        **verify_rows(vericarbon, work),
        **(verify_rows(baseline, work, BASELINE) if baseline else {}),
    }


BASELINE = " [baseline]"


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds; each figure is the best of them (default 15: a round is ~1 s, and a shared machine often slows one by half)")
    parser.add_argument("--baseline", metavar="VERICARBON", help="another install's vericarbon executable, run beside this one in the same rounds")
    options = parser.parse_args()
    rounds = options.rounds
    with tempfile.TemporaryDirectory() as folder:
        runs = commands(Path(folder), options.baseline)
        times: dict[str, list[float]] = {name: [] for name in runs}
        cpu: dict[str, list[float]] = {name: [] for name in runs}
        for command in runs.values():  # warm the parse cache and the page cache
            subprocess.run(command, capture_output=True)
        for _ in range(rounds):
            for name, command in runs.items():
                start, start_cpu = time.perf_counter(), _child_cpu()
                done = subprocess.run(command, capture_output=True)
                times[name].append(time.perf_counter() - start)
                cpu[name].append(_child_cpu() - start_cpu)
                if done.returncode not in (0, 1):
                    raise SystemExit(f"{name} failed: {done.stderr.decode()[-500:]}")
    script = min(times["hand-written script, small package"])
    print(f"best of {rounds} interleaved rounds (spread: worst/best; cpu: user + system of the process)")
    for name, measured in times.items():
        best = min(measured)
        versus = f"  ×{best / min(times[name + BASELINE]):4.2f} the baseline" if name + BASELINE in times else ""
        print(f"  {name:54} {best * 1000:6.0f} ms  cpu {min(cpu[name]) * 1000:5.0f} ms  spread {max(measured) / best:4.2f}  ×{best / script:4.2f} the hand-written script{versus}")


if __name__ == "__main__":
    main()
