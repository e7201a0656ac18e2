"""Stage 3: the official emission-factor sets, shipped as data: the UK DESNZ/Defra conversion factors, the US EPA
Emission Factors Hub and the IPCC 2006 defaults, each converted once by `scripts/build_factor_sets.py`
into `sets/SET.json.gz` (columns of one list each, gzip'd JSON) and loaded on first use.

A statement line cites a factor by set and id (`{set: desnz-2023, id: 1_100_1004_6_1}`) or by set,
description and unit (`{set: desnz-2024, description: "Fuels / Gaseous fuels / Natural gas",
unit: "kWh (Gross CV)"}`); `find` answers with the official factor or a sentence saying why there is none.
"""

from __future__ import annotations

import functools
import gzip
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson

from vericarbon.errors import InputError

SETS_DIR = Path(__file__).resolve().parent / "sets"
FORMAT = 1
COLUMNS = ("id", "scope", "description", "unit", "ghg", "value", "value_unit", "low", "high")


class FactorProblem(InputError):
    """A citation that names no official factor: unknown set, unknown id, or a description that matches
    none or several. In a rule it is the reason a value is missing; on the command line, an input error."""

    def __init__(self, message: str) -> None:
        super().__init__("factors", message)
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Factor:
    set: str
    id: str
    scope: str  # "Scope 1", "Scope 2", "Scope 3", "Outside of scopes", or "" where the set does not say
    description: str  # the set's own headings, joined by " / "
    unit: str  # the activity unit, as the set prints it ("kWh (Gross CV)", "tonne.km", "mmBtu")
    ghg: str  # what the value counts: CO2e, CO2, CH4, N2O
    value: float
    value_unit: str  # mass of `ghg` per activity unit, as printed ("kg CO2e", "g CH4", "lb CO2")
    low: float | None = None  # the set's uncertainty range, where it gives one (IPCC: 95 % interval)
    high: float | None = None

    @property
    def factor_unit(self) -> str:
        # DESNZ prints one activity unit with its "per" already ("per FTE Working Hour")
        return f"{self.value_unit} {self.unit}" if self.unit.casefold().startswith("per ") else f"{self.value_unit} per {self.unit}"


@dataclass(frozen=True)
class FactorSet:
    about: dict[str, Any]  # id, title, publisher, edition, version, year, gwp, licence, attribution, source
    columns: dict[str, list[Any]]

    @property
    def id(self) -> str:
        return self.about["id"]

    def __len__(self) -> int:
        return len(self.columns["id"])

    def factor(self, index: int) -> Factor:
        return Factor(self.id, *(self.columns[name][index] for name in COLUMNS))

    def __iter__(self) -> Iterator[Factor]:
        return (self.factor(index) for index in range(len(self)))

    @functools.cached_property
    def _by_id(self) -> dict[str, int]:
        return {factor_id: index for index, factor_id in enumerate(self.columns["id"])}

    @functools.cached_property
    def _by_description(self) -> dict[tuple[str, str, str], list[int]]:
        found: dict[tuple[str, str, str], list[int]] = {}
        for index, (description, unit, ghg) in enumerate(zip(self.columns["description"], self.columns["unit"], self.columns["ghg"])):
            found.setdefault((_key(description), _key(unit), ghg), []).append(index)
        return found

    def by_id(self, factor_id: str) -> Factor:
        index = self._by_id.get(factor_id)
        if index is None:
            raise FactorProblem(f"{self.id} has no factor with id {factor_id!r}")
        return self.factor(index)

    def by_description(self, description: str, unit: str, ghg: str = "CO2e") -> Factor:
        indexes = self._by_description.get((_key(description), _key(unit), ghg), [])
        if len(indexes) != 1:
            how = "no" if not indexes else f"{len(indexes)}"
            raise FactorProblem(f"{self.id} has {how} {ghg} factor(s) described {description!r} per {unit!r}; cite it by id")
        return self.factor(indexes[0])


def _key(text: str) -> str:
    """Descriptions and units compared as people retype them: case, spacing and separators aside."""
    return " ".join(re.split(r"[\s/>]+", text.casefold())).strip()


def available() -> list[str]:
    return sorted(path.name.removesuffix(".json.gz") for path in SETS_DIR.glob("*.json.gz"))


@functools.cache
def load(set_id: str) -> FactorSet:
    if set_id not in available():
        raise FactorProblem(f"no factor set {set_id!r} (the sets shipped: {', '.join(available())})")
    document = orjson.loads(gzip.decompress((SETS_DIR / f"{set_id}.json.gz").read_bytes()))
    if document.get("format") != FORMAT:
        raise FactorProblem(f"factor set {set_id!r} is in format {document.get('format')}, this vericarbon reads format {FORMAT}")
    return FactorSet(document["about"], document["columns"])


def find(citation: dict[str, Any]) -> Factor:
    """The official factor a line's citation names: `set` with `id`, or `set` with `description` and
    `unit` (and `ghg`, CO2e unless given)."""
    fields = tuple(citation.get(name) for name in ("set", "id", "description", "unit", "ghg"))
    if not all(isinstance(value, str) or value is None for value in fields):
        raise FactorProblem("a factor citation's set, id, description, unit and gas are text")
    return _find(*fields)


@functools.lru_cache(maxsize=65536)  # a rule asks for several fields of one line's factor
def _find(set_id: str | None, factor_id: str | None, description: str | None, unit: str | None, ghg: str | None) -> Factor:
    if set_id is None:
        raise FactorProblem("the citation names no factor set")
    factor_set = load(set_id)
    if factor_id is not None:
        return factor_set.by_id(factor_id)
    if description is not None and unit is not None:
        return factor_set.by_description(description, unit, ghg or "CO2e")
    raise FactorProblem("the citation gives neither an id nor a description with its unit")


def search(text: str, set_ids: list[str] | None = None, limit: int = 50) -> list[Factor]:
    """Factors whose description, unit or id contain every word of `text` (case aside)."""
    words = text.casefold().split()
    found: list[Factor] = []
    for set_id in set_ids or available():
        factor_set = load(set_id)
        for index, (factor_id, description, unit) in enumerate(zip(factor_set.columns["id"], factor_set.columns["description"], factor_set.columns["unit"])):
            haystack = f"{factor_id} {description} {unit}".casefold()
            if all(word in haystack for word in words):
                found.append(factor_set.factor(index))
                if len(found) >= limit:
                    return found
    return found
