"""Unit conversion for the quantities inventories use (energy, mass, volume, distance, passenger and
freight distance), on pint's registry rather than hand-written tables.

Units are read as the official factor sets and statements print them ("kWh (Gross CV)", "tonne.km",
"Room per night", "kg CO2e per kWh (Net CV)", "million tonnes CO2e", "lb/MWh", "short ton"): `printed()`
rewrites such text into pint's grammar. Energy on a net and on a gross calorific-value basis are different
dimensions, so a kWh (Net CV) never converts to a kWh (Gross CV) or to a plain kWh; a gas label after a
mass ("kg CO2e", "tCO2e", "lb CO2") is dropped because the line's gas says what the mass is of.

A unit argument is one unit expression ("kWh", "kg/MWh", "t*km") or a list of them that multiply
("activity unit × emission factor unit"). An unknown or incompatible unit raises UnitProblem with a
sentence a finding can carry; the expression language turns it into a missing value with that reason.
"""

from __future__ import annotations

import functools
import json
import re
import tokenize
from pathlib import Path
from typing import Any

# Units inventories use that pint does not define; each is a plain definition, not a conversion table.
_EXTRA_DEFINITIONS = (
    "scf = foot ** 3",  # standard cubic foot (EPA factors per scf)
    "mmBtu = 1e6 * Btu = MMBtu",
    "passenger = [passenger] = pax",  # passenger·km activity for travel factors
    "vehicle = [vehicle]",
    "room_night = [room_night]",  # hotel stays (DESNZ factors per room per night)
    "fte_working_hour = [fte_working_hour]",  # homeworking (DESNZ factors per FTE working hour)
    "net_cv = [net_calorific_basis]",  # energy counted on the fuel's net calorific value
    "gross_cv = [gross_calorific_basis]",  # ... on its gross calorific value
)

# How factor sets and statements print units, rewritten into pint's grammar; applied in this order.
_PRINTED = tuple((re.compile(pattern, re.IGNORECASE), replacement) for pattern, replacement in (
    (r"\(\s*net(\s+cv)?\s*\)|\bnet\s+cv\b|\(\s*lhv\s*\)", " * net_cv "),
    (r"\(\s*gross(\s+cv)?\s*\)|\bgross\s+cv\b|\(\s*hhv\s*\)", " * gross_cv "),
    (r"\b([kmg]?)t\s*co[2₂]\s*-?\s*e(q(uivalent)?)?\b", lambda m: " " + {"k": "kilo", "m": "mega", "g": "giga"}.get(m.group(1).lower(), "") + "tonne "),
    (r"\bco[2₂]\s*-?\s*e(q(uivalent)?)?\b|\bco[2₂]\b|\bch[4₄]\b|\bn[2₂]o\b", " "),  # after a mass: the gas it is of
    (r"\bmetric\s+tons?\b|\btonnes\b", " tonne "),
    (r"\b(litre|liter|mile|gallon|therm|passenger|vehicle)s\b", r" \1 "),
    (r"\bmillion\s+", " mega"),
    (r"\bthousand\s+", " kilo"),
    (r"\bbillion\s+", " giga"),
    (r"\bkt\b", " kilotonne "),  # never a knot here
    (r"\bshort\s+tons?\b", " short_ton "),
    (r"\bcubic\s+met(re|er)s?\b", " m**3 "),
    (r"(?<=[a-z])\.(?=[a-z])", " * "),  # tonne.km, passenger.km
))
_PHRASES = tuple((re.compile(pattern, re.IGNORECASE), replacement) for pattern, replacement in (
    (r"^\s*per\s+fte\s+working\s+hours?\s*$", "fte_working_hour"),  # DESNZ prints the homeworking unit so
    (r"\bfte\s+working\s+hours?\b", "fte_working_hour"),
    (r"\broom\s+per\s+night\b|\broom[\s_-]*nights?\b", "room_night"),
))
_PER = re.compile(r"\s+per\s+", re.IGNORECASE)  # "kg CO2e per kWh (Gross CV)": all that follows divides



class UnitProblem(ValueError):
    """A unit that is unknown, malformed or of the wrong dimension."""


# Unit text is evidence, so it is bounded before pint's parser sees it: pint evaluates arithmetic in a unit
# ("kWh*10**10**10" runs without end), slows down quadratically with length and recurses per factor.
MAX_UNIT_LENGTH = 64  # the longest units factor tables print ("kWh (Net CV)", "per FTE Working Hour") are < 30
MAX_UNITS = 8  # units multiplied in one argument
_EXPONENT = re.compile(r"(\*\*|\^)\s*([-+]?)\s*(\(?)\s*([0-9.]*)")
_CHAINED = re.compile(r"(\*\*|\^)\s*[-+]?\s*[0-9.]+\s*(\*\*|\^)")  # 10**10**10 is 10**(10**10)


def _bounded(units: tuple[str, ...]) -> None:
    if len(units) > MAX_UNITS:
        raise UnitProblem(f"{len(units)} units multiplied together; at most {MAX_UNITS} are read")
    for unit in units:
        if len(unit) > MAX_UNIT_LENGTH:
            raise UnitProblem(f"a unit of {len(unit)} characters ({unit[:20]!r}…); at most {MAX_UNIT_LENGTH} are read")
        powers = _EXPONENT.findall(unit)
        if _CHAINED.search(unit) or any(group or len(digits.split(".")[0]) > 2 or not digits for _, _, group, digits in powers):
            raise UnitProblem(f"unit {unit!r} has an exponent that is not a small number")


@functools.cache
def _registry() -> Any:
    import pint  # loaded on first use: rulesets without units never pay for it

    registry = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    for definition in _EXTRA_DEFINITIONS:
        registry.define(definition)
    return registry


TABLE_FILE = Path(__file__).with_name("unit_table.json")


@functools.cache
def _table() -> dict[tuple[tuple[str, ...], str], tuple[float | None, str | None]]:
    """Pint's answers, worked out ahead of time (scripts/build_unit_table.py), for the conversions the
    built-in factor sets, samples and rule tests ask for: (units, target) -> (factor, None), or (None,
    the refusal). Loading pint costs ~0.35 s; a run that asks only these never pays it, and gets exactly
    pint's number, since the table is pint's own output."""
    with TABLE_FILE.open("rb") as table:
        return {(tuple(units), target): (factor, refusal) for units, target, factor, refusal in json.load(table)["conversions"]}


@functools.lru_cache(maxsize=4096)
def _factor(units: tuple[str, ...], target: str) -> float:
    """How many `target` one unit of the product of `units` is."""
    _bounded(units + (target,))
    known = _table().get((units, target))
    if known is not None:
        factor, refusal = known
        if refusal is not None:
            raise UnitProblem(refusal)
        return factor  # type: ignore[return-value]
    return _by_pint(units, target)


def by_pint(units: tuple[str, ...], target: str) -> tuple[float | None, str | None]:
    """Pint's answer for one conversion, as the table holds it: (factor, None) or (None, the refusal)."""
    try:
        return _by_pint(units, target), None
    except UnitProblem as refusal:
        return None, str(refusal)


def _by_pint(units: tuple[str, ...], target: str) -> float:
    """The product of `units` in `target`, by pint."""
    import pint

    registry = _registry()
    try:
        product = registry.Quantity(1.0)
        for unit in units:
            if not unit.strip():
                raise UnitProblem(f"an empty unit in {_shown(units)}")
            product = product * registry.Quantity(1.0, registry.parse_units(printed(unit)))
        return float(product.to(registry.parse_units(printed(target))).magnitude)
    except pint.errors.UndefinedUnitError as error:
        raise UnitProblem(f"unknown unit {_names(error.unit_names)} in {_shown(units)}") from None
    except pint.errors.DimensionalityError:
        raise UnitProblem(f"{_shown(units)} cannot be converted to {target}") from None
    except (pint.errors.PintError, tokenize.TokenError, SyntaxError, ArithmeticError, AssertionError, TypeError, ValueError, AttributeError):  # pint's parser on malformed text
        raise UnitProblem(f"unit {_shown(units)} cannot be read") from None


def printed(unit: str) -> str:
    """A unit as printed ("kg CO2e per kWh (Gross CV)") in pint's grammar ("kg / (kWh * gross_cv)")."""
    for pattern, replacement in _PHRASES:  # units whose own name holds "per"
        unit = pattern.sub(replacement, unit)
    divides = _PER.search(unit)
    if not divides:
        return _rewritten(unit)
    parts = [_rewritten(unit[: divides.start()]), f"({_rewritten(unit[divides.end():])})"]
    return " / ".join(parts)


def _rewritten(text: str) -> str:
    for pattern, replacement in _PRINTED:
        text = pattern.sub(replacement, text)
    text = re.sub(r"\*\s*\*(?!\*)", "**", text)  # keep pint's power operator whole
    return re.sub(r"^\s*\*|\*\s*$", "", " ".join(text.split())).strip() or "1"


def _names(names: Any) -> str:
    return ", ".join(repr(n) for n in ([names] if isinstance(names, str) else names))


def _shown(units: tuple[str, ...]) -> str:
    return " × ".join(repr(unit) for unit in units)


def as_units(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def convert(value: float, units: str | list[str], target: str) -> float:
    """`value` in the product of `units`, expressed in `target`."""
    return value * _factor(as_units(units), target)


def convertible(units: str | list[str], target: str) -> bool:
    try:
        _factor(as_units(units), target)
    except UnitProblem:
        return False
    return True
