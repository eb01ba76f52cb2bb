"""The TID 1500 plugin: measurement tables, referenced SEG and source images."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.load import examine, load
from tests.conftest import data_path


def test_dcmqi_report_table_and_its_seg():
    sr = data_path("sr-tid1500/dcmqi_sr-example_sr.dcm")
    seg = data_path("seg/dcmqi_sr-example_seg.dcm")
    found = examine([sr, seg])
    by_plugin = {x.plugin: x for x in found}
    assert set(by_plugin) == {"tid1500", "seg"}
    report = by_plugin["tid1500"]
    assert report.selected
    assert by_plugin["seg"].selected
    assert report.extra["referenced_files"] == [str(seg)]
    # the PET source images are not in the shared data: named, not silently dropped
    assert report.warning_codes == ("referenced_instances_absent",)
    table = load(report)
    assert table.columns[:4] == [
        "Tracking Identifier",
        "SUVbw Mean [{SUVbw}g/ml]",
        "SUVbw Minimum [{SUVbw}g/ml]",
        "SUVbw Maximum [{SUVbw}g/ml]",
    ]
    assert len(table.columns) == 23
    (row,) = table.rows
    assert row["Tracking Identifier"] == "primary tumor"
    assert row["SUVbw Mean [{SUVbw}g/ml]"] == pytest.approx(6.01529)
    assert row["Volume [ml]"] == pytest.approx(33.5824)


def test_highdicom_report_with_its_source_image():
    sr = data_path("sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm")
    ct = data_path("ct/pydicom_CT_small.dcm")
    found = examine([sr, ct])
    report = next(x for x in found if x.plugin == "tid1500")
    assert report.warnings == ()
    assert report.extra["referenced_files"] == [str(ct)]
    assert any(x.plugin == "scalar" and x.selected for x in found)
    table = load(report)
    assert len(table.rows) >= 2
    assert all(c == "Tracking Identifier" or c.endswith("]") for c in table.columns)


def test_cli_load_writes_the_table_as_csv(tmp_path):
    sr = data_path("sr-tid1500/dcmqi_sr-example_sr.dcm")
    out = tmp_path / "report.nii.gz"
    result = CliRunner().invoke(cli, ["load", str(sr), "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "report.csv")
    assert "referenced_instances_absent" in result.stderr
    with (tmp_path / "report.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["Tracking Identifier"] == "primary tumor"
    assert float(rows[0]["Total Lesion Glycolysis [g]"]) == pytest.approx(202.008)
