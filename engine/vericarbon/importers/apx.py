"""The export layout of the registries APX hosts (ACR, CAR, ART TREES): three kinds of file, each registry
naming its columns its own way. Retirements and cancellations list serialised credits (the same credit
columns in both, and a column each that tells the two apart); issuances have no serials, so a record is
named by its project, vintage, date and quantity, and a share of it issued to the buffer pool, given in a
column of its own, marks it a buffer record."""

from __future__ import annotations

from vericarbon.importers.exports import Layout, buffer_if_positive

# the project columns ACR and CAR name alike
PROJECT_COLUMNS = {"project.id": "Project ID", "project.name": "Project Name", "project.type": "Project Type", "project.country": "Project Site Country"}


def apx_layouts(credits: dict[str, str], retirements: tuple[str, dict[str, str]], cancellations: tuple[str, dict[str, str]],
                issuances: tuple[tuple[str, ...], dict[str, str], str]) -> list[Layout]:
    """A registry's three layouts: `retirements` and `cancellations` each as (the column that marks the
    file, its fields beyond `credits`); `issuances` as (the columns that mark the file, its fields, the
    buffer pool's column)."""
    serial = credits["serial.raw"]
    (retired_mark, retired), (cancelled_mark, cancelled), (issued_marks, issued, buffer) = retirements, cancellations, issuances
    identity = tuple(issued[name] for name in ("project.id", "vintage.year", "issued_on", "quantity"))
    return [Layout("retirements", "retirement", (serial, retired_mark), {**credits, **retired}),
            Layout("cancellations", "cancellation", (serial, cancelled_mark), {**credits, **cancelled}),
            Layout("issuances", "issuance", issued_marks, issued, identity=identity, extra=buffer_if_positive(buffer))]
