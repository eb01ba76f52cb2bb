"""Staged files owned by their process (flock), stale-only cleaning, large files indexed
from their header, and check_integrity() reporting and repairing storage problems."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from srkit.db import Database
from srkit.db.ingest import WHOLE_PARSE_MAX, parse_staged
from srkit.db.staging import InFlight, StagedFile, clean_stale, is_held, staging_dir
from srkit.db.storage import storage_path
from srkit.errors import SrkitError
from tests.bigdata import big_ct
from tests.conftest import data_path

CT = "ct/pydicom_CT_small.dcm"
HOUR_AGO = time.time() - 3600

_HOLDER = """
import sys, pathlib
from srkit.db.staging import StagedFile
staged = StagedFile(pathlib.Path(sys.argv[1]))
staged.write(b"partial data set")
staged.finish()
print(staged.path, flush=True)
if sys.argv[2] == "die":
    import os
    os._exit(0)  # dies without discarding: the file stays, unlocked
sys.stdin.read()  # holds the lock until the test closes stdin
staged.discard()
"""


def _staged_by_child(storage: Path, mode: str) -> tuple[Path, subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(storage), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    path = Path(proc.stdout.readline().strip())
    if mode == "die":
        proc.wait(30)
    return path, proc


def _fresh_ct(tmp_path: Path, name: str = "ct.dcm") -> tuple[Path, pydicom.Dataset]:
    ds = pydicom.dcmread(data_path(CT))
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    path = tmp_path / name
    ds.save_as(path, enforce_file_format=True)
    return path, ds


def test_staged_file_hash_size_lock_and_discard(tmp_path):
    chunks = [b"DICM" * 1000, b"\x00" * 70000, b"tail"]
    with StagedFile(tmp_path) as staged:
        for chunk in chunks:
            staged.write(chunk)
        staged.finish()
        assert staged.path.parent == staging_dir(tmp_path)
        assert staged.path.name.startswith(f"{os.getpid()}-")
        assert staged.size == sum(map(len, chunks)) == staged.path.stat().st_size
        assert staged.sha256 == hashlib.sha256(b"".join(chunks)).hexdigest()
        assert is_held(staged.path)  # another open file description cannot lock it
        path = staged.path
    assert not path.exists()  # never renamed: discarded on leaving the block

    def fail_midway() -> Path:
        with StagedFile(tmp_path) as staged:
            staged.write(b"x")
            failed.append(staged.path)
            raise RuntimeError("transfer failed")

    failed: list[Path] = []
    with pytest.raises(RuntimeError):
        fail_midway()
    assert not failed[0].exists()


@pytest.mark.parametrize("hashed", [True, False])
def test_write_all_keeps_order_hash_and_size_with_buffered_writes(tmp_path, hashed):
    """A data set held in memory is written with os.writev in one call; what write()
    buffered before goes first, and more than IOV_MAX parts take several calls."""
    data = bytes(range(256)) * 700
    view = memoryview(data)
    many = [view[k : k + 50] for k in range(0, 1500 * 50, 50)]  # 1500 parts > IOV_MAX
    parts = [b"head", bytearray(b"\x01\x02\x03"), b"", view[:70000], *many, b"end"]
    with StagedFile(tmp_path, hashed=hashed) as staged:
        staged.write(b"buffered first ")
        staged.write_all(parts)
        staged.write(b" then buffered")
        staged.finish()
        expected = b"buffered first " + b"".join(bytes(p) for p in parts) + b" then buffered"
        assert staged.path.read_bytes() == expected
        assert staged.size == len(expected)
        assert staged.sha256 == hashlib.sha256(expected).hexdigest()
        with pytest.raises(SrkitError, match="closed"):
            staged.write_all([b"after finish"])


def test_clean_stale_spares_files_held_by_a_live_process(tmp_path):
    live, holder = _staged_by_child(tmp_path, "hold")
    try:
        dead, _proc = _staged_by_child(tmp_path, "die")
        young, _proc = _staged_by_child(tmp_path, "die")
        assert is_held(live)
        assert not is_held(dead)
        for path in (live, dead):  # both untouched for an hour: only the lock differs
            os.utime(path, (HOUR_AGO, HOUR_AGO))
        assert clean_stale(tmp_path) == [dead]
        assert live.exists()
        assert not dead.exists()
        assert young.exists()  # unlocked, but too recent (it could be about to be locked)
        assert clean_stale(tmp_path, min_age=0.0) == [young]
        assert live.exists()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)
    assert not live.exists()  # its owner discarded it


def test_in_flight_cap():
    counter = InFlight(100)
    assert counter.reserve(60)
    assert not counter.reserve(41)  # refused, nothing counted
    assert counter.used == 60
    assert counter.reserve(40)
    counter.release(60)
    assert counter.used == 40
    assert InFlight(0).reserve(1 << 40)  # 0: no limit


def test_store_staged_indexes_a_large_file_from_its_header(tmp_path):
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    ct = big_ct(20)
    staged = db.stage()
    for chunk in ct.part10_chunks():
        staged.write(chunk)
    assert staged.size > WHOLE_PARSE_MAX
    assert db.store_staged(staged, calling_ae="BIG") == ct.sop_instance_uid
    assert staged.closed
    assert not staged.path.exists()
    path = db.instance_path(ct.sop_instance_uid)
    assert path is not None
    assert path.stat().st_size == ct.part10_size()
    row = db.instances(SOPInstanceUID=ct.sop_instance_uid, fields=["NumberOfFrames", "Rows"])
    assert (row[0]["NumberOfFrames"], row[0]["Rows"]) == (ct.frames, 512)
    assert not list(staging_dir(db.storage).iterdir())
    assert db.check_integrity() == []
    db.close()


def test_large_file_cut_short_is_rejected(tmp_path):
    ct = big_ct(20)
    cut = tmp_path / "cut.dcm"
    with open(cut, "wb") as out:
        for chunk in ct.part10_chunks():
            out.write(chunk)
        out.truncate(ct.part10_size() - 1000)
    with pytest.raises(SrkitError, match="Pixel Data cut short"):
        parse_staged(cut)
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    staged = db.stage()
    staged.write(cut.read_bytes())
    with pytest.raises(SrkitError, match="truncated"):
        db.store_staged(staged)
    assert not staged.path.exists()
    assert db.counts()["instances"] == 0
    db.close()


def test_small_file_record_matches_the_whole_parse(tmp_path):
    """Up to WHOLE_PARSE_MAX the staged file goes through parse_received (fast parser)."""
    from srkit.db.ingest import parse_received

    data = data_path(CT).read_bytes()
    (tmp_path / "ct.dcm").write_bytes(data)
    _ds, rec = parse_staged(tmp_path / "ct.dcm")
    _ds, expected = parse_received(data)
    assert rec == expected


def test_check_integrity_reports_and_repairs_storage(tmp_path):
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    kept, ds_kept = _fresh_ct(tmp_path, "kept.dcm")
    db.store_bytes(kept.read_bytes())
    assert db.check_integrity() == []
    # an acknowledged instance whose index row was lost: complete, in its place
    orphan_src, ds = _fresh_ct(tmp_path, "orphan.dcm")
    orphan = storage_path(db.storage, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(orphan_src.read_bytes())
    os.utime(orphan, (HOUR_AGO, HOUR_AGO))  # older than ORPHAN_MIN_AGE: judged
    # junk in the layout, a staged file of a dead process, a copy gone missing
    junk = db.storage / "1.2.3" / "4.5.6" / "7.8.9.dcm"
    junk.parent.mkdir(parents=True)
    junk.write_bytes(b"not dicom at all" * 10)
    os.utime(junk, (HOUR_AGO, HOUR_AGO))
    leftover, _proc = _staged_by_child(db.storage, "die")
    os.utime(leftover, (HOUR_AGO, HOUR_AGO))
    gone, ds_gone = _fresh_ct(tmp_path, "gone.dcm")
    db.store_bytes(gone.read_bytes())
    missing = db.instance_path(str(ds_gone.SOPInstanceUID))
    assert missing is not None
    missing.unlink()

    problems = db.check_integrity()
    assert len(problems) == 4, problems
    assert any(str(leftover) in p and "staged file" in p for p in problems)
    assert any(str(orphan) in p and "no instance references" in p for p in problems)
    assert any(str(junk) in p and "no instance references" in p for p in problems)
    assert any(str(missing) in p and "missing" in p for p in problems)
    assert leftover.exists()
    assert orphan.exists()

    repaired = db.check_integrity(repair=True)
    assert len(repaired) == 4
    assert any(str(leftover) in p and p.endswith("(removed)") for p in repaired)
    assert any(str(orphan) in p and p.endswith("(indexed)") for p in repaired)
    assert any(str(junk) in p and "moved to" in p for p in repaired)
    assert any(str(missing) in p and "removed from the index" in p for p in repaired)
    assert db.check_integrity() == []
    assert not leftover.exists()
    assert db.instance_path(str(ds.SOPInstanceUID)) == orphan  # indexed where it lies
    moved = db.storage / ".lost" / "1.2.3" / "4.5.6" / "7.8.9.dcm"
    assert moved.read_bytes() == b"not dicom at all" * 10  # moved aside, not deleted
    assert db.instance_path(str(ds_gone.SOPInstanceUID)) is None
    assert db.instance_path(str(ds_kept.SOPInstanceUID)) is not None
    db.close()


def test_legacy_part_file_beside_a_target_is_a_leftover(tmp_path):
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    old = db.storage / "1.2" / "3.4" / ".5.6.dcm.1a2b3c4d.part"  # as srkit <= 0.x wrote them
    old.parent.mkdir(parents=True)
    old.write_bytes(b"half")
    os.utime(old, (HOUR_AGO, HOUR_AGO))
    assert [p for p in db.check_integrity() if str(old) in p]
    assert db.check_integrity(repair=True)
    assert not old.exists()
    assert db.check_integrity() == []
    db.close()


def test_import_copy_cleans_only_stale_staged_files(tmp_path):
    """srkit import --copy (a process of its own) while another process holds a staged
    file: the held one stays, the one of a dead process goes."""
    url = str(tmp_path / "db.sqlite")
    storage = tmp_path / "db-storage"
    Database(url, storage=storage).close()
    live, holder = _staged_by_child(storage, "hold")
    try:
        dead, _proc = _staged_by_child(storage, "die")
        for path in (live, dead):
            os.utime(path, (HOUR_AGO, HOUR_AGO))
        src = tmp_path / "src"
        src.mkdir()
        _fresh_ct(src)
        run = subprocess.run(
            [sys.executable, "-m", "srkit.cli.main", "import", "--copy", str(src), "--db", url],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert live.exists()
        assert not dead.exists()
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)
    with Database(url, storage=storage) as db:
        assert db.counts()["instances"] == 1
        assert db.check_integrity() == []


def test_cli_check_repair(tmp_path):
    url = str(tmp_path / "db.sqlite")
    with Database(url) as db:
        storage = db.storage
        src, ds = _fresh_ct(tmp_path)
        orphan = storage_path(storage, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
        orphan.parent.mkdir(parents=True)
        orphan.write_bytes(src.read_bytes())
        os.utime(orphan, (HOUR_AGO, HOUR_AGO))

    def check(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "srkit.cli.main", "check", "--db", url, *extra],
            capture_output=True,
            text=True,
            timeout=120,
        )

    found = check()
    assert found.returncode == 1
    assert f"srkit: {orphan}: file in the storage folder that no instance references" in (
        found.stderr
    )
    mended = check("--repair")
    assert mended.returncode == 0, mended.stderr
    assert "(indexed)" in mended.stderr
    assert "1 problem(s), 0 remaining" in mended.stderr
    assert check().returncode == 0


def test_a_dropped_staged_file_is_discarded(tmp_path):
    import gc

    staged = StagedFile(tmp_path)
    staged.write(b"a request that is never served")
    path = staged.path
    assert is_held(path)
    del staged
    gc.collect()
    assert not path.exists()


def test_import_of_the_storage_folder_skips_staged_files(tmp_path):
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    src, _ds = _fresh_ct(tmp_path)
    with db.stage() as staged:  # a complete instance, not yet renamed into place
        staged.write(src.read_bytes())
        staged.finish()
        report = db.import_paths([db.storage], workers=1)
        assert (report.imported, report.rejected) == (0, [])
        assert staged.path.exists()
    assert db.counts()["instances"] == 0
    db.close()


def test_repair_on_a_live_archive_keeps_every_acknowledged_instance(tmp_path):
    """Review defect 2: a repair while stores go on must not move a file committed
    after it listed the index, nor one renamed into place before its commit."""
    import threading

    from srkit.db.integrity import storage_problems

    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    ds = pydicom.dcmread(data_path("sr-tid1500/highdicom_sr_document.dcm"))
    stored: list[str] = []
    stop = threading.Event()

    def store() -> None:
        for i in range(60):
            ds.SOPInstanceUID = generate_uid(
                prefix="1.2.826.0.1.3680043.10.511.8.", entropy_srcs=[f"live{i}"]
            )
            buf = io.BytesIO()
            ds.save_as(buf, enforce_file_format=True)
            stored.append(db.store(buf.getvalue()).sop_instance_uid)
        stop.set()

    worker = threading.Thread(target=store)
    worker.start()
    moved: list[str] = []
    while not stop.is_set():
        moved += [p for p in storage_problems(db, repair=True) if ".lost" in p]
    worker.join()
    assert moved == []
    assert sorted(r["SOPInstanceUID"] for r in db.instances()) == sorted(stored)
    assert not (tmp_path / "storage" / ".lost").exists()
    db.close()


def test_repair_leaves_conflicting_copies_alone(tmp_path):
    """Review defect 3: copies kept by keep-both-as-conflict are not orphans."""
    db = Database(
        tmp_path / "db.sqlite",
        storage=tmp_path / "storage",
        conflict_policy="keep-both-as-conflict",
    )
    ds = pydicom.dcmread(data_path("ct/pydicom_CT_small.dcm"))
    db.store(ds)
    ds.PatientName = "Other^Name"
    kept = db.store(ds)
    assert kept.status == "kept-as-conflict"
    assert kept.path is not None
    os.utime(kept.path, (HOUR_AGO, HOUR_AGO))
    assert not [p for p in db.check_integrity(repair=True) if "no instance references" in p]
    assert Path(kept.path).exists()
    db.close()
