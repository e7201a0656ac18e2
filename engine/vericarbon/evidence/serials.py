"""Credit serial numbers as registries write them, parsed into (registry, block, start, end).

Each registry numbers its credits its own way; a grammar per registry says which part of the serial string
is the running number and which part names the block that numbering runs in, so the ledger's block key is
the registry's, never the submitter's choice. Numbers are Python integers of any size. docs/serials.md
lists every grammar with a real example; an unparseable serial names the format expected.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class SerialRange(NamedTuple):
    registry: str
    block: str
    start: int
    end: int
    raw: str

    @property
    def quantity(self) -> int:
        return self.end - self.start + 1


class SerialError(ValueError):
    """A serial string that does not follow its registry's format."""


class Grammar(NamedTuple):
    registry: str
    pattern: re.Pattern[str]
    expected: str  # the format, as the error message shows it
    example: str  # a real serial from the registry's public export

    @property
    def numbered(self) -> bool:
        """Does the serial hold the credits' numbers (else it names a batch, the numbers given apart)?"""
        return "start" in self.pattern.groupindex


_TO = r"(?P<block>[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+)-(?P<start>\d+)\s+to\s+(?P<end>\d+)"  # ACR, CAR and ART: BLOCK-first to last

GRAMMARS: dict[str, list[Grammar]] = {
    "verra": [Grammar(
        "Verra",
        # batch-first-last-VCS-VCU-…-DDMMYYYY-DDMMYYYY-n: VCU numbers run across the whole registry, so the
        # block is the registry's numbering itself; the rest of the string is kept in `raw`
        re.compile(r"\d+-(?P<start>\d+)-(?P<end>\d+)-VCS-VCU(?:-[A-Za-z0-9]+)+"),
        "BATCH-FIRST-LAST-VCS-VCU-…-DDMMYYYY-DDMMYYYY-N",
        "19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1",
    )],
    "gold-standard": [
        Grammar(
            "Gold Standard",
            re.compile(r"(?P<block>GS\d+-\d+-[A-Z]{2}-GS\d+-\d+-\d{4}-\d+)-(?P<start>\d+)-(?P<end>\d+)"),
            "GS1-1-COUNTRY-GSPROJECT-SCOPE-VINTAGE-BATCH-FIRST-LAST",
            "GS1-1-KE-GS11603-16-2025-30256-110-5463",
        ),
        Grammar(  # CDM-format CERs transferred into Gold Standard: two full unit serials, the number third
            "Gold Standard (CDM)",
            re.compile(r"(?P<left>[A-Z]{2}-\d+)-(?P<start>\d+)-(?P<right>\d+-\d+-\d+-\d+)\s*-\s*(?P=left)-(?P<end>\d+)-(?P=right)"),
            "CC-P-FIRST-a-b-c-PROJECT - CC-P-LAST-a-b-c-PROJECT",
            "RW-5-1463953-2-2-0-7014 - RW-5-1467609-2-2-0-7014",
        ),
    ],
    "acr": [Grammar("ACR", re.compile(_TO), "ACR-COUNTRY-PROJECT-VINTAGE-BATCH-FIRST to LAST", "ACR-FR-1129-2025-2917-30932 to 35143")],
    "car": [Grammar("CAR", re.compile(_TO), "CAR-…-VINTAGE-BATCH-FIRST to LAST", "CAR-1-US-1335-31-983-KS-2025-9205-1 to 5000")],
    "art-trees": [Grammar("ART", re.compile(_TO), "ART-COUNTRY-PROGRAM-VINTAGE-BATCH-FIRST to LAST (or FCPF-…)", "ART-GY-102-2021-11-2759599 to 2760598")],
    "cercarbono": [Grammar(  # EcoRegistry's batch serial; the export gives the credits' numbers in from/to columns
        "Cercarbono",
        re.compile(r"(?P<block>CDC(?:_[A-Z0-9]+)+)"),
        "CDC_PROJECT_…_BATCH (with the numbers in from/to)",
        "CDC_1_1_1_321_14_1_2009",
    )],
    "icr": [Grammar(  # ICR's serialization names a vintage token, not a range: the numbers come as from/to
        "ICR",
        re.compile(r"(?P<block>ICR(?:-[A-Z0-9]+)+)"),
        "ICR-…-VINTAGE-TOKEN (with the numbers in from/to)",
        "ICR-ISL-354-78040-14-R-0-2021",
    )],
    "cadt": [Grammar(
        "CADT",
        re.compile(r"(?P<block>[^\d\s][^\s]*?)(?P<start>\d+)-(?P=block)(?P<end>\d+)"),
        "PREFIXFIRST-PREFIXLAST (one prefix, then the running number)",
        "AXJJFSLGHSHEJ1000-AXJJFSLGHSHEJ1010",
    )],
}


def parse_serial(registry: str, raw: str) -> SerialRange:
    """The range a serial string holds, by its registry's grammar; SerialError names the format expected."""
    grammar, match = _match(registry, raw)
    fields = match.groupdict()
    if not grammar.numbered:
        raise SerialError(f"{raw!r} names a {grammar.registry} batch, not a range: give its numbers as from/to")
    start, end = int(fields["start"]), int(fields["end"])
    if end < start:
        raise SerialError(f"{raw!r}: the range ends ({end}) before it starts ({start})")
    if "block" in fields:
        block = fields["block"]
    elif "left" in fields:  # the number sits inside the serial: the block is the serial around it
        block = f"{fields['left']}-*-{fields['right']}"
    else:  # the numbering runs across the whole registry
        block = ""
    return SerialRange(grammar.registry, block, start, end, raw.strip())


def serial_range(registry: str, serial: dict, quantity: float) -> SerialRange:
    """The range a credit record's serial holds, whichever way its registry writes it: a serial string;
    a batch serial with the numbers in separate from/to columns (Cercarbono), or without them for an
    issuance (the batch's credits 1 to its quantity); or, for registries without serials (Isometric), the
    registry's record id, which then stands for its credits (block "id:…", one unit), so a second claim on
    the same record still meets the first in the ledger."""
    if "raw" not in serial:
        return SerialRange(registry, f"id:{serial['id']}", 1, 1, serial["id"])
    raw = serial["raw"]
    grammar, match = _match(registry, raw)
    if grammar.numbered:
        if "from" in serial or "to" in serial:
            raise SerialError(f"{raw!r} holds its own numbers: from/to are for a serial that names only a batch")
        return parse_serial(registry, raw)
    if ("from" in serial) != ("to" in serial):
        raise SerialError(f"{raw!r} needs both from and to")
    start, end = (serial["from"], serial["to"]) if "from" in serial else (1, int(quantity))
    if end < start:
        raise SerialError(f"{raw!r}: the range ends ({end}) before it starts ({start})")
    return SerialRange(grammar.registry, match["block"], start, end, raw.strip())


def _match(registry: str, raw: str) -> tuple[Grammar, re.Match[str]]:
    grammars = GRAMMARS.get(registry)
    if grammars is None:
        raise SerialError(f"no serial grammar for registry {registry!r} (known: {', '.join(sorted(GRAMMARS))})")
    if len(raw) > 300:
        raise SerialError(f"a serial of {len(raw)} characters is not a registry serial")
    for grammar in grammars:
        match = grammar.pattern.fullmatch(raw.strip())
        if match:
            return grammar, match
    expected = " or ".join(repr(g.expected) for g in grammars)
    raise SerialError(f"{raw!r} is not a {grammars[0].registry} serial ({expected}, e.g. {grammars[0].example!r})")
