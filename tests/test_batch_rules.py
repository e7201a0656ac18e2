"""Checks across packages: batch rules over the series store, in `screen`, on real published data — the
Rosehill statements' copied rows and the EU ETS installations' jumps and gaps — and across runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from test_authoring import run

from vericarbon.errors import InputError
from vericarbon.evidence.package import SchemaStore
from vericarbon.rules.rulesets import load_ruleset

DATA = Path(__file__).parent / "data" / "statements"
ROSEHILL_DUPLICATES = [  # the dataset README's copy-paste groups
    {"mondelez-international", "general-mills", "kellogg-company"}, {"fedex-corporation", "united-parcel-service"},
    {"bank-of-america-corporation", "wells-fargo-company"}, {"vmware", "digitalocean"},
]


def screen(tmp_path: Path, capsys, *sources: Path, ledger: Path) -> tuple[int, list[dict], str]:
    out = tmp_path / "lines.jsonl"
    code, _, err = run(["screen", *sources, "--ledger", ledger, "-o", out], capsys)
    return code, [json.loads(line) for line in out.read_text().splitlines()], err


def imported(tmp_path: Path, capsys, layout: str, source: Path, name: str) -> Path:
    out = tmp_path / name
    code, _, err = run(["import", "statements", "--from", layout, source, "-o", out], capsys)
    assert code == 0, err
    return out


def findings(lines: list[dict], rule: str) -> dict[str, set[str]]:
    """Per package a finding is about, the packages it names (from the run records), after checking that
    each package of this run involved refers to the record by id."""
    records = {line["id"]: line for line in lines if line.get("record") == "cross_package"}
    screened = {line.get("id") for line in lines if "record" not in line}
    referring = {(line["id"], ref["record"]) for line in lines if "record" not in line for ref in line.get("cross_package", [])}
    found = {}
    for record in records.values():
        if record["rule"] != rule:
            continue
        assert all((p["package_id"], record["id"]) in referring for p in record["packages"] if p["package_id"] in screened)  # earlier runs' packages have no line now
        for finding in record["findings"]:
            found[finding["about"]] = set(finding.get("packages") or [p["package_id"] for p in record["packages"]])
    return found


def test_each_documented_copy_paste_group_is_found_and_no_other(tmp_path, capsys, ledger_location):
    statements = imported(tmp_path, capsys, "rosehill", DATA / "rosehill-company_data.csv", "rosehill.jsonl")
    code, lines, err = screen(tmp_path, capsys, statements, ledger=ledger_location)
    groups = {frozenset(p.split(":")[1] for p in packages) for packages in findings(lines, "PLAUS-IDENTICAL-FIGURES").values()}
    assert groups == {frozenset(group) for group in ROSEHILL_DUPLICATES}
    assert code == 1 and "cross-package PLAUS-IDENTICAL-FIGURES  9" in err and "cross-package findings (13):" in err
    outliers = {about.split(":")[1] for about in findings(lines, "PLAUS-PEER-MAGNITUDE")}
    assert outliers == {"nike", "patagonia", "verizon", "zoom-video-communications"}  # a factor of 1 000 off the peers' median, each a documented slip


def test_eutl_jumps_gaps_and_exclusions_are_found_and_kept_across_runs(tmp_path, capsys, ledger_location):
    rows = list(csv.DictReader((DATA / "eutl-sample.csv").open()))
    early, late = tmp_path / "early.csv", tmp_path / "late.csv"
    for path, keep in ((early, lambda year: year <= 2012), (late, lambda year: year > 2012)):
        with path.open("w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=["account_id", "year", "tonnes_co2"])
            writer.writeheader()
            writer.writerows(row for row in rows if keep(int(row["year"])))
    ledger = ledger_location  # a SQLite file, then a PostgreSQL database: the same findings
    code, first, err = screen(tmp_path, capsys, imported(tmp_path, capsys, "eutl", early, "early.jsonl"), ledger=ledger)
    jumps = findings(first, "PLAUS-YEAR-ON-YEAR")
    assert jumps["EUTL-100016-2006"] == {"EUTL-100016-2006", "EUTL-100016-2005"} and jumps["EUTL-100016-2007"] == {"EUTL-100016-2007", "EUTL-100016-2006"}
    record = next(line for line in first if line.get("record") == "cross_package" and any(f["about"] == "EUTL-100016-2006" for f in line["findings"]))
    named = [p for p in record["packages"] if p["package_id"] in jumps["EUTL-100016-2006"]]
    assert {(p["package_id"], p["emissions_t"]) for p in named} == {("EUTL-100016-2006", 198899), ("EUTL-100016-2005", 1542)} and all(p["source"].endswith(".jsonl:" + p["source"].rsplit(":", 1)[1]) for p in named)
    assert code == 0  # jumps are observations: a figure to explain, not a nonconformity

    code, second, err = screen(tmp_path, capsys, imported(tmp_path, capsys, "eutl", late, "late.jsonl"), ledger=ledger)
    later = findings(second, "PLAUS-YEAR-ON-YEAR")
    assert "EUTL-100016-2006" not in later  # reported in the first run, not again
    assert all(int(about.rsplit("-", 1)[1]) > 2012 for about in later)
    assert later["EUTL-100005-2013"] == {"EUTL-100005-2013", "EUTL-100005-2012"}  # 1 518 t in 2012, screened in the first run, read from the ledger
    excluded = findings(second, "PLAUS-EXCLUDED-YEAR")
    assert {"EUTL-102033-2013", "EUTL-102033-2014", "EUTL-102033-2015"} <= set(excluded)

    code, out, _ = run(["ledger", "series", "EUTL:100016", "--ledger", ledger], capsys)
    years = [line.split()[1] for line in out.splitlines()]
    assert code == 0 and years == sorted(years) and years[0] == "2005" and years[-1] == "2013"  # both runs, in period order
    assert "EUTL-100016-2006  emissions_t 198899" in out


def test_a_gap_names_both_ends(tmp_path, capsys):
    rows = [row for row in csv.DictReader((DATA / "eutl-sample.csv").open()) if row["account_id"] == "100016" and row["year"] not in ("2009", "2010")]
    source = tmp_path / "gap.csv"
    with source.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=["account_id", "year", "tonnes_co2"])
        writer.writeheader()
        writer.writerows(rows)
    _, lines, _ = screen(tmp_path, capsys, imported(tmp_path, capsys, "eutl", source, "gap.jsonl"), ledger=tmp_path / "l.sqlite")
    assert findings(lines, "PLAUS-SERIES-GAP") == {"EUTL-100016-2011": {"EUTL-100016-2011", "EUTL-100016-2008"}}


def test_batch_rules_are_linted_and_type_checked(tmp_path):
    base = (Path(__file__).resolve().parent.parent / "rulesets" / "plausibility.yaml").read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(base.replace("check: item.period - item.prev.period <= 1", "check: item.period - item.prev.no_such_value <= 1"))
    with pytest.raises(InputError, match="no_such_value"):
        load_ruleset(broken, SchemaStore())
    broken.write_text(base.replace("group_by: figures_as_written", "group_by: no_such_value"))
    with pytest.raises(InputError, match="group_by 'no_such_value' is neither entity, all nor a series value"):
        load_ruleset(broken, SchemaStore())
    broken.write_text(base.replace("        expect: fail\n        involved: [A-2020, A-2017]", "        expect: pass"))
    with pytest.raises(InputError, match="PLAUS-SERIES-GAP needs at least one 'pass' and one 'fail' test case"):
        load_ruleset(broken, SchemaStore())
    broken.write_text(base.replace("    status: {type: string,", "    \"status') OR 1=1 --\": {type: string,"))
    with pytest.raises(InputError):
        load_ruleset(broken, SchemaStore())
