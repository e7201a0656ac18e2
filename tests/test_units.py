"""The unit table (engine/vericarbon/lang/unit_table.json) is pint's own answers, worked out ahead of time: it must
still be what pint gives, cover what the factor sets print, and keep pint unloaded for what it holds."""

import json
import subprocess
import sys

import pytest

from vericarbon.lang import units

ROWS = json.loads(units.TABLE_FILE.read_text())["conversions"]
TABLE = {(tuple(product), target): (factor, refusal) for product, target, factor, refusal in ROWS}


def test_every_conversion_in_the_table_is_what_pint_gives_today():
    """A change to how printed units are read, or to pint, makes the table stale: rebuild it
    (python scripts/build_unit_table.py)."""
    stale = {key: (kept, units.by_pint(*key)) for key, kept in TABLE.items() if units.by_pint(*key) != kept}
    assert not stale, f"stale conversions (rebuild with scripts/build_unit_table.py): {stale}"


def test_the_table_holds_what_the_official_factor_sets_print():
    from vericarbon import factors

    needed = {((f.unit, f.factor_unit), "t") for set_id in factors.available() for f in factors.load(set_id)}
    assert needed <= set(TABLE)


@pytest.mark.parametrize(("product", "target"), [(("kWh (Gross CV)", "kg CO2e per kWh (Gross CV)"), "t"), (("million tonnes CO2e",), "t"), (("kt",), "t"), (("6.00",), "t")])
def test_a_conversion_in_the_table_answers_as_pint_without_pint(product, target):
    units._factor.cache_clear()
    factor, refusal = TABLE[product, target]
    if refusal is None:
        assert units._factor(product, target) == factor == units._by_pint(product, target)
    else:
        with pytest.raises(units.UnitProblem, match="cannot be read"):
            units._factor(product, target)


def test_units_outside_the_table_still_go_to_pint():
    assert not any("furlong" in key[0] for key in TABLE)
    assert units.convert(1, "furlong", "m") == pytest.approx(201.168, rel=1e-5)  # survey or international furlong, by pint version


def test_a_check_of_a_bundled_sample_does_not_load_pint(samples):
    code = (
        "import sys\nfrom vericarbon.cli import main\n"
        f"main(['verify', {str(samples / 'verification-organisation.json')!r}, '--format', 'json', '-o', '/dev/null'])\n"
        "print('pint' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"
