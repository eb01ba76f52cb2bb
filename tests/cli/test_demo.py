"""`srkit demo`: the README's first command, on data srkit makes itself."""

from __future__ import annotations

import subprocess

import pydicom
from click.testing import CliRunner

from srkit import read
from srkit.cli.main import cli
from srkit.db import Database
from srkit.samples import make_samples
from srkit.templates.dose import dose_report
from srkit.templates.tid1500 import measurement_rows
from tests.conftest import require_module, require_tool


def test_demo_runs_twice_and_fills_the_database(tmp_path):
    db = tmp_path / "demo.sqlite"
    folder = tmp_path / "samples"
    args = ["demo", "--db", str(db), "--folder", str(folder), "--studies", "4"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "Imported into" in first.stdout
    assert "32 new, 0 already there, 0 rejected" in first.stdout
    second = CliRunner().invoke(cli, args)
    assert "0 new, 32 already there, 0 rejected" in second.stdout
    png = tmp_path / "samples-summary.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000
    assert not list(folder.rglob("*.png"))  # the samples folder holds only DICOM files
    with Database(str(db)) as database:
        counts = database.counts()
        assert (counts["patients"], counts["studies"], counts["instances"]) == (4, 4, 32)
        assert counts["dose_reports"] == 4
        rows = database.query_measurements()
    expected = sum(len(measurement_rows(read(p))) for p in folder.glob("*/measurements.dcm"))
    assert len(rows) == expected > 0
    assert {r["units"]["value"] for r in rows} == {"mm", "mm2"}
    # every measurement is printed under its count
    assert f"Measurements (TID 1500): {len(rows)}" in first.stdout
    printed = [line for line in first.stdout.splitlines() if "SRK000" in line and " mm" in line]
    assert len(printed) == len(rows)
    assert first.stderr.splitlines()[-1].startswith("srkit demo: 4 studies made in ")
    # srkit import of the samples folder: every file is DICOM, exit 0
    other = tmp_path / "other.sqlite"
    imported = CliRunner().invoke(cli, ["import", str(folder), "--db", str(other)])
    assert imported.exit_code == 0, imported.stderr
    assert "32 files, 32 stored" in imported.stderr


def test_demo_dlp_plot_has_one_series_per_patient():
    from srkit.cli.demo import dlp_series

    doses = [
        {"patient_id": "SRK0002", "study_date": "20250123", "dlp_total": 410.0},
        {"patient_id": "SRK0001", "study_date": "20250106", "dlp_total": 380.5},
        {"patient_id": "SRK0001", "study_date": "20250301", "dlp_total": 395.0},
        {"patient_id": "SRK0003", "study_date": "20250209", "dlp_total": None},
    ]
    assert dlp_series(doses) == {
        "SRK0001": [("2025-01-06", 380.5), ("2025-03-01", 395.0)],
        "SRK0002": [("2025-01-23", 410.0)],
    }


def test_demo_plot_draws_no_line_across_patients(tmp_path):
    require_module("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from srkit.cli import demo

    made = make_samples(tmp_path / "s", studies=3)
    doses = []
    for m in made:
        report = dose_report(read(m.dose_report)).to_dict()
        doses.append(
            {
                "patient_id": m.patient_id,
                "study_date": str(pydicom.dcmread(m.dose_report).StudyDate),
                "dlp_total": report["accumulated"][0]["ct_dose_length_product_total"],
            }
        )
    lines = []
    real_plot = plt.Axes.plot

    def spy(ax, *args, **kwargs):
        lines.append((list(args[0]), kwargs.get("label")))
        return real_plot(ax, *args, **kwargs)

    plt.Axes.plot = spy  # type: ignore[method-assign]
    try:
        demo.plot_summary([], doses, tmp_path / "p.png")
    finally:
        plt.Axes.plot = real_plot  # type: ignore[method-assign]
    assert [label for _, label in lines] == [m.patient_id for m in made]
    assert all(len(xs) == 1 for xs, _ in lines)  # one exam each: markers, no line


def test_samples_are_deterministic_and_consistent(tmp_path):
    a = make_samples(tmp_path / "a", studies=2, seed=7)
    b = make_samples(tmp_path / "b", studies=2, seed=7)
    assert [s.study_instance_uid for s in a] == [s.study_instance_uid for s in b]
    assert a[0].measurement_report.read_bytes() == b[0].measurement_report.read_bytes()
    report = dose_report(read(a[0].dose_report)).to_dict()
    events = report["events"]
    total = report["accumulated"][0]["ct_dose_length_product_total"]
    assert abs(sum(e["ct_dose"]["dlp"] for e in events) - total) < 0.05
    ct = pydicom.dcmread(a[0].images[0])
    assert ct.StudyInstanceUID == a[0].study_instance_uid
    rows = measurement_rows(read(a[0].measurement_report))
    assert rows[0]["study_instance_uid"] == a[0].study_instance_uid
    assert rows[0]["source_sop_instance_uids"][0] in {
        pydicom.dcmread(p).SOPInstanceUID for p in a[0].images
    }


def test_samples_pass_dcmtk_and_dciodvfy(tmp_path):
    dsrdump = require_tool("dsrdump", "/usr/bin/dsrdump")
    dciodvfy = require_tool("dciodvfy", "/usr/bin/dciodvfy")
    study = make_samples(tmp_path, studies=1)[0]
    for path in (study.measurement_report, study.dose_report, study.images[0]):
        if path.name.startswith("CT"):
            proc = subprocess.run(
                [dciodvfy, str(path)], capture_output=True, text=True, check=False
            )
            assert "Error" not in proc.stderr + proc.stdout, proc.stderr
            continue
        dump = subprocess.run([dsrdump, str(path)], capture_output=True, text=True, check=False)
        assert dump.returncode == 0
        assert "E:" not in dump.stderr
        proc = subprocess.run([dciodvfy, str(path)], capture_output=True, text=True, check=False)
        errors = [
            line for line in (proc.stderr + proc.stdout).splitlines() if line.startswith("Error")
        ]
        assert errors == [], errors
