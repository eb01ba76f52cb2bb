"""The garbage collector pause around reads (srkit.codec.gcpause)."""

from __future__ import annotations

import gc
import threading

import srkit
from srkit.codec.gcpause import paused
from tests.conftest import data_path


def test_a_read_leaves_the_collector_as_it_was():
    assert gc.isenabled()
    doc = srkit.read(data_path("sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm"))
    assert doc.title is not None
    assert (doc.title.value, doc.title.meaning) == ("126000", "Imaging Measurement Report")
    assert gc.isenabled()
    gc.disable()
    try:
        srkit.read(data_path("rdsr/openrem_CT-ESR-GE_Optima.dcm"))
        assert not gc.isenabled()  # the caller's choice stays
    finally:
        gc.enable()


def test_nested_and_threaded_pauses_resume_once_the_last_ends():
    started, release = threading.Event(), threading.Event()

    def other() -> None:
        with paused():
            started.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with paused():
        thread.start()
        started.wait(10)
        with paused():
            assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread's read goes on
    release.set()
    thread.join(10)
    assert gc.isenabled()
