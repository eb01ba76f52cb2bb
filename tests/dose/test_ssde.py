"""Issue 12, part 4: size-specific dose estimates (AAPM Report 204 / 220).

From a diameter the report carries (the Siemens Flash RDSR with a Water Equivalent
Diameter added), and from the study's axial CT images (dcmqi's 3-slice CT with a dose
report built for its study), the water-equivalent diameter computed in the test by hand.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pydicom
import pytest
from click.testing import CliRunner
from pydicom.dataset import Dataset

from srkit.cli.main import cli
from srkit.codec import read, write
from srkit.db import Database
from srkit.dose.ssde import conversion_factor, exam_ssde
from srkit.templates.dose import dose_report
from srkit.templates.tid10011_builder import build_ct_dose_report
from tests.conftest import data_files, data_path, skip_or_fail

SIEMENS_CT = "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"
TOSHIBA_CT = "rdsr/openrem_CT-RDSR-Toshiba_DoseCheck.dcm"


def test_report_204_factors() -> None:
    # AAPM Report 204, Table 1 (32 cm phantom) and Table 2 (16 cm): 1.0 cm steps
    assert conversion_factor(8.0, 32) == pytest.approx(2.76, abs=0.01)
    assert conversion_factor(20.0, 32) == pytest.approx(1.78, abs=0.01)
    assert conversion_factor(30.0, 32) == pytest.approx(1.23, abs=0.01)
    assert conversion_factor(40.0, 32) == pytest.approx(0.85, abs=0.01)
    assert conversion_factor(20.0, 16) == pytest.approx(0.86, abs=0.01)
    assert conversion_factor(10.0, 16) == pytest.approx(1.27, abs=0.01)


def _with_wed(tmp_path: Path, wed_mm: float) -> Path:
    ds = pydicom.dcmread(data_path(SIEMENS_CT))
    for item in ds.ContentSequence:
        if item.ConceptNameCodeSequence[0].CodeValue != "113819":
            continue
        for child in item.ContentSequence:
            if child.ConceptNameCodeSequence[0].CodeValue == "113829":  # CT Dose
                num = Dataset()
                num.RelationshipType, num.ValueType = "CONTAINS", "NUM"
                name = Dataset()
                name.CodeValue, name.CodingSchemeDesignator = "113980", "DCM"
                name.CodeMeaning = "Water Equivalent Diameter"
                num.ConceptNameCodeSequence = [name]
                unit = Dataset()
                unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning = "cm", "UCUM", "cm"
                measured = Dataset()
                measured.NumericValue = f"{wed_mm / 10:g}"  # in cm: srkit converts to mm
                measured.MeasurementUnitsCodeSequence = [unit]
                num.MeasuredValueSequence = [measured]
                child.ContentSequence.append(num)
    path = tmp_path / "with-wed.dcm"
    ds.save_as(path)
    return path


def test_ssde_from_the_reports_diameter(tmp_path: Path) -> None:
    report = dose_report(read(_with_wed(tmp_path, 280.0)))
    assert report is not None
    record = report.to_dict()
    event = max(
        (e for e in record["events"] if "mean_ctdivol" in (e.get("ct_dose") or {})),
        key=lambda e: e["ct_dose"]["mean_ctdivol"],
    )
    assert event["ct_dose"]["water_equivalent_diameter"] == 280.0  # mm, TID 10013
    result = exam_ssde(record, record["sop_instance_uid"])
    phantom = event["ct_dose"]["ctdiw_phantom_type"]["value"]
    a, b = (3.704369, 0.03671937) if phantom == "113691" else (1.874799, 0.03871313)
    expected = event["ct_dose"]["mean_ctdivol"] * a * math.exp(-b * 28.0)
    assert result.ssde == pytest.approx(expected, rel=1e-5)
    assert result.diameter_mm == 280.0
    assert result.method is not None
    assert "report" in result.method
    assert result.phantom_assumed is False
    assert result.phantom_cm == (32 if phantom == "113691" else 16)


def _wed_by_hand(paths: list[Path]) -> float:
    values = []
    for path in paths:
        ds = pydicom.dcmread(path)
        hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        body = hu[hu > -500]
        area = float(ds.PixelSpacing[0]) * float(ds.PixelSpacing[1])
        values.append(2 * math.sqrt(np.sum(body / 1000 + 1) * area / math.pi))
    return sum(values) / len(values)


def test_ssde_from_the_studys_images(tmp_path: Path) -> None:
    images = data_files("ct/dcmqi_ct-3slice/*.dcm")
    if not images:
        skip_or_fail("no CT images in the shared data")
    study = str(pydicom.dcmread(images[0]).StudyInstanceUID)
    record = dose_report(read(data_path(TOSHIBA_CT)))
    assert record is not None
    data = {**record.to_dict(), "study_instance_uid": study}
    rdsr = tmp_path / "rdsr.dcm"
    write(build_ct_dose_report(data), rdsr)
    db_path = tmp_path / "db.sqlite"
    with Database(str(db_path)) as db:
        db.import_paths([*images, rdsr], workers=1)
    result = CliRunner().invoke(cli, ["dose", "ssde", "--db", str(db_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    wed = _wed_by_hand(images)
    assert 150 < wed < 450  # an adult's trunk or head, in mm
    assert row["diameter_mm"] == pytest.approx(wed, rel=1e-9)
    assert "images" in row["method"]
    factor = (3.704369 if row["phantom_cm"] == 32 else 1.874799) * math.exp(
        -(0.03671937 if row["phantom_cm"] == 32 else 0.03871313) * wed / 10
    )
    assert row["ssde"] == pytest.approx(factor * row["ctdivol"], rel=1e-5)
    # without the images: no diameter, said so
    with Database(str(tmp_path / "empty.sqlite")) as db:
        db.import_paths([rdsr], workers=1)
    bare = CliRunner().invoke(cli, ["dose", "ssde", "--db", str(tmp_path / "empty.sqlite"),
                                    "--format", "json"])  # fmt: skip
    (row,) = json.loads(bare.stdout)
    assert row["ssde"] is None
    assert "no diameter" in row["note"]
