"""The ledger store, picked by measurement: SQLite in WAL mode (engine/vericarbon/screening/ledger/sqlite.py) against DuckDB doing the
same work (record each package's serial ranges and find the ranges of other packages they share credits with,
a chunk of packages per transaction), and whether two processes can share one ledger file.

    pip install '.[bench]'; python benchmarks/ledger.py

Prints ms per package for small (5 ranges) and large (500 ranges) packages, the conflicts each store found
(they must agree), and what a second process gets when it opens a ledger another process is writing."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vericarbon.screening.ledger.records import Claim
from vericarbon.screening.ledger.sqlite import SQLiteLedger

CHUNK = 8  # packages per transaction, as `vericarbon screen` records them


def packages(count: int, ranges: int) -> list[tuple[str, str, list[Claim], str]]:
    """`count` packages of `ranges` retired ranges each; every 20th reuses credits of the package before it."""
    span = ranges * 100
    made = []
    for n in range(count):
        base = n * span - (span // 2 if n % 20 == 0 and n else 0)
        claims = [Claim("ICR", "", "retired", base + k * 100 + 1, base + k * 100 + 90, "Acme Ltd", f"/offsets/batches/{k}") for k in range(ranges)]
        made.append((f"P{n:06d}", f"p{n}.json", claims, f"hash-{n}"))
    return made


class DuckLedger:
    """The same ledger on DuckDB, written the way DuckDB prefers: set-based statements, no row-by-row inserts."""

    def __init__(self, path: Path) -> None:
        import duckdb

        self.db = duckdb.connect(str(path))
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS ranges (registry VARCHAR, block VARCHAR, action VARCHAR, first BIGINT, last BIGINT,"
            " beneficiary VARCHAR, package_id VARCHAR, pointer VARCHAR, source VARCHAR)"
        )

    def record_many(self, batch: list[tuple[str, str, list[Claim], str]]) -> list[list[tuple]]:
        db = self.db
        db.execute("BEGIN TRANSACTION")
        found = []
        for package_id, source, claims, _ in batch:
            db.execute("DELETE FROM ranges WHERE package_id = ?", [package_id])
            values = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?, ?)" for _ in claims)
            params = [v for c in claims for v in (c.registry, c.block, c.action, c.first, c.last, c.beneficiary, package_id, c.pointer, source)]
            found.append(db.execute(
                f"SELECT c.first, r.package_id FROM (VALUES {values}) c(registry, block, action, first, last, beneficiary, package_id, pointer, source)"
                " JOIN ranges r ON r.registry = c.registry AND r.block = c.block AND r.action = c.action"
                " AND r.first <= c.last AND r.last >= c.first AND r.package_id != c.package_id ORDER BY c.first, r.first",
                params,
            ).fetchall())
            db.execute(f"INSERT INTO ranges VALUES {values}", params)
        db.execute("COMMIT")
        return found

    def close(self) -> None:
        self.db.close()


def timed(ledger, made: list[tuple[str, str, list[Claim], str]]) -> tuple[float, int]:
    conflicts = 0
    start = time.perf_counter()
    for k in range(0, len(made), CHUNK):
        conflicts += sum(len(c) for c in ledger.record_many(made[k : k + CHUNK]))
    return (time.perf_counter() - start) / len(made) * 1000, conflicts


def second_process_opens(store: str, path: Path) -> str:
    """Open the ledger from another process while this one holds it open and is writing."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
        "from ledger import DuckLedger, packages\n"
        "from vericarbon.screening.ledger.sqlite import SQLiteLedger\n"
        f"book = {'DuckLedger' if store == 'duckdb' else 'SQLiteLedger'}(Path({str(path)!r}))\n"
        "book.record_many(packages(1, 5))\n"
        "print('wrote')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    if done.returncode == 0:
        return "opened it and wrote a package"
    return "refused: " + done.stderr.strip().splitlines()[-1][:150]


def main() -> None:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        raise SystemExit("this comparison needs DuckDB: pip install '.[bench]'") from None
    print(f"{'packages':<22}{'SQLite ms/pkg':>14}{'DuckDB ms/pkg':>15}  conflicts (SQLite / DuckDB)")
    with tempfile.TemporaryDirectory() as folder:
        for label, count, ranges in (("10 000 × 5 ranges", 10_000, 5), ("200 × 500 ranges", 200, 500)):
            made = packages(count, ranges)
            sqlite_book, duck_book = SQLiteLedger(Path(folder) / f"{count}.sqlite"), DuckLedger(Path(folder) / f"{count}.duckdb")
            (lite_ms, lite_found), (duck_ms, duck_found) = timed(sqlite_book, made), timed(duck_book, made)
            print(f"{label:<22}{lite_ms:>14.3f}{duck_ms:>15.3f}  {lite_found} / {duck_found}")
            sqlite_book.close()
            duck_book.close()
        print("\na second process opens a ledger that another process holds open:")
        for store, suffix, opener in (("sqlite", "sqlite", SQLiteLedger), ("duckdb", "duckdb", DuckLedger)):
            path = Path(folder) / f"shared.{suffix}"
            holder = opener(path)
            holder.record_many(packages(1, 5))
            print(f"  {store:<7} {second_process_opens(store, path)}")
            holder.close()


if __name__ == "__main__":
    main()
