"""Stage 9: batch screening. Takes folders, zip archives and JSON-Lines files of packages; checks them in
worker processes, records their serial ranges in the credit ledger (SQLite, or PostgreSQL by URL), and gives one JSON line per package and
a summary; the ledger finds ranges issued or retired twice across submissions.
"""

from typing import NamedTuple

from vericarbon.limits import MAX_FILE_BYTES

DEFAULT_TIMEOUT = 120.0  # seconds per package: generous (a 5 000-item package takes ~40 ms)


class Limits(NamedTuple):
    """How large a package may be read, and how well a zip member may compress (vericarbon.screening.sources).
    Here, not there, so that the command line shows the defaults without importing the readers (zipfile)."""

    max_bytes: int = MAX_FILE_BYTES
    max_ratio: int = 100
