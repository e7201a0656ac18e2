"""Stage 2: the importers, the ways data comes in from outside. Takes files other systems publish (registry
exports, tables of published statements, filled workbooks); gives packages, each valid against its kind's
JSON Schema, and per file a `Tally` of the rows read and imported and each row refused, naming the file,
the row and the reason. The core (`vericarbon.evidence`) knows nothing of this stage; this stage builds on it.

The contract (`tally`): rows in, packages out. A registry export's module gives `records(path, tally)`, the file's
records with their row numbers; a statement table's module gives `LAYOUT` (a `statements.StatementLayout`).
A row that cannot be a package raises `RowError` in the module, and the rest of the file goes on.
`REGISTRIES` and `STATEMENT_LAYOUTS` name the layouts (`import registry --from NAME`, `import statements
--from NAME`); a layout's module is imported only when a file of it is read.

tally (the contract) ; exports (registry table rows: the machinery every registry layout shares) → verra, gold_standard, acr, car,
art_trees, cercarbono, isometric, cadt ; statements → rosehill, eutl ; workbooks (xlsx both ways), after
xlsx_limits (an untrusted .xlsx bounded before python-calamine reads it) ; isolated (a workbook read in a
limited child process, for the service's uploads) ; skeletons (`vericarbon init` YAML).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Iterator

from vericarbon.errors import InputError
from vericarbon.evidence.package import SchemaStore, validated_package
from vericarbon.importers.tally import Refusal, RowError, Tally, print_tally

__all__ = ["REGISTRIES", "STATEMENT_LAYOUTS", "Refusal", "RowError", "Tally", "import_file", "import_statements", "print_tally"]

# a layout's name as the command line takes it -> its module in this package
REGISTRIES = {"verra": "verra", "gold-standard": "gold_standard", "acr": "acr", "car": "car", "art-trees": "art_trees",
              "cercarbono": "cercarbono", "isometric": "isometric", "cadt": "cadt"}
STATEMENT_LAYOUTS = {"rosehill": "rosehill", "eutl": "eutl"}


def import_file(registry: str, path: Path, tally: Tally, store: SchemaStore) -> Iterator[dict]:
    """The credit-record packages of one registry export, in row order, each valid against its schema (a
    row that would not be is refused with the schema's reason); refused rows go to `tally`."""
    for number, record in _layout_module(REGISTRIES, registry).records(path, tally):
        try:  # reading derives the serial's range into `serial` (the one part it changes): on a copy of it
            validated_package(f"row {number}", {**record, "serial": dict(record["serial"])}, "", store)
        except InputError as error:
            tally.records -= 1
            tally.refuse_invalid(number, error)
            continue
        yield record


def import_statements(layout_name: str, path: Path, tally: Tally, store: SchemaStore) -> Iterator[dict]:
    """The ghg-statement packages of one table, in row order, each valid against its schema (a row that
    would not be is refused with the schema's reason); refused rows go to `tally`."""
    from vericarbon.importers.statements import read_statements

    return read_statements(layout_name, _layout_module(STATEMENT_LAYOUTS, layout_name).LAYOUT, path, tally, store)


def _layout_module(layouts: dict[str, str], name: str) -> Any:
    return importlib.import_module(f"{__name__}.{layouts[name]}")
