"""HTML and terminal rendering of reports; the HTML opened in headless Chromium."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import tempfile
import warnings
from html import unescape

from srkit.codec import read
from srkit.model import ContainerContentItem, Document, NumContentItem
from srkit.model.code import Code
from srkit.render.html import render_html
from srkit.render.report_text import render_text
from srkit.validate import validate
from tests.conftest import data_path, require_tool

CT = "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"
KOS = "kos/nist_IDS-DEPT003-a_kos.dcm"
TID1500 = "sr-tid1500/dcmqi_sr-example_sr.dcm"


def _doc(name: str) -> Document:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(data_path(name))


def _chromium(html_path, *args: str) -> subprocess.CompletedProcess[bytes]:
    exe = require_tool("chromium", "/usr/bin/chromium")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                *args,
                f"file://{html_path}",
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )


def _visible_text(dom: str) -> str:
    dom = re.sub(r"<style.*?</style>", "", dom, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", dom)))


def test_ct_dose_html_in_chromium(tmp_path):
    # dsrdump: 1.13.7.3 DLP "29.67" (mGycm,UCUM), 1.13.7.1 Mean CTDIvol "15.45" (mGy,UCUM)
    doc = _doc(CT)
    page = tmp_path / "ct.html"
    page.write_text(render_html(doc, validate(doc)), encoding="utf-8")
    dom = _chromium(page, "--dump-dom").stdout.decode()
    text = _visible_text(dom)
    assert "CT Acquisition (9 events)" in text
    row = re.search(r'<tr id="item-1\.13">(.*?)</tr>', dom, re.S)
    assert row is not None
    cells = _visible_text(row.group(1))
    assert "15.45 mGy" in cells
    assert "29.67 mGycm" in cells
    assert "DE_laser align" in cells
    shot = tmp_path / "ct.png"
    _chromium(page, f"--screenshot={shot}", "--window-size=1280,2000")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000


def test_tid1500_html_in_chromium(tmp_path):
    # dsrdump: 1.6.1.11 NUM SUVbw="6.01529" ({SUVbw}g/ml,UCUM,"Standardized Uptake ...")
    doc = _doc(TID1500)
    page = tmp_path / "m.html"
    page.write_text(render_html(doc), encoding="utf-8")
    dom = _chromium(page, "--dump-dom").stdout.decode()
    row = re.search(r'<tr id="item-1\.6\.1\.11">(.*?)</tr>', dom, re.S)
    assert row is not None
    cells = _visible_text(row.group(1))
    num = doc.item("1.6.1.11")
    assert isinstance(num, NumContentItem)
    assert num.units is not None
    assert (num.number, num.units.value) == ("6.01529", "{SUVbw}g/ml")
    assert "6.01529" in cells
    assert "Standardized Uptake Value body weight" in cells
    assert "Tracking Identifier" in _visible_text(dom)
    shot = tmp_path / "m.png"
    _chromium(page, f"--screenshot={shot}", "--window-size=1280,2000")
    assert shot.stat().st_size > 10_000


def test_kos_html_in_chromium(tmp_path):
    doc = _doc(KOS)
    page = tmp_path / "kos.html"
    page.write_text(render_html(doc, validate(doc)), encoding="utf-8")
    text = _visible_text(_chromium(page, "--dump-dom").stdout.decode())
    assert "Manifest" in text
    assert "CT Image 1.3.6.1.4.1.21367.201599.3.201604020955010.9" in text
    assert "No problems found." in text
    shot = tmp_path / "kos.png"
    _chromium(page, f"--screenshot={shot}", "--window-size=1280,2000")
    assert shot.stat().st_size > 5_000


def test_html_codes_by_meaning_with_code_on_hover():
    html = render_html(_doc(CT))
    assert '<span title="113830, DCM">Mean CTDIvol</span>' in html
    assert "<details open" in html
    assert "<link" not in html
    assert "<script" not in html
    assert 'src="http' not in html


def test_html_lists_reader_and_validation_diagnostics():
    doc = _doc(CT)
    html = render_html(doc, validate(doc))
    assert "8-bit characters used but no Specific Character Set" in html  # reader
    assert "units (mGycm, UCUM) spelled differently" in html  # validation


def test_html_escapes_text_values():
    doc = _doc(KOS)
    evil = Code.make("T1", "99TEST", "<script>alert(1)</script>")
    doc = dataclasses.replace(doc, root=dataclasses.replace(doc.root, concept=evil))
    html = render_html(doc)
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html


def test_html_of_a_document_built_in_memory():
    root = ContainerContentItem(concept=Code.make("126000", "DCM", "Imaging Measurement Report"))
    doc = Document(
        sop_class_uid="1.2.840.10008.5.1.4.1.1.88.33", sop_instance_uid="1.2.3", root=root
    )
    html = render_html(doc, validate(doc))
    assert "Imaging Measurement Report" in html
    assert "Diagnostics" in html


def test_text_report_tables():
    text = render_text(_doc(CT))
    lines = text.splitlines()
    assert lines[0] == "X-Ray Radiation Dose Report"
    row = next(line for line in lines if line.strip().startswith("1  DE_laser align"))
    assert "15.45 mGy" in row
    assert "29.67 mGycm" in row
    assert "CT Dose Length Product Total: 1590 mGycm" in text
    assert text.rstrip().splitlines()[-1].startswith("WARNING")


def test_text_report_measurement_group():
    text = render_text(_doc("sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm"))
    assert "Tracking Identifier: LungNodule0001" in text
    assert re.search(r"Diameter\s+10\.0\s+mm", text)


def test_template_row_shows_the_detected_template() -> None:
    """The header's Template row is the registry's answer: as declared (Content Template
    Sequence), or marked "not declared" when the title shows it (PS3.16 TID 1500)."""
    from srkit.render.html import document_view

    def template_row(doc: Document) -> list[str]:
        return [h["value"] for h in document_view(doc, [])["header"] if h["label"] == "Template"]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = read(data_path("sr-tid1500/dcmjs_sample-sr.dcm"))
        plain = read(data_path("sr-other/pydicom_test-SR.dcm"))
    assert template_row(report) == ["TID 1500"]
    bare = dataclasses.replace(report, root=dataclasses.replace(report.root, template=None))
    assert template_row(bare) == ["TID 1500 (not declared)"]
    assert "TID 1500 (not declared)" in unescape(render_html(bare))
    assert template_row(plain) == []
