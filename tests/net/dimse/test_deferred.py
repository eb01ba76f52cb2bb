"""The deferred index of the listener (srkit.db.inbox, ``srkit listen --index
deferred``): DCMTK storescu sends, the answers come before the index, and what ends in
the database is what the immediate index makes of the same files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest

from srkit.db import Database
from tests.conftest import data_files, require_tool, skip_or_fail
from tests.db.test_identity import _changed, _header
from tests.net.dimse.archive import Archive, acknowledged, dcmtk, sample_files
from tests.net.dimse.listeners import Listener
from tests.peers import fresh_copies, peer_env

pytestmark = pytest.mark.peers

_VOLATILE = {"path", "stored_at", "pk", "instance_pk", "series_pk", "study_pk", "patient_pk"}


def _mixed_files():
    """The sample CT series and TID 1500 reports, vendor dose SRs and MR images."""
    return [*sample_files(), *sorted(data_files("rdsr/*.dcm")), *sorted(data_files("mr/*/*.dcm"))]


def _send(archive: Archive, files, *extra: str) -> subprocess.CompletedProcess[str]:
    storescu = require_tool("storescu", "/usr/bin/storescu")
    return subprocess.run(
        [storescu, "-v", "-R", *extra, "-aec", archive.aet, "127.0.0.1", str(archive.port)]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        env=peer_env(),
        timeout=120,
    )


def _rows(db: Database) -> list[dict]:
    rows = db.instances()
    return sorted(
        ({k: v for k, v in r.items() if k not in _VOLATILE} for r in rows),
        key=lambda r: r["SOPInstanceUID"],
    )


def test_deferred_index_ends_as_the_immediate_one_and_find_sees_it(tmp_path):
    files = _mixed_files()
    assert len(files) >= 20
    immediate = Archive(tmp_path / "immediate")
    deferred = Archive(tmp_path / "deferred", deferred=True)
    try:
        run = _send(immediate, files)
        assert run.returncode == 0, run.stderr
        run = _send(deferred, files)
        assert run.returncode == 0, run.stderr
        ok, other = acknowledged(run.stderr)
        assert len(ok) == len(files)
        assert other == []
        # C-FIND right after the last answer: the listener waits for the indexer
        find = dcmtk(
            "findscu", "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID",
            "-aec", deferred.aet, "127.0.0.1", str(deferred.port),
        )  # fmt: skip
        assert find.returncode == 0, find.stderr
        studies = {s["StudyInstanceUID"] for s in immediate.db.studies()}
        assert find.stderr.count("Find Response:") == len(studies)
        assert deferred.inbox is not None
        assert deferred.inbox.settle(30)
        assert deferred.inbox.pending() == []
        assert deferred.inbox.rejected_files() == []
        assert _rows(deferred.db) == _rows(immediate.db)
        for path in files:
            uid = str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)
            one = immediate.db.instance_path(uid)
            two = deferred.db.instance_path(uid)
            assert one is not None
            assert two is not None
            assert one.read_bytes() == two.read_bytes()
            assert two.is_relative_to(deferred.db.storage)
        assert deferred.db.check_integrity() == []
        # the calling AE title is the sender's, as with the immediate index
        [row] = deferred.db.instances(SOPInstanceUID=uid)
        assert row == immediate.db.instances(SOPInstanceUID=uid)[0] | {
            k: row[k] for k in _VOLATILE if k in row
        }
    finally:
        immediate.close()
        deferred.close()


def test_a_known_uid_with_other_content_still_gets_0111(tmp_path):
    """The second copy comes while the first may still be pending: it waits for the
    indexer, then is stored the immediate way (a duplicate: success), and the third,
    with other content, is refused with 0x0111 as without the inbox."""
    from pynetdicom import AE

    first, second = _changed(tmp_path / "dup")
    arch = Archive(tmp_path / "arch", deferred=True)
    try:
        ae = AE(ae_title="SENDER")
        ae.add_requested_context(_header(first).SOPClassUID)
        assoc = ae.associate("127.0.0.1", arch.port, ae_title="SRKIT")
        assert assoc.is_established
        try:
            statuses = [
                int(assoc.send_c_store(pydicom.dcmread(p)).Status) for p in (first, first, second)
            ]
        finally:
            assoc.release()
        assert statuses == [0x0000, 0x0000, 0x0111]
        [conflict] = arch.db.conflicts()
        assert (conflict["calling_ae"], conflict["resolution"]) == ("SENDER", "refused")
        uid = str(_header(first).SOPInstanceUID)
        kept = pydicom.dcmread(arch.db.instance_path(uid), stop_before_pixels=True)
        assert "SeriesDescription" not in kept  # the first copy, not the edited one
        assert arch.inbox.pending() == []
    finally:
        arch.close()


@pytest.mark.parametrize("direct", [None, False], ids=["unnamed-file", "staged"])
def test_both_ways_into_the_inbox_keep_the_bytes(tmp_path, direct):
    """A data set received in memory goes straight into the inbox as an unnamed file
    where the file system can (no staged file is made), else staged first; both end
    as the same files and rows."""
    files = sorted(data_files("ct/pydicom_CT2/*.dcm"))
    assert len(files) >= 3
    arch = Archive(tmp_path / "arch", deferred=True, direct=direct)
    try:
        assert arch.inbox is not None
        if direct is None and not arch.inbox.writes_directly():
            skip_or_fail("this file system has no O_TMPFILE")
        run = _send(arch, files)
        assert run.returncode == 0, run.stderr
        ok, other = acknowledged(run.stderr)
        assert (len(ok), other) == (len(files), [])
        assert arch.inbox is not None
        assert arch.inbox.settle(30)
        assert arch.inbox.pending() == []
        staging = arch.db.storage / ".staging"
        if direct is None:
            assert not staging.exists()  # never needed one
        if direct is False:
            assert staging.is_dir()  # each data set was staged, then linked
        for path in files:
            uid = str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)
            stored = arch.db.instance_path(uid)
            assert stored is not None
            sent = pydicom.dcmread(path)
            kept = pydicom.dcmread(stored)
            assert kept.PatientName == sent.PatientName
            assert kept.PixelData == sent.PixelData
            assert kept.file_meta.SourceApplicationEntityTitle == "STORESCU"
        assert arch.db.check_integrity() == []
        assert not staging.exists() or list(staging.iterdir()) == []
        if direct is None:  # after the last answer: spares made ahead, holding zeros
            # (by the thread after data sets of like sizes) or empty (made by the receiver)
            assert arch.inbox.spares.wait_ready(1, 10)
            held = arch.inbox.spares.held()
            sizes = [os.fstat(fd).st_size for fd in held]
            stored = {  # each spare as large as a data set before it, or empty
                arch.db.instance_path(str(_header(path).SOPInstanceUID)).stat().st_size
                for path in files
            }
            assert set(sizes) <= stored | {0}, (sizes, stored)  # 0: sizes unlike
            for fd, size in zip(held, sizes, strict=True):  # write-only: read through /proc
                assert Path(f"/proc/self/fd/{fd}").read_bytes() == bytes(size)
    finally:
        arch.close()


@pytest.mark.parametrize(("workers", "indexers"), [(2, 1), (1, 3)])
def test_listen_index_deferred_runs_indexer_processes(tmp_path, workers, indexers):
    """``srkit listen --index deferred --workers W --indexers N``: W workers and N
    indexers; what storescu sent is indexed once each (several indexers never take
    the same file: nothing set aside, no duplicate rows); after SIGTERM nothing is
    left in the inbox."""
    files = sample_files()
    if indexers > 1:  # enough files for the indexers to meet on the same ones
        files += fresh_copies(data_files("ct/pydicom_CT2/*.dcm"), 120, tmp_path / "copies")
    storescu = require_tool("storescu", "/usr/bin/storescu")
    listener = Listener(
        tmp_path,
        "--index",
        "deferred",
        "--workers",
        str(workers),
        "--indexers",
        str(indexers),
    )
    try:
        pids = listener.ready(workers + indexers)
        assert len(pids) == workers + indexers
        run = subprocess.run(
            [storescu, "-R", "-aec", "SRKIT", "127.0.0.1", str(listener.port), *map(str, files)],
            capture_output=True,
            text=True,
            env=peer_env(),
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        db = Database(listener.db_path)
        deadline = time.monotonic() + 30
        while len(db.instances()) < len(files):
            assert time.monotonic() < deadline, listener.stderr()
            time.sleep(0.05)
        rows = [r["SOPInstanceUID"] for r in db.instances()]
        assert sorted(rows) == sorted(
            str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files
        )
        db.close()
    finally:
        assert listener.stop(signal.SIGTERM) == 0, listener.stderr()
    plural = "s" if indexers > 1 else ""
    assert f"deferred index ({indexers} indexer{plural})" in listener.stderr()
    inbox = tmp_path / "listen-storage" / ".inbox"
    assert not inbox.exists() or not any(inbox.glob("*.dcm"))
    rejected = tmp_path / "listen-storage" / ".rejected"
    assert not rejected.exists() or not any(rejected.iterdir())


def test_files_left_in_the_inbox_are_indexed_when_a_listener_starts(tmp_path):
    """A deferred listener killed before its indexer ran leaves acknowledged files in
    the inbox; the next listener (immediate here) indexes them before it serves."""
    from srkit.db.inbox import Inbox
    from srkit.db.staging import StagedFile

    files = sorted(data_files("ct/pydicom_CT2/*.dcm"))
    db = Database(tmp_path / "listen.sqlite")
    inbox = Inbox(db.storage)
    for path in files:
        staged = StagedFile.from_bytes(db.storage, path.read_bytes())
        uid = str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)
        assert inbox.deposit(staged, uid)
        staged.close()
    db.close()
    assert len(inbox.pending()) == len(files)
    listener = Listener(tmp_path, "--workers", "1")
    try:
        listener.ready(0)
        deadline = time.monotonic() + 30
        while "listening on" not in listener.stderr():  # serving: its signal handlers are set
            assert time.monotonic() < deadline, listener.stderr()
            time.sleep(0.05)
    finally:
        listener.stop()
    assert f"indexed {len(files)} instance(s) left in" in listener.stderr()
    db = Database(tmp_path / "listen.sqlite")
    try:
        assert len(db.instances()) == len(files)
        assert inbox.pending() == []
        ls = [sys.executable, "-m", "srkit.cli.main", "ls", "instances"]
        out = subprocess.run(
            [*ls, "--db", str(tmp_path / "listen.sqlite"), "--format", "json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert len(json.loads(out)) == len(files)
    finally:
        db.close()
