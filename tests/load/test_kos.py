"""The Key Object Selection plugin: key images, found and absent."""

from __future__ import annotations

import json

import pydicom
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.load import examine, load
from tests.conftest import data_files, data_path


def test_nist_manifest_key_images_absent_are_named():
    path = data_path("kos/nist_IDS-DEPT003-a_kos.dcm")
    (item,) = examine([path])
    assert item.plugin == "kos"
    assert item.selected
    assert item.warning_codes == ("referenced_instances_absent",)
    assert item.warnings[0].measured["absent"][0] == "1.3.6.1.4.1.21367.201599.3.201604020955010.9"
    keys = load(item)
    assert keys.title == "Manifest"
    assert len(keys.images) == 20
    assert {im["series_instance_uid"] for im in keys.images} == {
        "1.3.6.1.4.1.21367.201599.2.201604020955010",
        "1.3.6.1.4.1.21367.201599.2.201604020955010.11",
    }


def _kos_on_ct(tmp_path):
    """The NIST manifest, pointed at the shared 3-slice CT (first three items kept)."""
    ct = [
        pydicom.dcmread(f, stop_before_pixels=True) for f in data_files("ct/dcmqi_ct-3slice/*.dcm")
    ]
    ds = pydicom.dcmread(data_path("kos/nist_IDS-DEPT003-a_kos.dcm"))
    ds.ContentSequence = ds.ContentSequence[:3]
    for item, image in zip(ds.ContentSequence, ct):
        ref = item.ReferencedSOPSequence[0]
        ref.ReferencedSOPInstanceUID = image.SOPInstanceUID
    study = ds.CurrentRequestedProcedureEvidenceSequence[0]
    study.StudyInstanceUID = ct[0].StudyInstanceUID
    series = study.ReferencedSeriesSequence[0]
    study.ReferencedSeriesSequence = [series]
    series.SeriesInstanceUID = ct[0].SeriesInstanceUID
    series.ReferencedSOPSequence = series.ReferencedSOPSequence[:3]
    for ref, image in zip(series.ReferencedSOPSequence, ct):
        ref.ReferencedSOPInstanceUID = image.SOPInstanceUID
    path = tmp_path / "kos.dcm"
    ds.save_as(path)
    return path, ct


def test_kos_with_its_images(tmp_path):
    path, ct = _kos_on_ct(tmp_path)
    files = [path, *data_files("ct/dcmqi_ct-3slice/*.dcm")]
    found = examine(files)
    kos = next(x for x in found if x.plugin == "kos")
    assert kos.warnings == ()
    assert sorted(kos.extra["referenced_files"]) == sorted(str(f) for f in files[1:])
    keys = load(kos)
    assert [im["sop_instance_uid"] for im in keys.images] == [d.SOPInstanceUID for d in ct]
    assert all(im["series_instance_uid"] == ct[0].SeriesInstanceUID for im in keys.images)
    out = tmp_path / "keys.nii.gz"
    result = CliRunner().invoke(cli, ["load", str(path), "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "keys.json").read_text())
    assert len(doc["images"]) == 3
