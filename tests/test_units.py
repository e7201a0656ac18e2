"""The unit table (engine/lang/unit_table.json) is pint computed ahead of time: it must still be what pint
gives, convert the same way, and keep pint unloaded for the units it holds."""

import itertools
import json
import subprocess
import sys

import pytest

from vericarbon.lang import units

TABLE = json.loads(units.TABLE_FILE.read_text())["units"]


def test_every_unit_in_the_table_is_what_pint_gives_today():
    """A change to how printed units are read, or to pint, makes the table stale: rebuild it
    (python scripts/build_unit_table.py)."""
    stale = {unit: (entry, list(units.measure(unit))) for unit, entry in TABLE.items() if list(units.measure(unit)) != entry}
    assert not stale, f"stale units (rebuild with scripts/build_unit_table.py): {stale}"


def test_the_table_holds_the_units_the_built_in_factor_sets_print():
    from vericarbon import factors

    printed = {factor.factor_unit for set_id in factors.available() for factor in factors.load(set_id)}
    assert printed <= set(TABLE)


PAIRS = [
    (("kWh",), "MWh"), (("MWh", "kg/MWh"), "t"), (("kWh (Gross CV)", "kg CO2e per kWh (Gross CV)"), "t"), (("mmBtu", "kg/mmBtu"), "t"),
    (("passenger.km", "kg/(passenger*km)"), "t"), (("million tonnes CO2e",), "t"), (("kt",), "t"), (("lb CO2",), "t"), (("short ton",), "t"),
    (("therms",), "GJ"), (("litres", "kg/L"), "t"),
]


@pytest.mark.parametrize(("product", "target"), PAIRS)
def test_the_table_converts_as_pint_does(product, target):
    assert all(unit in TABLE for unit in product + (target,))
    assert units._factor(product, target) == pytest.approx(units._by_pint(product, target), rel=1e-12)


@pytest.mark.parametrize(("product", "target"), [(("kWh (Net CV)",), "kWh (Gross CV)"), (("kWh", "kg/L"), "t"), (("tonne.km",), "t")])
def test_the_table_refuses_what_pint_refuses_with_the_same_words(product, target):
    with pytest.raises(units.UnitProblem) as by_table:
        units._factor(product, target)
    with pytest.raises(units.UnitProblem) as by_pint:
        units._by_pint(product, target)
    assert str(by_table.value) == str(by_pint.value)


def test_units_outside_the_table_still_go_to_pint():
    assert "furlong" not in TABLE
    assert units.convert(1, "furlong", "m") == pytest.approx(201.168, rel=1e-5)  # survey or international furlong, by pint version


def test_a_check_over_table_units_does_not_load_pint(samples):
    code = (
        "import sys\nfrom vericarbon.cli import main\n"
        f"main(['verify', {str(samples / 'verification-organisation.json')!r}, '--format', 'json', '-o', '/dev/null'])\n"
        "print('pint' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_every_sample_pair_of_table_units_agrees_with_pint():
    """All mass units against each other, as statements convert them: the table's arithmetic is pint's."""
    masses = [unit for unit, (_, dims) in TABLE.items() if dims == {"[mass]": 1.0}]
    for unit, target in itertools.product(masses, ["t", "kg", "lb"]):
        assert units._factor((unit,), target) == pytest.approx(units._by_pint((unit,), target), rel=1e-12)
