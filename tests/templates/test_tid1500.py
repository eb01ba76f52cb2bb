"""TID 1500 reader: rows of the real reports (values checked against dsrdump), bad input."""

from __future__ import annotations

import dataclasses
import warnings

import pytest

from srkit.codec import read
from srkit.diagnostics import Severity
from srkit.model import ContainerContentItem, ContentItem, Document, NumContentItem
from srkit.templates.tid1500 import (
    QUALITATIVE_COLUMNS,
    QUANTITATIVE_COLUMNS,
    is_measurement_report,
    measurement_rows,
    qualitative_rows,
    read_measurement_report,
)
from tests.conftest import data_files, data_path


def _read(name: str) -> Document:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(data_path(name))


def _code(row: dict, key: str) -> tuple | None:
    c = row[key]
    return None if c is None else (c["value"], c["scheme"], c["meaning"])


def test_every_tid1500_file_is_a_report_with_rows() -> None:
    files = data_files("sr-tid1500/*.dcm")
    assert len(files) == 5
    counts = {}
    for path in files:
        doc = _read(f"sr-tid1500/{path.name}")
        assert is_measurement_report(doc)
        rows = measurement_rows(doc)
        assert all(tuple(r) == QUANTITATIVE_COLUMNS for r in rows)
        counts[path.name] = len(rows)
    # NUM counts in dsrdump of each file (all NUMs of measurement groups)
    assert counts == {
        "dcmjs_sample-sr.dcm": 2,
        "dcmjs_structured_report.dcm": 7,
        "dcmqi_sr-example_sr.dcm": 22,
        "highdicom_sr_document.dcm": 1,
        "highdicom_sr_document_with_multiple_groups.dcm": 4,
    }


def test_dcmqi_example_rows() -> None:
    doc = _read("sr-tid1500/dcmqi_sr-example_sr.dcm")
    rows = measurement_rows(doc)
    first = rows[0]
    assert first["sop_instance_uid"] == "1.2.276.0.7230010.3.1.4.8323329.18615.1440001313.22159"
    assert first["measurement_group_number"] == 1
    assert first["tracking_identifier"] == "primary tumor"
    assert first["tracking_unique_identifier"] == "2.25.318774060119084600392715520575818119084"
    assert _code(first, "finding") == ("M-80003", "SRT", "Neoplasm, Primary")
    assert _code(first, "finding_site") == ("T-C5300", "SRT", "pharyngeal tonsil (adenoid)")
    assert _code(first, "quantity") == ("126401", "DCM", "SUVbw")
    assert first["value"] == 6.01529
    assert _code(first, "units")[0] == "{SUVbw}g/ml"
    assert _code(first, "derivation") == ("R-00317", "SRT", "Mean")
    # group-level measurement method applies to every measurement ...
    assert _code(first, "measurement_method") == (
        "126410",
        "DCM",
        "SUV body weight calculation method",
    )
    assert first["segmentation_sop_instance_uid"] == (
        "1.2.276.0.7230010.3.1.4.8323329.18591.1440001312.777033"
    )
    assert first["segment_number"] == 1
    assert first["source_sop_instance_uids"] == []
    # ... unless the NUM has its own (Volume: Sum of segmented voxel volumes)
    volume = rows[4]
    assert _code(volume, "quantity")[2] == "Volume"
    assert volume["value"] == 33.5824
    assert _code(volume, "units") == ("ml", "UCUM", "Milliliter")
    assert _code(volume, "measurement_method")[0] == "126030"
    assert volume["derivation"] is None
    last = rows[-1]
    assert _code(last, "quantity")[2] == "Standardized Added Metabolic Activity Background"
    assert last["value"] == 2.82066
    report = read_measurement_report(doc)
    assert report.diagnostics == ()
    assert report.language.value == "eng"  # type: ignore[union-attr]
    assert report.procedure_reported[0].value == "44139-4"
    assert len(report.image_library) == 191
    group = report.groups[0]
    assert group.template == "1411"
    assert group.time_point == "1"
    assert group.activity_session == "1"
    assert group.source_series_for_segmentation == (
        "1.3.6.1.4.1.14519.5.2.1.2744.7002.261560220703676715130542397405"
    )
    assert group.real_world_value_map.sop_instance_uid == (  # type: ignore[union-attr]
        "1.2.276.0.7230010.3.1.4.8323329.18215.1440001297.928457"
    )


def test_highdicom_planar_roi_row() -> None:
    doc = _read("sr-tid1500/highdicom_sr_document.dcm")
    (row,) = measurement_rows(doc)
    assert row["tracking_identifier"] == "Planar ROI Measurements"
    assert _code(row, "finding") == ("T-A7010", "SRT", "Spinal cord")
    assert _code(row, "finding_site") == ("T-D00F7", "SRT", "Cervico-thoracic spine")
    assert _code(row, "quantity")[2] == "Area of defined region"
    assert row["value"] == 1.7
    assert _code(row, "units")[0] == "cm2"
    assert row["source_sop_instance_uids"] == ["1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"]
    report = read_measurement_report(doc)
    group = report.groups[0]
    assert group.template == "1410"
    assert group.region.graphic_type == "CIRCLE"  # type: ignore[union-attr]
    assert group.topographical_modifier.meaning == "Vertebral foramen"  # type: ignore[union-attr]
    meas = group.measurements[0]
    assert [v.meaning for _, v in meas.coded_properties] == ["Normal", "Not significant"]
    assert meas.tracking_unique_identifier == (
        "1.2.826.0.1.3680043.8.498.80512978961795763786957351072754445307"
    )


def test_highdicom_multiple_groups() -> None:
    doc = _read("sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm")
    rows = measurement_rows(doc)
    assert [r["tracking_identifier"] for r in rows] == [
        "Image0001",
        "LungNodule0001",
        "Aorta0001",
        "Vertebra0001",
    ]
    assert [r["measurement_group_number"] for r in rows] == [1, 2, 3, 4]
    # the first NUM also has a Floating Point Value, which is more precise than the
    # decimal string -119.07385253906 that dsrdump shows
    assert [r["value"] for r in rows] == [-119.0738525390625, 10.0, 20.0, 200.0]
    assert [_code(r, "units")[0] for r in rows] == ["[hnsf'U]", "mm", "mm", "mm3"]
    assert [_code(r, "finding") and _code(r, "finding")[2] for r in rows] == [
        None,
        "Nodule",
        "Aorta",
        "Vertebra",
    ]
    assert _code(rows[1], "finding_site") == ("39607008", "SCT", "Lung")
    report = read_measurement_report(doc)
    assert [g.template for g in report.groups] == ["1501", "1410", "1410", "1411"]
    qual = qualitative_rows(doc)
    assert all(tuple(r) == QUALITATIVE_COLUMNS for r in qual)
    assert [(_code(r, "quantity")[2], r["value"]["meaning"]) for r in qual] == [
        ("Anatomical position (finding)", "Level of T4/T5 intervertebral disc"),
        ("Level of Significance", "Not significant"),
    ]
    assert [r["measurement_group_number"] for r in qual] == [1, 2]


def test_dcmjs_rows_with_inferred_regions() -> None:
    doc = _read("sr-tid1500/dcmjs_structured_report.dcm")
    rows = measurement_rows(doc)
    assert [_code(r, "quantity")[2] for r in rows] == [
        "Center",
        "AREA",
        "Long Axis",
        "Short Axis",
        "Length",
        "Length",
        "AREA",
    ]
    # "Center" has an empty Measured Value Sequence (dsrdump: empty)
    assert rows[0]["value"] is None
    assert rows[0]["units"] is None
    assert [r["value"] for r in rows[1:]] == [
        4806.42320110457,
        93.9,
        47.0,
        39.366492911614,
        133.992062006165,
        3905.35929103307,
    ]
    assert rows[0]["tracking_identifier"] == "cornerstoneTools@^4.0.0:ArrowAnnotate"
    assert _code(rows[0], "finding") == ("CORNERSTONEFREETEXT", "CST4", "ExampleText")
    assert all(len(r["source_sop_instance_uids"]) == 1 for r in rows)
    sample = measurement_rows(_read("sr-tid1500/dcmjs_sample-sr.dcm"))
    assert [r["value"] for r in sample] == [64.4505437946691, 42.9670291964462]
    assert [_code(r, "units")[:2] for r in sample] == [("1", "UCUM"), ("1", "UCUM")]


# ---- bad input -------------------------------------------------------------------


def _replace_at(root: ContentItem, path: tuple[int, ...], new: ContentItem | None) -> ContentItem:
    """A copy of ``root`` with the item at ``path`` (child indexes, 0-based) replaced or
    removed."""
    kids = list(root.children)
    if len(path) == 1:
        if new is None:
            del kids[path[0]]
        else:
            kids[path[0]] = new
    else:
        kids[path[0]] = _replace_at(kids[path[0]], path[1:], new)
    return dataclasses.replace(root, children=tuple(kids))


def _multi() -> Document:
    return _read("sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm")


def _group_path(doc: Document, number: int) -> tuple[int, ...]:
    measurements = next(
        i for i, c in enumerate(doc.root.children) if c.concept and c.concept.value == "126010"
    )
    return (measurements, number - 1)


def test_missing_tracking_identifier_is_diagnosed_and_rows_still_come_out() -> None:
    doc = _multi()
    path = (*_group_path(doc, 2), 0)  # Tracking Identifier of group 2
    root = _replace_at(doc.root, path, None)
    bad = dataclasses.replace(doc, root=root)
    report = read_measurement_report(bad)
    rows = report.measurement_rows()
    assert [r["tracking_identifier"] for r in rows] == [
        "Image0001",
        None,
        "Aorta0001",
        "Vertebra0001",
    ]
    assert rows[1]["value"] == 10.0
    (diag,) = [d for d in report.diagnostics if "Tracking Identifier" in d.message]
    assert diag.severity == Severity.WARNING
    assert diag.path == "1.7.2"
    assert "measurement group 2" in diag.message


def test_num_without_units_is_an_error_and_the_row_stays() -> None:
    doc = _multi()
    gpath = _group_path(doc, 3)
    group = doc.root.children[gpath[0]].children[gpath[1]]
    n = next(i for i, c in enumerate(group.children) if isinstance(c, NumContentItem))
    num = group.children[n]
    bad = dataclasses.replace(
        doc, root=_replace_at(doc.root, (*gpath, n), dataclasses.replace(num, units=None))
    )
    report = read_measurement_report(bad)
    rows = report.measurement_rows()
    assert len(rows) == 4
    assert rows[2]["value"] == 20.0
    assert rows[2]["units"] is None
    (diag,) = [d for d in report.diagnostics if "units" in d.message.lower()]
    assert diag.severity == Severity.ERROR
    assert diag.path == f"1.7.3.{n + 1}"


def test_group_without_finding_is_diagnosed() -> None:
    doc = _multi()
    gpath = _group_path(doc, 4)
    group = doc.root.children[gpath[0]].children[gpath[1]]
    n = next(i for i, c in enumerate(group.children) if c.concept and c.concept.value == "121071")
    bad = dataclasses.replace(doc, root=_replace_at(doc.root, (*gpath, n), None))
    report = read_measurement_report(bad)
    rows = report.measurement_rows()
    assert rows[3]["finding"] is None
    assert rows[3]["value"] == 200.0
    messages = [d.message for d in report.diagnostics if d.path == "1.7.4"]
    assert messages == ["measurement group 4 (TID 1411) has no Finding (121071, DCM)"]


def test_not_tid1500_document() -> None:
    doc = _read("sr-other/pydicom_test-SR.dcm")
    assert not is_measurement_report(doc)
    assert measurement_rows(doc) == []
    assert qualitative_rows(doc) == []
    (diag,) = read_measurement_report(doc).diagnostics
    assert diag.severity == Severity.ERROR
    assert "not a TID 1500 Measurement Report" in diag.message


def test_dose_report_is_not_tid1500() -> None:
    doc = _read("rdsr/openrem_CT-RDSR-Toshiba_DoseCheck.dcm")
    assert not is_measurement_report(doc)
    assert measurement_rows(doc) == []


def test_foreign_container_in_imaging_measurements() -> None:
    doc = _multi()
    gpath = _group_path(doc, 1)
    group = doc.root.children[gpath[0]].children[gpath[1]]
    assert isinstance(group, ContainerContentItem)
    odd = dataclasses.replace(group, concept=doc.root.concept)
    report = read_measurement_report(
        dataclasses.replace(doc, root=_replace_at(doc.root, gpath, odd))
    )
    assert len(report.measurement_rows()) == 4
    assert any("is not a Measurement Group" in d.message for d in report.diagnostics)


@pytest.mark.parametrize("kind", ["quantitative", "qualitative"])
def test_rows_keep_document_order(kind: str) -> None:
    doc = _read("sr-tid1500/dcmqi_sr-example_sr.dcm")
    report = read_measurement_report(doc)
    rows = report.measurement_rows() if kind == "quantitative" else report.qualitative_rows()
    paths = [m.path for g in report.groups for m in g.measurements]
    if kind == "quantitative":
        assert paths == sorted(paths, key=lambda p: [int(x) for x in p.split(".")])
        assert len(rows) == len(paths)
    else:
        assert rows == []
