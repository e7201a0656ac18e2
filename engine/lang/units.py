"""Unit conversion for the quantities inventories use (energy, mass, volume, distance, passenger and
freight distance), on pint's registry rather than hand-written tables.

A unit argument is one unit expression ("kWh", "kg/MWh", "t*km") or a list of them that multiply
("activity unit × emission factor unit"). An unknown or incompatible unit raises UnitProblem with a
sentence a finding can carry; the expression language turns it into a missing value with that reason.
"""

from __future__ import annotations

import functools
import re
import tokenize
from typing import Any

# Units inventories use that pint does not define; each is a plain definition, not a conversion table.
_EXTRA_DEFINITIONS = (
    "scf = foot ** 3",  # standard cubic foot (EPA factors per scf)
    "mmBtu = 1e6 * Btu = MMBtu",
    "passenger = [passenger] = pax",  # passenger·km activity for travel factors
    "vehicle = [vehicle]",
    "room_night = [room_night]",  # hotel stays (DESNZ factors per room per night)
)


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


@functools.lru_cache(maxsize=4096)
def _factor(units: tuple[str, ...], target: str) -> float:
    """How many `target` one unit of the product of `units` is."""
    import pint

    _bounded(units + (target,))
    registry = _registry()
    try:
        product = registry.Quantity(1.0)
        for unit in units:
            if not unit.strip():
                raise UnitProblem(f"an empty unit in {_shown(units)}")
            product = product * registry.Quantity(1.0, registry.parse_units(unit))
        return float(product.to(registry.parse_units(target)).magnitude)
    except pint.errors.UndefinedUnitError as error:
        raise UnitProblem(f"unknown unit {_names(error.unit_names)} in {_shown(units)}") from None
    except pint.errors.DimensionalityError:
        raise UnitProblem(f"{_shown(units)} cannot be converted to {target}") from None
    except (pint.errors.PintError, tokenize.TokenError, SyntaxError, ArithmeticError, AssertionError, TypeError, ValueError, AttributeError):  # pint's parser on malformed text
        raise UnitProblem(f"unit {_shown(units)} cannot be read") from None


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
