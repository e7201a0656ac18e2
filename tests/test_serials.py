"""Registry serial grammars, on serial numbers taken from the registries' public exports."""

from __future__ import annotations

import pytest

from vericarbon.evidence.serials import GRAMMARS, SerialError, parse_serial, serial_range

REAL = [  # (registry, serial as published, block, first, last, quantity in the export's own column)
    ("verra", "19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1", "", 941467007, 941467431, 425),
    ("gold-standard", "GS1-1-KE-GS11603-16-2025-30256-110-5463", "GS1-1-KE-GS11603-16-2025-30256", 110, 5463, 5354),
    ("gold-standard", "GS1-1-UG-GS11236-16-2024-30307-1-19149", "GS1-1-UG-GS11236-16-2024-30307", 1, 19149, 19149),
    ("gold-standard", "RW-5-1463953-2-2-0-7014 - RW-5-1467609-2-2-0-7014", "RW-5-*-2-2-0-7014", 1463953, 1467609, 3657),
    ("acr", "ACR-FR-1129-2025-2917-30932 to 35143", "ACR-FR-1129-2025-2917", 30932, 35143, 4212),
    ("car", "CAR-1-US-1335-31-983-KS-2025-9205-1 to 5000", "CAR-1-US-1335-31-983-KS-2025-9205", 1, 5000, 5000),
    ("car", "CAR-ROC-US-2056-129-2283-WV-2025-8969-1 to 260294", "CAR-ROC-US-2056-129-2283-WV-2025-8969", 1, 260294, 260294),
    ("art-trees", "ART-GY-102-2021-11-2759599 to 2760598", "ART-GY-102-2021-11", 2759599, 2760598, 1000),
    ("art-trees", "FCPF-CI-130-2023-20-1 to 46404", "FCPF-CI-130-2023-20", 1, 46404, 46404),
    ("cadt", "AXJJFSLGHSHEJ1000-AXJJFSLGHSHEJ1010", "AXJJFSLGHSHEJ", 1000, 1010, 11),
]


@pytest.mark.parametrize("registry, raw, block, first, last, quantity", REAL)
def test_real_serials_parse_into_the_registrys_block_and_hold_their_quantity(registry, raw, block, first, last, quantity):
    parsed = parse_serial(registry, raw)
    assert (parsed.block, parsed.start, parsed.end, parsed.quantity, parsed.raw) == (block, first, last, quantity, raw)


def test_every_grammar_parses_its_documented_example():
    for registry, grammars in GRAMMARS.items():
        for grammar in grammars:
            serial = {"raw": grammar.example} if grammar.numbered else {"raw": grammar.example, "from": 4426, "to": 4971}
            assert serial_range(registry, serial, 1).raw == grammar.example


def test_a_batch_serial_takes_its_numbers_from_from_and_to_or_from_the_quantity():
    assert serial_range("cercarbono", {"raw": "CDC_1_1_1_321_14_1_2009", "from": 4426, "to": 4971}, 546)[1:4] == ("CDC_1_1_1_321_14_1_2009", 4426, 4971)
    assert serial_range("cercarbono", {"raw": "CDC_1_1_1_321_14_1"}, 62740)[1:4] == ("CDC_1_1_1_321_14_1", 1, 62740)
    with pytest.raises(SerialError, match="holds its own numbers"):
        serial_range("acr", {"raw": "ACR-FR-1129-2025-2917-30932 to 35143", "from": 1, "to": 2}, 2)
    with pytest.raises(SerialError, match="names a Cercarbono batch"):
        parse_serial("cercarbono", "CDC_1_1")


def test_a_record_without_serials_is_its_registry_id():
    assert serial_range("isometric", {"id": "ret_1KNSQMD6Z1S0TB50"}, 531.0)[1:4] == ("id:ret_1KNSQMD6Z1S0TB50", 1, 1)


@pytest.mark.parametrize("registry, raw, message", [
    ("verra", "GS1-1-KE-GS11603-16-2025-30256-110-5463", "is not a Verra serial"),
    ("acr", "ACR-FR-1129-2025-2917-35143 to 30932", "ends (30932) before it starts (35143)"),
    ("gold-standard", "RW-5-1463953-2-2-0-7014 - KE-5-1467609-2-2-0-7014", "is not a Gold Standard serial"),
    ("car", "CAR-1-US-1335 to " + "9" * 400, "is not a registry serial"),
    ("nowhere", "X-1 to 2", "no serial grammar for registry 'nowhere'"),
])
def test_a_serial_off_its_grammar_names_the_format_expected(registry, raw, message):
    with pytest.raises(SerialError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_serial(registry, raw)


def test_serials_are_integers_of_any_size():
    parsed = parse_serial("acr", f"ACR-US-1-2025-1-{2**64} to {2**64 + 9}")
    assert parsed.start == 2**64 and parsed.quantity == 10


def test_the_grammar_page_shows_every_grammar_with_its_example():
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "serials.md").read_text()
    for registry, grammars in GRAMMARS.items():
        for grammar in grammars:
            assert f"| `{registry}` |" in page and f"`{grammar.example}`" in page
