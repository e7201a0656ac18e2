"""The report as issued: every section filled from the package, the findings register with responses, the
clause index in words a client reads, and the PDF — the same on every run but for its generation time."""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from test_authoring import run

import vericarbon
from vericarbon.errors import InputError
from vericarbon.render import html, pdf

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "evidence_samples"
ANSWERS = ROOT / "docs" / "examples" / "answers-northbridge-defects.yaml"
MOMENT = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
SECTIONS = ["1. Summary", "2. Engagement", "3. Figures", "4. Opinion and statement as issued", "5. Findings register", "6. Clause index",
            "7. Auditor checklist", "8. Every rule and the evidence it read", "9. Evidence register", "10. Sign-off"]

# What each sample's report must say, read from its package.
EXPECTED = {
    "verification-organisation-defects.json": ["Verification report", "Northbridge Components Ltd", "Pennine Assurance LLP", "Helen Okafor", "Tomasz Nowak",
                                               "reasonable assurance", "2024-01-01 to 2024-12-31", "5 % of total_emissions", "4769.11098 tCO2e",
                                               "The opinion as issued is unmodified, but the rules found", "NC-MAJ-01"],
    "icr-removal-issuance-defects.json": ["Verification report (VerR)", "Nordic Biochar", "Arctic Verification AS", "Ingrid Haugen", "ICR-M-011", "CAR-01"],
    "neutrality-offsets-only-defects.json": ["Carbon neutrality assessment report", "Residual emissions", "NC-MAJ-01"],
    "inventory-defects.json": ["GHG inventory check report", "Northwind Components Ltd", "NC-MAJ-01"],
    "verification-organisation.json": ["Verification report", "Northbridge Components Ltd", "No findings: every rule that could be evaluated conforms."],
}


def pdf_text(data: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_every_section_is_present_and_filled_from_the_package(sample):
    data = vericarbon.verify(SAMPLES / sample).render("pdf")
    text, pages = pdf_text(data)
    flat = " ".join(text.split())
    for heading in SECTIONS:
        assert heading in flat, (sample, heading)
    for fact in EXPECTED[sample]:
        assert fact in flat, (sample, fact)
    assert f"Page 1 of {pages}" in flat and f"Page {pages} of {pages}" in flat and re.search(r"VC-[0-9A-F]{10} · version 1", flat)
    assert "(unverified)" not in flat and "~" not in flat  # confidence tags are footnotes; internal topic codes never shown


def test_a_report_is_the_same_on_every_run_but_for_its_generation_time():
    result = vericarbon.verify(SAMPLES / "verification-organisation-defects.json").data
    assert pdf.render(result, MOMENT) == pdf.render(result, MOMENT)
    assert html.render(result, MOMENT) == html.render(result, MOMENT)
    later = html.render(result, MOMENT + dt.timedelta(hours=1))
    differing = [line for line in zip(html.render(result, MOMENT).splitlines(), later.splitlines()) if line[0] != line[1]]
    assert differing and all("03:04:05" in old or "2026-01-02T03:04:05Z" in old for old, _ in differing)


def test_the_register_carries_responses_and_the_answers_file_sets_id_version_and_signoff():
    result = vericarbon.verify(SAMPLES / "verification-organisation-defects.json", answers=ANSWERS, as_of=dt.date(2025, 6, 30))
    text, _ = pdf_text(result.render("pdf"))
    flat = " ".join(text.split())
    assert "PA-VR-2025-0117 · version 2" in flat and "Date of issue 2025-06-30" in flat
    assert "Materiality memo re-dated and the evidence-gathering plan re-approved after it." in flat and "closed 2025-03-25 by Helen Okafor" in flat
    assert "Aisha Bello" in flat.split("10. Sign-off")[1]
    assert re.search(r"Status: waived, waived by Aisha Bello \(independent reviewer\) until 2025-12-31", flat)


def test_a_response_for_an_unknown_rule_is_refused(tmp_path):
    answers = tmp_path / "a.yaml"
    answers.write_text("responses:\n  - {id: NO-SUCH-RULE, response: done, status: open}\n")
    with pytest.raises(InputError, match="no rule or manual check 'NO-SUCH-RULE'"):
        vericarbon.verify(SAMPLES / "verification-organisation-defects.json", answers=answers)
    answers.write_text("responses:\n  - {id: VER-REVIEWER-INDEPENDENT, response: done, status: closed}\n")
    with pytest.raises(InputError, match="closed_on"):
        vericarbon.verify(SAMPLES / "verification-organisation-defects.json", answers=answers)


def test_conforming_rules_show_the_evidence_they_read():
    page = vericarbon.verify(SAMPLES / "verification-organisation.json").render("html")
    row = page.split("VER-TERMS-BEFORE-PLANNING</span>")[1].split("</tr>")[0]
    assert "/engagement/agreement_date" in row and "/planning/strategic_analysis/date" in row


def test_without_the_pdf_extra_the_message_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if it were not installed
    code, _, err = run(["verify", SAMPLES / "inventory-defects.json", "--format", "pdf", "-o", "/dev/null"], capsys)
    assert code == 2 and "pip install 'vericarbon[pdf]'" in err


def test_evidence_text_cannot_break_out_of_the_page_header(tmp_path):
    answers = tmp_path / "a.yaml"
    answers.write_text('report: {id: "X\\"; } body { display: none } .x { content: \\"", version: "1</style><script>"}\n')
    page = vericarbon.verify(SAMPLES / "inventory-defects.json", answers=answers).render("html")
    header = page.split('@top-left { content: "')[1]
    assert header.split('"', 1)[1].startswith("; font:")  # the string ends where the template ends it
    assert "<script>" not in page
