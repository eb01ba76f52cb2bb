"""Complete rendering (issue 16): nothing of a report is dropped or shown raw.

Each test reads a real file of ``../shared/data`` (or one made by highdicom from a
real CT) and asserts the values as the file holds them: derivation and method of
every measurement, every column of an irradiation event, the laterality under a
measurement's finding site, line breaks of TEXT values, formatted content dates,
times and names, the presentation state of an IMAGE item.
"""

from __future__ import annotations

import re
import warnings
from html import unescape
from pathlib import Path

from srkit.codec import read
from srkit.model import Document
from srkit.model.navigation import walk
from srkit.render.formats import format_date, format_datetime, format_name, format_time
from srkit.render.html import render_html
from srkit.render.report_text import render_text
from tests.conftest import data_path, require_module

DCMQI = "sr-tid1500/dcmqi_sr-example_sr.dcm"
CT_DOSE = "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"
OFFIS = "sr-other/pydicom_test-SR.dcm"
DFL = "sr-other/dcm4che_report_dfl.dcm"


def _doc(name: str | Path) -> Document:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(data_path(name) if isinstance(name, str) else name)


def _text_rows(text: str, name: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith(name + " ")]


def test_text_shows_the_derivation_of_every_measurement() -> None:
    # dsrdump: 1.6.1.11 SUVbw "6.01529" with derivation Mean, 1.6.1.12 "2.91136" Minimum,
    # 1.6.1.17 "1.62653" Standard Deviation: one quantity, told apart only by derivation
    text = render_text(_doc(DCMQI))
    rows = _text_rows(text, "SUVbw")
    assert len(rows) == 10
    assert re.fullmatch(
        r"SUVbw\s+6\.01529\s+Standardized Uptake Value body weight\s+"
        r"Derivation: Mean",
        rows[0],
    )
    assert rows[1].endswith("Derivation: Minimum")
    assert any(
        r.startswith("SUVbw  1.62653") and r.endswith("Derivation: Standard Deviation")
        for r in (re.sub(r"\s{2,}", "  ", r) for r in rows)
    )
    # every SUVbw row says which statistic it is
    assert all("Derivation: " in r for r in rows)
    # the method of the volume: (126030, DCM, "Sum of segmented voxel volumes"), wrapped
    volume = text[text.index("Volume  ") :].splitlines()
    assert "Measurement Method: Sum of segmented" in volume[0]
    assert volume[1].strip() == "voxel volumes"


def test_text_cells_wrap_rather_than_cut() -> None:
    text = render_text(_doc(DCMQI))
    assert "..." not in text
    # "Glycolysis Within First Quarter of Intensity Range" (126033, DCM) on two lines
    head = next(n for n, line in enumerate(text.splitlines()) if "Glycolysis Within First" in line)
    lines = text.splitlines()
    assert lines[head].split()[:5] == ["Glycolysis", "Within", "First", "Quarter", "of"]
    assert "41.9512" in lines[head]
    assert lines[head + 1].strip() == "Intensity Range"


def test_text_dose_table_keeps_every_event_column() -> None:
    # dsrdump 1.13 (event 1): KVP "100" kV, X-Ray Tube Current "399" mA, CTDIw Phantom
    # Type IEC Body Dosimetry Phantom; source B: KVP "140" kV; event 8: Pitch Factor 0.19
    doc = _doc(CT_DOSE)
    text = render_text(doc)
    for name in (
        "KVP",
        "X-Ray Tube Current",
        "CTDIw Phantom Type",
        "Pitch Factor",
        "KVP (source B)",
        "Exposure Time per Rotation (source B)",
    ):
        assert name in text, name
    assert "columns 1-7 of 22:" in text
    assert "columns 21-22 of 22:" in text
    lines = text.splitlines()
    first = lines.index("  columns 12-16 of 22:")
    assert re.match(r"\s+1\s+A\s+100 kV\s+400 mA\s+399 mA\s+0\.5 s$", lines[first + 3])
    source_b = lines.index("  columns 17-20 of 22:")
    row1 = next(line for line in lines[source_b + 1 :] if line.strip().startswith("1 "))
    assert re.match(r"\s+1\s+B\s+140 kV\s+310 mA\s+308 mA$", row1)
    phantom = lines.index("  columns 8-11 of 22:")
    assert lines[phantom + 3].rstrip().endswith("IEC Body Dosimetry Phantom")
    last = lines.index("  columns 21-22 of 22:")
    assert re.match(r"\s+8\s+0\.285 s\s+0\.19 ratio$", lines[last + 10])
    assert max(len(line) for line in lines if not line.startswith(("WARNING", "ERROR"))) <= 132


def test_html_dose_table_has_the_second_source_columns() -> None:
    html = unescape(render_html(_doc(CT_DOSE)))
    assert ">KVP (source B)</span></th>" in html
    assert ">Pitch Factor</span></th>" in html


def _laterality_report(tmp_path: Path) -> Path:
    """A TID 1500 report made by highdicom on the real CT ``ct/pydicom_CT_small.dcm``:
    Diameter 12.5 mm, derivation Mean, finding site Kidney with laterality Left (TID
    1419: the laterality is a HAS CONCEPT MOD of the measurement's finding site)."""
    hd = require_module("highdicom")
    np = require_module("numpy")
    import pydicom
    from pydicom.sr.codedict import codes

    ct = pydicom.dcmread(data_path("ct/pydicom_CT_small.dcm"))
    region = hd.sr.ImageRegion(
        graphic_type=hd.sr.GraphicTypeValues.CIRCLE,
        graphic_data=np.array([[10.0, 10.0], [15.0, 10.0]]),
        source_image=hd.sr.SourceImageForRegion.from_source_image(ct),
    )
    measurement = hd.sr.Measurement(
        name=codes.SCT.Diameter,
        value=12.5,
        unit=codes.UCUM.Millimeter,
        derivation=codes.SCT.Mean,
        finding_sites=[hd.sr.FindingSite(codes.SCT.Kidney, laterality=codes.SCT.Left)],
    )
    group = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(identifier="Nodule 1", uid=hd.UID()),
        referenced_region=region,
        measurements=[measurement],
        finding_type=codes.SCT.Nodule,
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(),
        procedure_reported=codes.LN.CTUnspecifiedBodyRegion,
        imaging_measurements=[group],
    )
    sr = hd.sr.Comprehensive3DSR(
        evidence=[ct],
        content=report,
        series_number=10,
        series_instance_uid=hd.UID(),
        sop_instance_uid=hd.UID(),
        instance_number=1,
    )
    path = tmp_path / "laterality.dcm"
    sr.save_as(path)
    return path


def test_html_details_show_the_laterality_of_a_finding_site(tmp_path: Path) -> None:
    doc = _doc(_laterality_report(tmp_path))
    html = render_html(doc)
    row = re.search(r'<tr id="item-1\.3\.1\.4">(.*?)</tr>', html, re.S)
    assert row is not None
    cells = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", row.group(1))))
    assert "Derivation: Mean" in cells
    assert "Finding Site: Kidney (Laterality: Left)" in cells
    text = render_text(doc)
    assert re.search(r"Diameter\s+12\.5\s+mm\s+Derivation: Mean; Finding Site: Kidney", text)
    assert "(Laterality: Left)" in text


def test_html_keeps_the_line_breaks_of_text_values() -> None:
    # 1.3 TEXT "Sample Text\rA\nB\r\nC\n\r": CR, LF and CR LF breaks
    html = render_html(_doc(OFFIS))
    assert "white-space: pre-wrap" in html
    item = re.search(
        r'<div class="item" id="item-1\.3">.*?<span class="value">(.*?)</span>', html, re.S
    )
    assert item is not None
    assert item.group(1) == "Sample Text\nA\nB\nC"
    assert "\r" not in html


def test_text_normalises_carriage_returns_and_escapes_controls() -> None:
    text = render_text(_doc(OFFIS))
    assert "\r" not in text
    lines = text.splitlines()
    n = next(i for i, line in enumerate(lines) if line.endswith("Code: Sample Text"))
    assert [line.strip() for line in lines[n + 1 : n + 4]] == ["A", "B", "C"]
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)


def test_text_escapes_a_bell_visibly() -> None:
    import dataclasses

    doc = _doc(OFFIS)
    item = doc.item("1.3")
    changed = dataclasses.replace(item, value="ring\x07 twice\r\nnext")
    root = doc.root
    section = root.children[2]
    assert section is item
    doc = dataclasses.replace(
        doc,
        root=dataclasses.replace(root, children=(*root.children[:2], changed, *root.children[3:])),
    )
    text = render_text(doc)
    assert "ring\\x07 twice" in text
    assert "\x07" not in text
    html = render_html(doc)
    assert "ring\\x07 twice\nnext" in html


def test_content_dates_times_and_names_are_formatted_as_the_header() -> None:
    # 1.4.1 DATE "20001206", 1.4.2 TIME "120000", 1.4.3 DATETIME "20001206120000";
    # header Content Date/Time 20010213 184746, Patient's Name "Test^S R"
    doc = _doc(OFFIS)
    assert (doc.item("1.4.1").value, doc.item("1.4.2").value) == ("20001206", "120000")
    text = render_text(doc)
    assert "Content date  2001-02-13 18:47:46" in text
    assert "Patient       Test, S R" in text
    # Verifying Observer Names "Riesmeier^Jörg", "Observer^Verifying": in text as in HTML
    assert "Verified by   Riesmeier, Jörg; Observer, Verifying" in text
    assert "  Date: 2000-12-06" in text
    assert "  Time: 12:00:00" in text
    assert "  DateTime: 2000-12-06 12:00:00" in text
    html = unescape(render_html(doc))
    assert "<dd>Riesmeier, Jörg; Observer, Verifying</dd>" in html
    assert '<span class="value">2000-12-06 12:00:00</span>' in html
    assert "20001206" not in html


def test_person_names_in_content_are_formatted() -> None:
    # dcm4che report_dfl: PNAME items (Person Observer Name etc.) stored with carets
    doc = _doc(DFL)
    raw = sorted({p.item.value for p in walk(doc.root) if p.item.value_type == "PNAME"})
    assert raw == ["Fukuda^^^Dr.", "Klugman^^^Dr.", "Mason^^^Dr.", "Packer^David M.^^^M. D."]
    assert [format_name(n) for n in raw[:1] + raw[-1:]] == ["Dr. Fukuda", "Packer, David M., M. D."]
    text = render_text(doc)
    html = unescape(render_html(doc))
    for name in raw:
        shown = format_name(name)
        assert "^" not in shown
        assert shown in text
        assert shown in html
        assert name not in text


def test_dose_datetimes_are_formatted() -> None:
    # 1.10 Start of X-Ray Irradiation DATETIME "20130611140817.965005"
    text = render_text(_doc(CT_DOSE))
    assert "Start of X-Ray Irradiation: 2013-06-11 14:08:17.965005" in text
    assert "20130611140817" not in text


def test_image_presentation_state_is_shown() -> None:
    # 1.5 IMAGE CT 1.2.3.4.5.0 frames 5,2 with GSPS 1.2.3.5.6.7 (dsrdump: "(GSPS,...)")
    doc = _doc(OFFIS)
    text = render_text(doc)
    assert (
        "CT Image 1.2.3.4.5.0, frames 5, 2, presentation state "
        "Grayscale Softcopy Presentation State 1.2.3.5.6.7"
    ) in text
    html = unescape(render_html(doc))
    assert "presentation state Grayscale Softcopy Presentation State 1.2.3.5.6.7" in html


def test_formatters() -> None:
    assert format_date("20130611") == "2013-06-11"
    assert format_date("2013-06-11") == "2013-06-11"
    assert format_date("junk") == "junk"
    assert format_time("140817.965005") == "14:08:17.965005"
    assert format_time("1408") == "14:08"
    assert format_datetime("20130611140817.965005+0100") == "2013-06-11 14:08:17.965005 +01:00"
    assert format_datetime("201306") == "2013-06"
    assert format_datetime("13:00") == "13:00"
    assert format_name("Lovelace^Ada") == "Lovelace, Ada"
    assert format_name("Doe^John^^Dr.^Jr") == "Dr. Doe, John, Jr"
    assert format_name("Yamada^Tarou=山田^太郎") == "Yamada, Tarou (山田, 太郎)"
    assert format_name("^^^") == ""
