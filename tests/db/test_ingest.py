# ruff: noqa: F811  (pytest fixtures imported from tests.db.fixtures)
"""Import of bad folders, copies into storage, removal, C-STORE-style storing, DICOMDIR."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from srkit.db import DuplicateInstanceError
from srkit.errors import SrkitError
from tests.conftest import data_path
from tests.db.fixtures import fresh_db, fresh_url  # noqa: F401

CT = "ct/pydicom_CT_small.dcm"
CT_UID = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"


def _bad_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(data_path(CT), folder / "good.dcm")
    shutil.copy(data_path("sr-tid1500/highdicom_sr_document.dcm"), folder / "sr.dcm")
    (folder / "garbage.bin").write_bytes(b"\x00\x01garbage" * 50)
    (folder / "empty.dcm").write_bytes(b"")
    data = data_path(CT).read_bytes()
    (folder / "truncated.dcm").write_bytes(data[: len(data) // 2])
    (folder / "header_only.dcm").write_bytes(data[:200])
    shutil.copy(data_path(CT), folder / "same_bytes_again.dcm")
    ds = pydicom.dcmread(data_path(CT))
    ds.PatientName = "Changed^Content"
    ds.save_as(folder / "zz_duplicate_uid.dcm")
    return folder


def test_bad_folder_reports_each_file_and_imports_the_rest(fresh_db, tmp_path):
    report = fresh_db.import_paths([_bad_folder(tmp_path), tmp_path / "missing"], workers=1)
    rejected = {Path(p).name: reason for p, reason in report.rejected}
    assert set(rejected) == {
        "garbage.bin",
        "empty.dcm",
        "truncated.dcm",
        "header_only.dcm",
        "missing",
    }
    assert "truncated" in rejected["truncated.dcm"]
    assert "no such file" in rejected["missing"]
    assert [Path(p).name for p, _ in report.conflicts] == ["zz_duplicate_uid.dcm"]
    assert CT_UID in report.conflicts[0][1]
    assert report.imported == 2
    assert report.skipped == 1
    assert fresh_db.counts()["instances"] == 2
    assert fresh_db.counts()["measurements"] == 1
    # the first file with the UID stays indexed
    assert fresh_db.instances(SOPInstanceUID=CT_UID)[0]["PatientName"] == "CompressedSamples^CT1"
    # the refused file is a recorded conflict, and check_integrity says so
    [conflict] = fresh_db.conflicts()
    assert (conflict["kind"], conflict["resolution"]) == ("instance-content", "refused")
    assert conflict["sop_instance_uid"] == CT_UID
    assert fresh_db.check_integrity() == [
        "1 conflicts of kind instance-content recorded (srkit ls conflicts)"
    ]


def test_on_error_raise_names_the_file(fresh_db, tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "a.txt").write_text("hello")
    with pytest.raises(SrkitError, match=r"a\.txt"):
        fresh_db.import_paths([folder], on_error="raise", workers=1)
    with pytest.raises(SrkitError, match="on_error"):
        fresh_db.import_paths([folder], on_error="ignore")


def test_copy_into_storage_and_remove(fresh_db, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(data_path("ct/pydicom_CT2"), src)
    report = fresh_db.import_paths([src], copy=True, workers=1)
    assert report.imported == 4
    series = fresh_db.series(Modality="CT")[0]
    paths = fresh_db.instance_paths("SERIES", series["SeriesInstanceUID"])
    assert len(paths) == 4
    for p in paths:
        assert p.is_relative_to(fresh_db.storage)
        assert p.parent.name == series["SeriesInstanceUID"]
        assert p.parent.parent.name == series["StudyInstanceUID"]
    assert fresh_db.import_paths([src], copy=True, workers=1).skipped == 4
    # removing without delete_files keeps the copies; with it, copies go, originals stay
    one = fresh_db.instances()[0]["SOPInstanceUID"]
    kept = fresh_db.instance_path(one)
    assert fresh_db.remove("IMAGE", one) == 1
    assert kept.exists()
    assert fresh_db.instance_path(one) is None
    assert fresh_db.remove("SERIES", series["SeriesInstanceUID"], delete_files=True) == 3
    assert not any(p.exists() for p in paths if p != kept)
    assert sorted(f.name for f in src.iterdir()) == [
        "17106.dcm",
        "17136.dcm",
        "17166.dcm",
        "17196.dcm",
    ]
    assert fresh_db.counts()["studies"] == 0
    assert fresh_db.counts()["patients"] == 0
    assert fresh_db.remove("STUDY", "1.2.3") == 0


def test_remove_never_deletes_files_imported_in_place(fresh_db, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(data_path("sr-tid1500"), src)
    fresh_db.import_paths([src], workers=1)
    assert fresh_db.counts()["measurements"] == 36
    for study in fresh_db.studies():
        fresh_db.remove("STUDY", study["StudyInstanceUID"], delete_files=True)
    assert len(list(src.iterdir())) == 5
    counts = fresh_db.counts()
    assert all(v == 0 for v in counts.values()), counts
    assert fresh_db.check_integrity() == []


def test_moved_folder_updates_paths(fresh_db, tmp_path):
    src = tmp_path / "a"
    shutil.copytree(data_path("ct/dcmqi_23x38x3"), src)
    fresh_db.import_paths([src], workers=1)
    moved = src.rename(tmp_path / "b")
    report = fresh_db.import_paths([moved], workers=1)
    assert (report.updated, report.imported) == (3, 0)
    assert all(
        p.parent == moved
        for p in fresh_db.instance_paths("SERIES", fresh_db.series()[0]["SeriesInstanceUID"])
    )


def test_store_dataset(fresh_db):
    ds = pydicom.dcmread(data_path("sr-tid1500/highdicom_sr_document.dcm"))
    uid = fresh_db.store_dataset(ds, calling_ae="MODALITY")
    path = fresh_db.instance_path(uid)
    assert path.is_relative_to(fresh_db.storage)
    assert path.exists()
    assert pydicom.dcmread(path).SOPInstanceUID == uid
    assert fresh_db.counts()["measurements"] == 1
    assert fresh_db.store_dataset(ds) == uid  # the same again: nothing changes
    assert fresh_db.counts()["instances"] == 1
    changed = pydicom.dcmread(data_path("sr-tid1500/highdicom_sr_document.dcm"))
    changed.PatientName = "Other^Name"
    with pytest.raises(DuplicateInstanceError):
        fresh_db.store_dataset(changed)
    assert pydicom.dcmread(path).PatientName != "Other^Name"


@pytest.mark.parametrize(
    ("attr", "value"),
    [
        ("SOPInstanceUID", "../../x"),
        ("StudyInstanceUID", "../../../etc"),
        ("SeriesInstanceUID", "1.2/../../3"),
        ("SOPInstanceUID", ""),
    ],
)
def test_store_dataset_rejects_unsafe_uids(fresh_db, attr, value):
    ds = pydicom.dcmread(data_path(CT))
    setattr(ds, attr, value)
    with pytest.raises(SrkitError, match="invalid"):
        fresh_db.store_dataset(ds)
    assert fresh_db.counts()["instances"] == 0
    files = [p for p in fresh_db.storage.parent.rglob("*") if p.is_file()]
    assert all(p.suffix != ".dcm" for p in files)


def test_store_dataset_failure_leaves_nothing(fresh_db, monkeypatch):
    import srkit.db.store as store

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "file_instance", broken)  # the one filing routine
    with pytest.raises(SrkitError, match="disk on fire"):
        fresh_db.store_dataset(pydicom.dcmread(data_path(CT)))
    with pytest.raises(SrkitError, match="disk on fire"):
        fresh_db.store_bytes(data_path(CT).read_bytes())
    assert not [p for p in fresh_db.storage.rglob("*") if p.is_file()]
    assert fresh_db.counts() == dict.fromkeys(fresh_db.counts(), 0)


def test_dicomdir(fresh_db, tmp_path):
    from pydicom.fileset import FileSet

    fs = FileSet()
    for path in sorted(data_path("ct/pydicom_CT2").glob("*.dcm")):
        fs.add(pydicom.dcmread(path))
    fs.write(tmp_path / "media")
    fs._stage["t"].cleanup()  # pydicom's staging folder, else a ResourceWarning at exit
    dicomdir = tmp_path / "media" / "DICOMDIR"
    report = fresh_db.import_paths([dicomdir], workers=1)
    assert (report.imported, report.rejected) == (4, [])
    again = fresh_db.import_paths([tmp_path / "media"], workers=1)  # folder: DICOMDIR + files
    assert (again.imported, again.skipped, again.rejected) == (0, 4, [])


def test_fresh_uids_parallel_import(fresh_db, tmp_path):
    """A pool import (more files than the in-process threshold) gets every file."""
    src = data_path("ct/dcmqi_23x38x3/IMG0001.dcm")
    out = tmp_path / "many"
    out.mkdir()
    study = generate_uid()
    for n in range(60):
        ds = pydicom.dcmread(src)
        ds.StudyInstanceUID = study
        ds.SOPInstanceUID = generate_uid()
        ds.InstanceNumber = n + 1
        ds.save_as(out / f"{n:03d}.dcm")
    report = fresh_db.import_paths([out], workers=2)
    assert report.imported == 60
    assert fresh_db.studies(StudyInstanceUID=study)[0]["NumberOfStudyRelatedInstances"] == 60


def test_store_bytes_keeps_the_bytes(fresh_db):
    """The received bytes go to disk unchanged and are indexed from srkit's parser."""
    data = data_path(CT).read_bytes()
    assert fresh_db.store_bytes(data, calling_ae="MODALITY") == CT_UID
    path = fresh_db.instance_path(CT_UID)
    assert path.is_relative_to(fresh_db.storage)
    assert path.read_bytes() == data
    [row] = fresh_db.instances(SOPInstanceUID=CT_UID)
    # values as dcmdump prints them for pydicom_CT_small.dcm
    assert row["PatientName"] == "CompressedSamples^CT1"
    assert (row["Rows"], row["Columns"], row["InstanceNumber"]) == (128, 128, 1)
    assert row["Modality"] == "CT"
    assert row["TransferSyntaxUID"] == "1.2.840.10008.1.2.1"
    assert fresh_db.store_bytes(data) == CT_UID  # the same bytes again: nothing changes
    assert fresh_db.counts()["instances"] == 1
    ds = pydicom.dcmread(data_path(CT))
    ds.PatientName = "Other^Name"
    changed = io.BytesIO()
    ds.save_as(changed, enforce_file_format=True)
    with pytest.raises(DuplicateInstanceError):
        fresh_db.store_bytes(changed.getvalue())
    assert path.read_bytes() == data


def test_store_bytes_sr_content(fresh_db):
    data = data_path("sr-tid1500/highdicom_sr_document.dcm").read_bytes()
    uid = fresh_db.store_bytes(data)
    assert uid == str(
        pydicom.dcmread(data_path("sr-tid1500/highdicom_sr_document.dcm")).SOPInstanceUID
    )
    counts = fresh_db.counts()
    assert (counts["sr_documents"], counts["measurements"]) == (1, 1)
    [doc] = fresh_db.sr_documents()
    assert doc["kind"] == "measurement_report"


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (lambda b: b[:-3000], "truncated"),
        (lambda b: b"not a DICOM file at all" * 10, "not a DICOM file"),
        (lambda b: b[:200], "no data elements"),
    ],
)
def test_store_bytes_bad_input(fresh_db, cut, message):
    data = cut(data_path(CT).read_bytes())
    with pytest.raises(SrkitError, match=message):
        fresh_db.store_bytes(data)
    assert fresh_db.counts()["instances"] == 0
    assert not [p for p in fresh_db.storage.rglob("*") if p.is_file()]


def test_store_bytes_rejects_unsafe_uids(fresh_db):
    ds = pydicom.dcmread(data_path(CT))
    ds.SeriesInstanceUID = "1.2/../../3"
    data = io.BytesIO()
    ds.save_as(data, enforce_file_format=True)
    with pytest.raises(SrkitError, match="invalid Series Instance UID"):
        fresh_db.store_bytes(data.getvalue())
    assert fresh_db.counts()["instances"] == 0
    assert not fresh_db.storage.exists() or not any(fresh_db.storage.rglob("*.dcm"))


def test_store_bytes_concurrent_same_uid(fresh_db):
    """Threads storing one SOP Instance UID (two contents): one row, one file, and the
    file holds the content of the row."""
    from concurrent.futures import ThreadPoolExecutor

    first = data_path(CT).read_bytes()
    ds = pydicom.dcmread(data_path(CT))
    ds.PatientName = "Other^Name"
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    second = buf.getvalue()

    def store(data: bytes) -> str:
        try:
            return fresh_db.store_bytes(data)
        except DuplicateInstanceError:
            return "duplicate"

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(store, [first, second] * 4))
    assert results.count(CT_UID) >= 1
    assert set(results) <= {CT_UID, "duplicate"}
    assert fresh_db.counts()["instances"] == 1
    stored = fresh_db.instance_path(CT_UID).read_bytes()
    [row] = fresh_db.instances(SOPInstanceUID=CT_UID)
    assert stored in (first, second)
    assert row["PatientName"] == str(pydicom.dcmread(io.BytesIO(stored)).PatientName)
    assert len(list(fresh_db.storage.rglob("*.dcm"))) == 1
