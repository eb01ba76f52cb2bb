"""FolderWatch: waking on file changes (Linux inotify), sleeping where it is missing."""

from __future__ import annotations

import os
import threading
import time

import pytest

from srkit.db import watch as W
from srkit.db.watch import FolderWatch
from tests.conftest import skip_or_fail


@pytest.fixture
def watched(tmp_path):
    w = FolderWatch([tmp_path / "inbox"])
    (tmp_path / "inbox").mkdir()
    if not w.available:
        skip_or_fail("no inotify here (Linux's): the indexer polls")
    assert w.wait(10) is True  # a folder watched for the first time: look at it
    yield w, tmp_path / "inbox"
    w.close()


def _later(seconds, action):
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def test_a_quiet_folder_times_out(watched):
    w, _folder = watched
    began = time.monotonic()
    assert w.wait(0.1) is False
    assert time.monotonic() - began >= 0.09


def test_a_new_file_wakes_the_wait_at_once(watched):
    w, folder = watched
    _later(0.1, lambda: (folder / "a.dcm").write_bytes(b"x"))
    began = time.monotonic()
    assert w.wait(10) is True
    assert time.monotonic() - began < 5
    extra = sum(w.wait(0.05) for _ in range(3))  # its close may come as a second event
    assert extra <= 1
    assert w.wait(0.05) is False  # the events were consumed


def test_closing_an_unnamed_file_after_naming_it_wakes_the_wait(watched):
    w, folder = watched
    fd = os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o644)
    os.write(fd, b"data set")
    proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(str(fd), folder / "b.dcm", src_dir_fd=proc, follow_symlinks=True)
    finally:
        os.close(proc)
    assert w.wait(1) is True  # its name
    _later(0.1, lambda: os.close(fd))  # the receiver's close after its answer
    assert w.wait(10) is True


def test_another_descriptor_ends_the_wait_without_a_change(watched):
    w, _folder = watched
    read, write = os.pipe()
    try:
        _later(0.05, lambda: os.write(write, b"\0"))
        began = time.monotonic()
        assert w.wait(10, also=read) is False
        assert time.monotonic() - began < 5
    finally:
        os.close(read)
        os.close(write)


def test_without_inotify_it_only_sleeps(tmp_path, monkeypatch):
    monkeypatch.setattr(W, "_libc", lambda: None)
    w = FolderWatch([tmp_path])
    assert not w.available
    (tmp_path / "c.dcm").write_bytes(b"x")
    began = time.monotonic()
    assert w.wait(0.1) is False
    assert time.monotonic() - began >= 0.09
