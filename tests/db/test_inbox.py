"""The deferred index's inbox (srkit.db.inbox): what the indexer takes, files, keeps
aside, and how a receiver reads the UIDs it checks (srkit.db.header.sop_uids)."""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import sqlite3
import struct
import threading
import time
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srkit.db import Database
from srkit.db.header import sop_uids
from srkit.db.inbox import PREFILL_MAX, Inbox, inbox_key
from srkit.db.staging import StagedFile
from tests.conftest import data_files, data_path, skip_or_fail
from tests.db.fixtures import fresh_url  # noqa: F401 (a fixture)
from tests.forking import in_child

CT = data_path("ct/pydicom_CT_small.dcm")


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    yield database
    database.close()


def _uid(path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def _deposit(db, data: bytes, uid: str) -> Inbox:
    inbox = Inbox(db.storage)
    staged = StagedFile.from_bytes(db.storage, data, hashed=False)
    assert inbox.deposit(staged, uid)
    staged.close()
    return inbox


def test_an_unhashed_staged_file_hashes_itself_when_asked(tmp_path):
    data = CT.read_bytes()
    staged = StagedFile.from_bytes(tmp_path, data, hashed=False)
    try:
        assert staged.sha256 == hashlib.sha256(data).hexdigest()
        assert staged.size == len(data)
    finally:
        staged.discard()


def test_indexing_files_the_instance_as_the_immediate_store_does(db, tmp_path):
    data = CT.read_bytes()
    uid = _uid(CT)
    inbox = _deposit(db, data, uid)
    assert inbox.path_of(uid).name == f"{inbox_key(uid)}.dcm"
    [pending] = inbox.pending()
    result = inbox.index_file(db, pending)
    assert result is not None
    assert result.status == "stored"
    assert result.record["instance"]["sop_instance_uid"] == uid
    assert inbox.pending() == []
    assert db.is_stored(uid)
    assert db.instance_path(uid).read_bytes() == data
    [row] = db.instances(SOPInstanceUID=uid)
    assert row["PatientName"] == "CompressedSamples^CT1"
    other = Database(tmp_path / "other.sqlite", storage=tmp_path / "other")
    try:
        other.store_bytes(data)
        [expected] = other.instances(SOPInstanceUID=uid)
    finally:
        other.close()
    assert {k: v for k, v in row.items() if "path" not in k and "pk" not in k} == {
        k: v for k, v in expected.items() if "path" not in k and "pk" not in k
    }


def test_one_name_per_uid_and_a_held_file_waits(db):
    data = CT.read_bytes()
    uid = _uid(CT)
    inbox = Inbox(db.storage)
    staged = StagedFile.from_bytes(db.storage, data, hashed=False)
    assert inbox.deposit(staged, uid)
    second = StagedFile.from_bytes(db.storage, data, hashed=False)
    try:
        assert not inbox.deposit(second, uid)  # pending already
    finally:
        second.discard()
    # the receiver still holds the lock (not answered yet): the indexer leaves it
    assert inbox.index_file(db, inbox.path_of(uid)) is None
    assert not db.is_stored(uid)
    inbox.withdraw(staged, uid)  # the receiver takes it back (a known UID, say)
    assert inbox.pending() == []
    assert staged.path.read_bytes() == data
    staged.discard()


def test_an_undecodable_data_set_is_kept_aside_with_its_reason(db):
    data = CT.read_bytes()
    cut = data[: len(data) - 1000]  # Pixel Data cut short: the UIDs read fine
    uid = _uid(CT)
    inbox = _deposit(db, cut, uid)
    result = inbox.index_file(db, inbox.path_of(uid))
    assert result is not None
    assert result.status == "rejected"
    assert "truncated" in result.reason or "cut short" in result.reason
    [kept] = inbox.rejected_files()
    assert kept.read_bytes() == cut  # nothing lost
    assert result.reason in kept.with_suffix(".txt").read_text()
    assert inbox.pending() == []
    assert not db.is_stored(uid)


def test_a_uid_stored_meanwhile_with_other_content_keeps_ours_aside(db):
    data = CT.read_bytes()
    uid = _uid(CT)
    ds = pydicom.dcmread(CT)
    ds.SeriesDescription = "another copy"
    inbox = _deposit(db, data, uid)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    assert db.store_outcome(*_record(buf.getvalue())).status == "stored"  # another writer
    result = inbox.index_file(db, inbox.path_of(uid))
    assert result is not None
    assert result.status == "rejected"
    assert result.reason == "stored meanwhile with other content"
    [kept] = inbox.rejected_files()
    assert kept.read_bytes() == data
    [conflict] = db.conflicts()
    assert conflict["resolution"] == "refused"


def _record(data: bytes):
    from srkit.db.ingest import parse_received

    _ds, rec = parse_received(data)
    return rec, data


def test_a_duplicate_with_the_same_bytes_leaves_nothing_behind(db):
    data = CT.read_bytes()
    uid = _uid(CT)
    db.store_bytes(data)
    inbox = _deposit(db, data, uid)
    result = inbox.index_file(db, inbox.path_of(uid))
    assert result is not None
    assert result.status == "duplicate"
    assert result.record is None  # no dose alerts for a duplicate
    assert inbox.pending() == []
    assert inbox.rejected_files() == []
    assert sorted(p.name for p in inbox.folder.iterdir()) == []


def test_settle_waits_only_for_files_written_before(db):
    inbox = _deposit(db, CT.read_bytes(), _uid(CT))
    assert not inbox.settle(0.05)  # acknowledged, not indexed yet
    assert inbox.settle(0.05, since=0.0)  # nothing written before 1970
    inbox.index_pending(db)
    assert inbox.settle(0.05)


def _data_set(path) -> tuple[bytes, bool]:
    raw = path.read_bytes()
    assert raw[128:132] == b"DICM"
    (length,) = struct.unpack_from("<I", raw, 140)
    syntax = str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
    return raw[144 + length :], syntax == "1.2.840.10008.1.2"


def _native(path) -> bool:
    """Whether ``path`` is in a little endian native transfer syntax (the receiver
    reads only those with :func:`sop_uids`; the immediate way reads the others)."""
    syntax = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
    return not syntax.is_deflated and syntax.is_little_endian


_UID_FILES = [
    *data_files("ct/*/*.dcm")[:3],
    *data_files("rdsr/*.dcm"),
    *data_files("sr-tid1500/*.dcm"),
]


def test_the_uid_test_has_real_files_to_read():
    assert sum(map(_native, _UID_FILES)) >= 10  # the test below cannot run on nothing


@pytest.mark.parametrize("path", [p for p in _UID_FILES if _native(p)], ids=lambda p: p.name)
def test_sop_uids_are_the_files_own(path):
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    body, implicit = _data_set(path)
    found = sop_uids(body[: 1 << 16], implicit)
    assert found == (str(ds.SOPClassUID), str(ds.SOPInstanceUID))
    assert sop_uids(body[:40], implicit) is None  # cut before them: the whole parse decides


def test_a_lock_from_another_process_is_respected(db):
    """The indexer's lock test is an flock on the inode: a descriptor in another
    process (the receiver) keeps the file from being taken."""
    data = CT.read_bytes()
    uid = _uid(CT)
    inbox = _deposit(db, data, uid)
    path = inbox.path_of(uid)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child holds the lock, then exits
        fd = os.open(path, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        time.sleep(1.0)
        os._exit(0)
    time.sleep(0.3)
    assert inbox.index_file(db, path) is None
    os.waitpid(pid, 0)
    result = inbox.index_file(db, path)
    assert result is not None
    assert result.status == "stored"


def test_check_reports_the_inbox_and_repair_indexes_it(db):
    data = CT.read_bytes()
    uid = _uid(CT)
    inbox = _deposit(db, data, uid)
    path = inbox.path_of(uid)
    os.utime(path, (time.time() - 3600, time.time() - 3600))  # no indexer ran for an hour
    [line] = db.check_integrity()
    assert line == f"{path}: acknowledged by a deferred listener, not indexed yet"
    [line] = db.check_integrity(repair=True)
    assert line.endswith("not indexed yet (stored)")
    assert db.is_stored(uid)
    assert db.check_integrity() == []
    cut = _deposit(db, data[:-1000], "1.2.3.4")
    cut.index_pending(db)
    [line] = db.check_integrity()
    assert ": set aside by the deferred index: " in line
    assert line.endswith("(kept)")


def _copy_with_uid(uid: str) -> bytes:
    ds = pydicom.dcmread(CT)
    ds.SOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPInstanceUID = uid
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def test_pending_with_a_minimum_age_leaves_fresh_files(db):
    old_uid, new_uid = "1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.2"
    inbox = _deposit(db, _copy_with_uid(old_uid), old_uid)
    _deposit(db, _copy_with_uid(new_uid), new_uid)
    hour_ago = time.time() - 3600
    os.utime(inbox.path_of(old_uid), (hour_ago, hour_ago))
    assert inbox.pending() == [inbox.path_of(old_uid), inbox.path_of(new_uid)]  # oldest first
    assert inbox.pending(min_age=60) == [inbox.path_of(old_uid)]


def test_one_lead_indexer_at_a_time(db):
    first, second = Inbox(db.storage), Inbox(db.storage)
    lead = first._take_lead()
    assert lead is not None
    try:
        assert second._take_lead() is None  # held: the second waits for a backlog
    finally:
        os.close(lead)
    taken = second._take_lead()  # the lead's process ended: the next one leads
    assert taken is not None
    os.close(taken)
    assert sorted(p.name for p in first.folder.iterdir()) == [".lead"]  # not a .dcm


def test_an_indexer_that_is_not_the_lead_takes_only_a_backlog_until_stopped(db):
    """With the lead held elsewhere, an indexer takes a file that has waited (a
    backlog) and leaves a fresh one to the lead; once stopped, it takes what is left."""
    import threading

    waited_uid, fresh_uid = "1.2.826.0.1.3680043.8.498.3", "1.2.826.0.1.3680043.8.498.4"
    inbox = _deposit(db, _copy_with_uid(waited_uid), waited_uid)
    _deposit(db, _copy_with_uid(fresh_uid), fresh_uid)
    long_ago, far_ahead = time.time() - 3600, time.time() + 3600
    os.utime(inbox.path_of(waited_uid), (long_ago, long_ago))
    os.utime(inbox.path_of(fresh_uid), (far_ahead, far_ahead))  # never old enough
    lead = Inbox(db.storage)._take_lead()
    assert lead is not None
    stop = threading.Event()
    indexer = Database(db.url, storage=db.storage)
    worker = threading.Thread(target=inbox.run, args=(indexer, stop))
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while not db.is_stored(waited_uid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert db.is_stored(waited_uid)
        time.sleep(0.2)  # many passes of the loop: the fresh file stays for the lead
        assert not db.is_stored(fresh_uid)
        assert inbox.pending() == [inbox.path_of(fresh_uid)]
    finally:
        stop.set()
        worker.join(30)
        indexer.close()
        os.close(lead)
    assert db.is_stored(fresh_uid)  # stopping: everything ready is indexed
    assert inbox.pending() == []


def test_an_indexer_that_is_not_the_lead_wakes_less_often(db):
    """Each wake-up costs CPU: a non-lead looks for a backlog every BACKLOG_POLL
    seconds, the lead for new files every POLL."""
    import threading

    from srkit.db.inbox import BACKLOG_AGE, BACKLOG_POLL, POLL

    assert POLL < BACKLOG_POLL < BACKLOG_AGE

    def passes(inbox: Inbox, seconds: float) -> int:
        count = 0
        index_pending = inbox.index_pending

        def counted(*args: object, **kwargs: object) -> int:
            nonlocal count
            count += 1
            return index_pending(*args, **kwargs)  # type: ignore[arg-type]

        inbox.index_pending = counted  # type: ignore[method-assign]
        stop = threading.Event()
        worker = threading.Thread(target=inbox.run, args=(db, stop))
        worker.start()
        time.sleep(seconds)
        stop.set()
        worker.join(30)
        return count

    lead = Inbox(db.storage)._take_lead()
    assert lead is not None
    try:
        other = passes(Inbox(db.storage), 0.5)
    finally:
        os.close(lead)
    leading = passes(Inbox(db.storage), 0.5)
    assert 2 <= other <= 0.5 / BACKLOG_POLL + 3
    assert leading > 2 * other


def test_a_data_set_in_memory_goes_straight_into_the_inbox_locked_until_answered(db):
    """deposit_parts: an unnamed file (O_TMPFILE) named once complete; no staged file
    is made, the indexer leaves it while the receiver holds it, then files it."""
    data = CT.read_bytes()
    uid = _uid(CT)
    inbox = Inbox(db.storage)
    if not inbox.writes_directly():
        skip_or_fail("this file system has no O_TMPFILE: the staged way is tested")
    parts = [data[:132], memoryview(data)[132:1000], data[1000:]]  # as a PDV list comes
    deposit = inbox.deposit_parts(parts, uid)
    assert deposit is not None
    assert deposit.path == inbox.path_of(uid)
    assert deposit.path.read_bytes() == data
    assert sorted(p.name for p in inbox.folder.iterdir()) == [deposit.path.name]  # no probe
    assert not (db.storage / ".staging").exists() or not any((db.storage / ".staging").iterdir())
    assert inbox.index_file(db, deposit.path) is None  # held: not answered yet
    assert inbox.deposit_parts([data], uid) is None  # one name per UID, nothing left over
    assert sorted(p.name for p in inbox.folder.iterdir()) == [deposit.path.name]
    assert deposit.path.read_bytes() == data
    deposit.close()
    result = inbox.index_file(db, deposit.path)
    assert result is not None
    assert result.status == "stored"
    assert db.instance_path(uid).read_bytes() == data
    assert inbox.pending() == []


def test_a_direct_deposit_withdrawn_leaves_no_file(db):
    data = CT.read_bytes()
    uid = _uid(CT)
    inbox = Inbox(db.storage)
    if not inbox.writes_directly():
        skip_or_fail("this file system has no O_TMPFILE")
    deposit = inbox.deposit_parts([data], uid)
    assert deposit is not None
    deposit.withdraw()  # a known UID: the immediate way stores the bytes in memory
    assert inbox.pending() == []
    assert sorted(p.name for p in inbox.folder.iterdir()) == []
    again = inbox.deposit_parts([data], uid)  # the name is free again
    assert again is not None
    again.close()
    assert inbox.pending() == [inbox.path_of(uid)]


def test_without_unnamed_files_deposit_parts_refuses_and_nothing_is_written(db):
    inbox = Inbox(db.storage)
    inbox.direct = False  # as on a file system without O_TMPFILE (NFS, some overlays)
    with pytest.raises(OSError, match="no unnamed files"):
        inbox.deposit_parts([CT.read_bytes()], _uid(CT))
    assert inbox.pending() == []


def test_a_forked_child_names_its_unnamed_files_through_its_own_proc(db):
    """/proc/self/fd opened before a fork is the parent's: a child opens its own."""
    inbox = Inbox(db.storage)
    if not inbox.writes_directly() or not hasattr(os, "fork"):
        skip_or_fail("no O_TMPFILE or no fork")
    data = CT.read_bytes()
    uid = _uid(CT)

    def child() -> bool:
        deposit = inbox.deposit_parts([data], uid)
        if deposit is None or deposit.path.read_bytes() != data:
            return False
        deposit.close()
        return True

    assert in_child(child)
    assert inbox.path_of(uid).read_bytes() == data


def test_spare_unnamed_files_are_made_ahead_and_used_by_the_next_deposit(db, monkeypatch):
    from srkit.db.inbox import SPARES

    data = CT.read_bytes()
    uid = _uid(CT)
    inbox = Inbox(db.storage)
    inbox.prepare()  # not known yet whether the file system can: nothing made
    assert inbox.spares.held() == []
    if not inbox.writes_directly():
        skip_or_fail("this file system has no O_TMPFILE")
    makers = []
    make = inbox.spares._make

    def recording_make():
        makers.append(threading.current_thread())
        return make()

    monkeypatch.setattr(inbox.spares, "_make", recording_make)
    try:
        for n in range(2):  # two data sets of the same size: the thread makes the next
            deposit = inbox.deposit_parts([data], f"{uid}.{n + 1}")
            assert deposit is not None
            deposit.close()
            deposit.path.unlink()
        makers.clear()
        for _ in range(SPARES + 2):
            inbox.prepare()  # returns at once: the files are made by the spares' thread
        assert inbox.spares.wait_ready(SPARES, 10)
        assert len(inbox.spares.held()) == SPARES  # one per association at most, not more
        assert len(makers) == SPARES
        assert all(maker is not threading.current_thread() for maker in makers)
        assert sorted(p.name for p in inbox.folder.iterdir()) == []  # spares have no name
        assert {os.fstat(fd).st_size for fd in inbox.spares.held()} == {len(data)}  # zeros
        deposit = inbox.deposit_parts([data], uid)
        assert deposit is not None
        assert len(inbox.spares.held()) == SPARES - 1  # it took one, and made none itself
        assert len(makers) == SPARES
        assert deposit.path.read_bytes() == data
        assert inbox.index_file(db, deposit.path) is None  # the spare was locked already
        deposit.close()
        assert inbox.index_file(db, deposit.path).status == "stored"
        assert db.instance_path(uid).read_bytes() == data
    finally:
        inbox.spares.close()
    assert inbox.spares.held() == []


def test_a_spare_inherited_from_another_process_is_not_used(db):
    """After a fork the child's copy of a spare shares its lock with the parent's:
    the child closes it and makes its own."""
    from srkit.db.inbox import SPARES

    inbox = Inbox(db.storage)
    if not inbox.writes_directly():
        skip_or_fail("this file system has no O_TMPFILE")
    inbox.spares.refill()  # as prepare() has the thread do
    assert inbox.spares.wait_ready(SPARES, 10)
    inherited = inbox.spares.held()
    parents = os.dup(inherited[0])  # the parent's descriptor of the same open file
    inbox.spares._ready = [(os.getpid() + 1, fd) for fd in inherited]  # as a child sees them
    try:
        data = CT.read_bytes()
        deposit = inbox.deposit_parts([data], _uid(CT))
        assert deposit is not None
        assert inbox.spares.held() == []
        assert inbox.spares._ready == []  # the inherited copies were closed
        assert os.fstat(parents).st_size == 0  # the parent's spare was not written
        assert os.fstat(deposit._fd).st_ino != os.fstat(parents).st_ino
        assert deposit.path.read_bytes() == data
        deposit.close()
    finally:
        os.close(parents)
        inbox.spares.close()


@pytest.mark.parametrize(
    ("sizes", "single", "zeros"),
    [
        ([50_000], True, None),  # one data set: no size to go by, an empty spare made here
        ([50_000, 50_000], True, 50_000),  # like sizes: zeros, by the thread
        ([20_000, 21_000], True, 20_000),  # within an eighth: the smaller
        ([21_000, 90_000], True, None),  # unlike sizes: an empty spare made here
        ([50_000, 50_000], False, None),  # several associations: an empty spare made here
        ([PREFILL_MAX + 5, PREFILL_MAX + 5], True, PREFILL_MAX),  # zeros up to the most
    ],
)
def test_a_spare_holds_zeros_for_data_sets_of_like_sizes_and_is_cut_or_grown_to_the_next(
    db, sizes, single, zeros
):
    inbox = Inbox(db.storage)
    if not inbox.writes_directly():
        skip_or_fail("this file system has no O_TMPFILE")
    inbox.spares.close()
    inbox.spares = type(inbox.spares)(inbox._make_spare, 1)
    makers = []
    make = inbox.spares._make
    inbox.spares._make = lambda: makers.append(threading.current_thread()) or make()
    try:
        written = []
        for n, size in enumerate(sizes):
            data = os.urandom(size)
            uid = _fresh_uid(n + 500)
            deposit = inbox.deposit_parts([data], uid)
            assert deposit is not None
            deposit.close()
            written.append((inbox.path_of(uid), data))
        inbox.prepare(single=single)
        assert inbox.spares.wait_ready(1, 10)
        [spare] = inbox.spares.held()
        assert os.fstat(spare).st_size == (zeros or 0)
        by_thread = makers[-1] is not threading.current_thread()
        assert by_thread == (zeros is not None)
        # the next data sets go into that spare, cut or grown to their own size
        for n, size in enumerate([max(sizes) // 2, max(sizes) + 3000]):
            data = os.urandom(size)
            uid = _fresh_uid(n + 600)
            before = inbox.spares.held()
            deposit = inbox.deposit_parts([data], uid)
            assert deposit is not None
            if before:
                assert os.fstat(deposit._fd).st_ino == os.fstat(before[0]).st_ino
            deposit.close()
            written.append((inbox.path_of(uid), data))
            inbox.prepare(single=single)
            assert inbox.spares.wait_ready(1, 10)
        for path, data in written:  # every file exactly its bytes: zeros cut, or grown
            assert path.read_bytes() == data
    finally:
        inbox.spares.close()


def _fresh_uid(n: int) -> str:
    return f"1.2.826.0.1.3680043.10.1{n:06d}"


@given(  # each size twice in a row: the spare after the second holds zeros, cut or grown
    sizes=st.lists(st.integers(0, 70_000), min_size=1, max_size=4).map(
        lambda sizes: [size for size in sizes for _twice in (0, 1)]
    )
)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_deposits_through_spares_keep_every_byte(db, sizes):
    """Whatever the sizes in turn, each inbox file (a spare made ahead, or a new one)
    holds exactly its own bytes."""
    inbox = Inbox(db.storage)
    if not inbox.writes_directly():
        skip_or_fail("this file system has no O_TMPFILE")
    written = []
    for n, size in enumerate(sizes):
        data = os.urandom(size)
        uid = _fresh_uid(n + 100) + f".{time.monotonic_ns()}"
        deposit = inbox.deposit_parts([data[: size // 3], data[size // 3 :]], uid)
        assert deposit is not None
        deposit.close()
        if n % 2 == 1:  # after two of like sizes: the next deposit takes a spare of zeros
            inbox.prepare()
            assert inbox.spares.wait_ready(1, 10)
        written.append((inbox.path_of(uid), data))
    inbox.spares.close()
    for path, data in written:
        assert path.read_bytes() == data
        path.unlink()


def test_the_collector_is_paused_until_the_parsed_data_set_is_gone(db, monkeypatch):
    """index_file keeps the cyclic collector off through the parse and the store (an SR's
    tree is many young objects) and turns it back on when the file is indexed; the data
    set itself goes before the store (only its record and calling AE title are kept)."""
    import gc
    import weakref

    sr = data_path("sr-tid1500/dcmqi_sr-example_sr.dcm")
    uid = _uid(sr)
    inbox = _deposit(db, sr.read_bytes(), uid)
    seen: list[tuple[bool, bool]] = []
    store = db.store_outcome

    def watched(rec, staged, **kwargs):
        ds_alive = bool(refs) and refs[0]() is not None
        seen.append((gc.isenabled(), ds_alive))
        return store(rec, staged, **kwargs)

    import srkit.db.ingest as ingest

    refs: list[weakref.ref] = []
    parse = ingest.parse_staged

    def parse_and_watch(*args, **kwargs):
        ds, rec = parse(*args, **kwargs)
        refs.append(weakref.ref(ds))
        return ds, rec

    monkeypatch.setattr(ingest, "parse_staged", parse_and_watch)
    monkeypatch.setattr(db, "store_outcome", watched)
    assert gc.isenabled()
    result = inbox.index_file(db, inbox.path_of(uid))
    assert result is not None
    assert result.status == "stored"
    assert seen == [(False, False)]  # stored with the collector off, the data set gone
    assert gc.isenabled()  # on again once indexed
    assert refs[0]() is None  # and by then the data set was gone


# -- an idle indexer sleeps until its inbox changes -----------------------------------


def _counting(inbox: Inbox) -> list[int]:
    calls = [0]
    original = inbox.index_pending

    def counted(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    inbox.index_pending = counted  # type: ignore[method-assign]
    return calls


def _idle_indexer(db, monkeypatch, stop, idle_after, idle_wait, *, inotify=True):
    """An indexer running ``Inbox.run`` in a thread, idle after ``idle_after`` seconds
    and then sleeping ``idle_wait`` at most: (inbox, its pass counter, the thread)."""
    import srkit.db.inbox as I
    import srkit.db.watch as W

    if not inotify:
        monkeypatch.setattr(W, "_libc", lambda: None)
    elif not W.FolderWatch([db.storage]).available:
        skip_or_fail("inotify is missing: the indexer polls")
    monkeypatch.setattr(I, "IDLE_AFTER", idle_after)
    monkeypatch.setattr(I, "IDLE_WAIT", idle_wait)
    inbox = Inbox(db.storage)
    calls = _counting(inbox)
    worker = threading.Thread(target=inbox.run, args=(db, stop))
    worker.start()
    return inbox, calls, worker


def test_an_idle_lead_sleeps_and_wakes_for_a_new_file(db, monkeypatch):
    stop = threading.Event()
    inbox, calls, worker = _idle_indexer(db, monkeypatch, stop, 0.2, 5.0)
    try:
        time.sleep(1.2)
        quiet = calls[0]
        for _ in range(5):  # another indexer trying to lead does not wake it
            assert Inbox(db.storage)._take_lead() is None
            time.sleep(0.2)
        # polling would have made 1.0 / POLL = 200 passes; asleep it makes none
        assert calls[0] - quiet <= 2
        assert inbox.idle_waits >= 1
        data = CT.read_bytes()
        uid = _uid(CT)
        began = time.monotonic()
        _deposit(db, data, uid)
        while not db.is_stored(uid) and time.monotonic() - began < 10:
            time.sleep(0.005)
        assert db.is_stored(uid)
        assert time.monotonic() - began < 1.0  # woken by the file, not by IDLE_WAIT
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()


def test_the_stop_signal_ends_an_idle_sleep_at_once(db, monkeypatch):
    from srkit.net.dimse.stop_signal import StopSignal

    stop = StopSignal()
    inbox, _calls, worker = _idle_indexer(db, monkeypatch, stop, 0.1, 30.0)
    try:
        time.sleep(0.6)
        assert inbox.idle_waits >= 1
        began = time.monotonic()
        stop.set()
        worker.join(10)
        assert not worker.is_alive()
        assert time.monotonic() - began < 5  # not the 30 s of IDLE_WAIT
    finally:
        stop.set()
        worker.join(30)
        stop.close()


def test_without_inotify_an_idle_indexer_keeps_polling(db, monkeypatch):
    stop = threading.Event()
    inbox, calls, worker = _idle_indexer(db, monkeypatch, stop, 0.1, 0.25, inotify=False)
    time.sleep(0.6)
    stop.set()
    worker.join(30)
    assert inbox.idle_waits == 0
    assert calls[0] > 20  # every POLL (5 ms): about 100 passes


def test_inbox_files_are_taken_in_the_order_they_were_named(db):
    """The file system's clock ticks every few milliseconds: files named within one
    tick would be taken in the order of their (hashed) names, not of their arrival."""
    inbox = Inbox(db.storage)
    if not inbox.writes_directly():
        skip_or_fail("no O_TMPFILE here")
    uids = [f"1.2.826.0.1.3680043.8.498.{n}" for n in range(40)]
    for uid in uids:  # the deposit way (a staged file linked) and the direct way, mixed
        if int(uid.rsplit(".", 1)[1]) % 2:
            inbox.deposit_parts([b"x" * 64], uid).close()
        else:
            staged = StagedFile.from_bytes(db.storage, b"y" * 64, hashed=False)
            assert inbox.deposit(staged, uid)
            staged.close()
    assert inbox.pending() == [inbox.path_of(uid) for uid in uids]


def _real_batch(db) -> tuple[Inbox, list[tuple[str, bytes]]]:
    """Three real files of other makers (a CT image, a TID 1500 report, a Siemens dose
    report) deposited together, as a receiver answering them one after the other."""
    inbox = Inbox(db.storage)
    files = []
    for name in (
        "ct/pydicom_CT_small.dcm",
        "sr-tid1500/dcmqi_sr-example_sr.dcm",
        "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm",
    ):
        path = data_path(name)
        uid, data = _uid(path), path.read_bytes()
        staged = StagedFile.from_bytes(db.storage, data, hashed=False)
        assert inbox.deposit(staged, uid)
        staged.close()
        files.append((uid, data))
    return inbox, files


def test_files_pending_together_are_indexed_in_one_transaction(db, monkeypatch):
    """One commit for the ready files, in their order; each file is linked into the
    storage inside the transaction and its inbox name goes only after the commit."""
    import srkit.db.store as store_module

    inbox, files = _real_batch(db)
    batches: list[int] = []
    transaction = store_module.Store._sqlite_many

    def counted(self, jobs):
        batches.append(len(jobs))
        return transaction(self, jobs)

    seen: list[tuple[bool, bool, int]] = []
    file_instance = store_module.file_instance
    reader = sqlite3.connect(db.url.removeprefix("sqlite:///"))  # a second reader

    def watched(sql, placer, rec, **kwargs):
        uid = rec["instance"]["sop_instance_uid"]
        # inside the transaction: linked into place, still pending, not yet visible
        [(visible,)] = reader.execute(
            "SELECT count(*) FROM instance WHERE sop_instance_uid = ?", (uid,)
        ).fetchall()
        seen.append((os.path.exists(rec["path"]), inbox.path_of(uid).exists(), visible))
        return file_instance(sql, placer, rec, **kwargs)

    monkeypatch.setattr(store_module.Store, "_sqlite_many", counted)
    monkeypatch.setattr(store_module, "file_instance", watched)
    monkeypatch.setattr(db, "store_outcome", None)  # never called: no file alone
    assert inbox.index_pending(db) == 3
    assert batches == [3]
    assert seen == [(True, True, 0)] * 3
    assert inbox.pending() == []
    for uid, data in files:
        path = db.instance_path(uid)
        assert path.read_bytes() == data
        assert os.stat(path).st_nlink == 1  # the inbox name is gone, not a second copy
    names = {row["SOPInstanceUID"]: row["PatientName"] for row in db.instances()}
    assert names[files[0][0]] == "CompressedSamples^CT1"
    [sr] = db.instances(SOPInstanceUID=files[1][0])
    assert sr["Modality"] == "SR"
    # the instances were indexed in the order they arrived
    order = reader.execute("SELECT sop_instance_uid FROM instance ORDER BY pk").fetchall()
    reader.close()
    assert [uid for (uid,) in order] == [uid for uid, _data in files]


def test_a_batch_whose_transaction_fails_is_stored_file_by_file(db, monkeypatch):
    """The third file's insert fails once: the transaction is rolled back, the first two
    links and the folders made for them removed, and each file is then stored alone."""
    import srkit.db.store as store_module

    inbox, files = _real_batch(db)
    file_instance = store_module.file_instance
    placed: list[str] = []
    linked: list[bool] = []

    def third_fails_once(sql, placer, rec, **kwargs):
        placed.append(rec["path"])
        if len(placed) == 3:
            linked.extend(os.path.exists(path) for path in placed[:2])  # linked by now
            raise OSError(5, "Input/output error")
        return file_instance(sql, placer, rec, **kwargs)

    alone: list[str] = []
    store_outcome = db.store_outcome

    def stored_alone(rec, staged, **kwargs):
        # the batch left nothing: no row, no file at the target
        assert not db.is_stored(rec["instance"]["sop_instance_uid"])
        assert not os.path.exists(rec["path"])
        alone.append(rec["instance"]["sop_instance_uid"])
        return store_outcome(rec, staged, **kwargs)

    monkeypatch.setattr(store_module, "file_instance", third_fails_once)
    monkeypatch.setattr(db, "store_outcome", stored_alone)
    assert inbox.index_pending(db) == 3
    assert linked == [True, True]
    assert alone == [uid for uid, _data in files]
    assert inbox.pending() == []
    for uid, data in files:
        assert db.instance_path(uid).read_bytes() == data
    assert not list(db.storage.rglob("*.link"))


def test_an_undecodable_file_in_a_batch_is_set_aside_and_the_rest_stored(db):
    inbox, files = _real_batch(db)
    bad_uid = "1.2.826.0.1.3680043.8.498.77"
    cut = _copy_with_uid(bad_uid)[:-1000]
    staged = StagedFile.from_bytes(db.storage, cut, hashed=False)
    assert inbox.deposit(staged, bad_uid)
    staged.close()
    results = inbox.index_files(db, inbox.pending())
    assert [r.status for r in results] == ["stored", "stored", "stored", "rejected"]
    [kept] = inbox.rejected_files()
    assert kept.read_bytes() == cut
    assert all(db.is_stored(uid) for uid, _data in files)
    assert not db.is_stored(bad_uid)


def test_an_inbox_name_left_by_a_crash_after_the_commit_is_a_duplicate(db):
    """Killed between the commit and removing the inbox name: the next indexer finds
    the instance indexed with the same bytes and drops only the inbox name (the
    storage file is the same file)."""
    inbox, files = _real_batch(db)
    assert inbox.index_pending(db) == 3
    uid, data = files[1]
    stored = db.instance_path(uid)
    os.link(stored, inbox.path_of(uid))  # the name a crash would have left
    new_uid = "1.2.826.0.1.3680043.8.498.78"
    staged = StagedFile.from_bytes(db.storage, _copy_with_uid(new_uid), hashed=False)
    assert inbox.deposit(staged, new_uid)
    staged.close()
    results = inbox.index_files(db, inbox.pending())
    assert [r.status for r in results] == ["duplicate", "stored"]
    assert stored.read_bytes() == data
    assert os.stat(stored).st_nlink == 1
    assert inbox.pending() == []
    assert not list(inbox.folder.glob("*.kept"))


def test_a_batch_is_at_most_batch_files_and_batch_bytes(db, monkeypatch):
    import srkit.db.inbox as inbox_module

    monkeypatch.setattr(inbox_module, "BATCH_FILES", 3)
    monkeypatch.setattr(inbox_module, "BATCH_BYTES", 1000)
    files = [
        (inbox_module.Path(f"/x/{n}"), size) for n, size in enumerate([10] * 7 + [900, 2000, 5])
    ]
    runs = [[int(p.name) for p in run] for run in inbox_module._batches(files)]
    # three files at most; a file that would pass the bytes starts a new run, and one
    # larger than the limit is a run of its own
    assert runs == [[0, 1, 2], [3, 4, 5], [6, 7], [8], [9]]


def test_the_lead_runs_at_idle_priority_when_others_take_the_backlog(db):
    """With idle_lead, the thread that takes the lead runs SCHED_IDLE and still indexes
    (the CPU is free here); an indexer that is not the lead keeps its priority."""
    if not hasattr(os, "SCHED_IDLE"):
        skip_or_fail("no SCHED_IDLE on this system")
    inbox = Inbox(db.storage)
    policies: dict[str, int] = {}
    stop = threading.Event()
    lead_db = Database(db.url, storage=db.storage)
    other_db = Database(db.url, storage=db.storage)

    def run(name, database):
        policies[name + "-before"] = os.sched_getscheduler(0)
        try:
            inbox.run(database, stop, idle_lead=True)
        finally:
            policies[name] = os.sched_getscheduler(0)

    lead = threading.Thread(target=run, args=("lead", lead_db))
    lead.start()
    deadline = time.monotonic() + 30
    while not (inbox.folder / ".lead").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    other = threading.Thread(target=run, args=("other", other_db))
    other.start()
    try:
        uid = "1.2.826.0.1.3680043.8.498.79"
        _deposit(db, _copy_with_uid(uid), uid)
        while not db.is_stored(uid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert db.is_stored(uid)
    finally:
        stop.set()
        lead.join(30)
        other.join(30)
        lead_db.close()
        other_db.close()
    assert policies == {
        "lead-before": os.SCHED_OTHER,
        "lead": os.SCHED_IDLE,
        "other-before": os.SCHED_OTHER,
        "other": os.SCHED_OTHER,
    }
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the test's own thread: untouched


@pytest.mark.parametrize("policy", ["keep-first", "keep-last", "keep-both-as-conflict"])
def test_a_uid_stored_meanwhile_in_a_batch_follows_the_policy(tmp_path, policy):
    """Another writer stored the CT image with other content between the answer and the
    batch: the policy decides, the other files of the batch are stored, and no inbox
    name or extra link is left."""
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage", conflict_policy=policy)
    try:
        inbox, files = _real_batch(db)
        uid, data = files[0]
        ds = pydicom.dcmread(CT)
        ds.SeriesDescription = "another copy"
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        assert db.store_outcome(*_record(buf.getvalue())).status == "stored"
        results = inbox.index_files(db, inbox.pending())
        expected = {"keep-first": "rejected", "keep-last": "replaced"}
        assert [r.status for r in results] == [
            expected.get(policy, "kept-as-conflict"),
            "stored",
            "stored",
        ]
        assert inbox.pending() == []
        assert not list(inbox.folder.glob("*.kept"))
        [conflict] = db.conflicts()
        stored = db.instance_path(uid)
        if policy == "keep-first":
            assert stored.read_bytes() == buf.getvalue()
            [kept] = inbox.rejected_files()
            assert kept.read_bytes() == data
        elif policy == "keep-last":
            assert stored.read_bytes() == data
            assert os.stat(stored).st_nlink == 1
            assert not list(db.storage.rglob("*.replaced"))
        else:
            assert stored.read_bytes() == buf.getvalue()
            copy = Path(conflict["path"])
            assert copy.read_bytes() == data
            assert os.stat(copy).st_nlink == 1
        for other_uid, other_data in files[1:]:
            assert db.instance_path(other_uid).read_bytes() == other_data
    finally:
        db.close()


def test_pending_files_are_indexed_on_each_backend(fresh_url, tmp_path, monkeypatch):  # noqa: F811
    """SQLite stores the ready files in one transaction; PostgreSQL (no batch there)
    stores each alone, linked into place and out of the inbox after its commit."""
    db = Database(fresh_url, storage=tmp_path / "storage")
    try:
        inbox, files = _real_batch(db)
        alone: list[bool] = []
        store_outcome = db.store_outcome

        def watched(rec, staged, **kwargs):
            alone.append(kwargs.get("link", False))
            return store_outcome(rec, staged, **kwargs)

        monkeypatch.setattr(db, "store_outcome", watched)
        sqlite = db.url.startswith("sqlite")
        assert inbox.index_pending(db) == 3
        assert alone == ([] if sqlite else [True, True, True])
        assert inbox.pending() == []
        for uid, data in files:
            path = db.instance_path(uid)
            assert path.read_bytes() == data
            assert os.stat(path).st_nlink == 1
        [ct] = db.instances(SOPInstanceUID=files[0][0])
        assert ct["PatientName"] == "CompressedSamples^CT1"
    finally:
        db.close()
