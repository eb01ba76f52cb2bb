"""SpareFiles: descriptors made ahead by a thread of the process that takes them."""

from __future__ import annotations

import errno
import os
import threading

from srkit.db import spares as spares_module
from srkit.db.spares import SpareFiles
from tests.conftest import skip_or_fail
from tests.forking import in_child


class Maker:
    """Opens /dev/null (a real descriptor), records the thread, fails while told to."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.fail: OSError | None = None
        self.made: list[int] = []

    def __call__(self) -> int:
        self.threads.append(threading.current_thread())
        if self.fail is not None:
            raise self.fail
        fd = os.open(os.devnull, os.O_WRONLY)
        self.made.append(fd)
        return fd


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError as exc:
        if exc.errno != errno.EBADF:
            raise
        return False
    return True


def test_files_are_made_by_another_thread_up_to_the_limit_and_taken_in_order():
    maker = Maker()
    spares = SpareFiles(maker, 3)
    try:
        assert spares.take() == -1  # nothing asked for yet
        spares.refill()
        assert spares.wait_ready(3, 10)
        assert spares.held() == maker.made
        assert len(maker.made) == 3  # not more than the limit
        assert {thread.name for thread in maker.threads} == {"spare files"}
        assert all(thread is not threading.current_thread() for thread in maker.threads)
        first, second = spares.take(), spares.take()
        assert (first, second) == (maker.made[0], maker.made[1])  # the oldest first
        assert spares.held() == [maker.made[2]]
        spares.refill()
        assert spares.wait_ready(3, 10)
        assert len(maker.made) == 5  # two more, for the two taken
        os.close(first)
        os.close(second)
    finally:
        spares.close()


def test_a_failing_maker_is_reported_and_the_next_refill_tries_again(caplog):
    maker = Maker()
    maker.fail = OSError(errno.ENOSPC, "No space left on device")
    spares = SpareFiles(maker, 2, name="test spares")
    try:
        spares.refill()
        assert not spares.wait_ready(1, 10)  # it stopped short: no busy loop
        assert spares.take() == -1
        assert isinstance(spares.failure, OSError)
        assert spares.failure.errno == errno.ENOSPC
        tries = len(maker.threads)
        assert tries == 1
        assert "test spares: cannot make one ahead" in caplog.text
        maker.fail = None
        spares.refill()
        assert spares.wait_ready(2, 10)
        assert spares.failure is None
        assert len(spares.held()) == 2
    finally:
        spares.close()


def test_the_thread_ends_when_idle_and_a_later_refill_starts_another(monkeypatch):
    monkeypatch.setattr(spares_module, "IDLE_EXIT", 0.05)
    maker = Maker()
    spares = SpareFiles(maker, 1)
    try:
        spares.refill()
        assert spares.wait_ready(1, 10)
        first = maker.threads[0]
        first.join(10)
        assert not first.is_alive()  # idle: gone
        os.close(spares.take())
        spares.refill()
        assert spares.wait_ready(1, 10)
        assert maker.threads[-1] is not first
    finally:
        spares.close()


def test_close_closes_the_ready_files_and_stops_the_thread():
    maker = Maker()
    spares = SpareFiles(maker, 2)
    spares.refill()
    assert spares.wait_ready(2, 10)
    held = spares.held()
    assert all(_is_open(fd) for fd in held)
    spares.close()
    assert not any(_is_open(fd) for fd in held)
    assert spares.held() == []
    assert not maker.threads[0].is_alive()
    spares.refill()  # closed: nothing more is made
    assert spares.take() == -1
    assert len(maker.made) == 2


def test_a_forked_child_makes_its_own_and_never_takes_its_parents():
    if not hasattr(os, "fork"):
        skip_or_fail("no fork")
    maker = Maker()
    spares = SpareFiles(maker, 1)
    spares.refill()
    assert spares.wait_ready(1, 10)
    [parents] = spares.held()

    def child() -> bool:  # the parent's file is not its own, its own thread makes one
        if spares.held() != [] or spares.take() != -1:
            return False
        spares.refill()
        made_here = spares.wait_ready(1, 10) and len(maker.made) == 2
        return made_here and spares.held() == [maker.made[1]]

    assert in_child(child)
    assert spares.held() == [parents]  # the parent's is still there, open
    assert _is_open(parents)
    spares.close()


def test_the_thread_is_woken_only_once_half_or_fewer_are_ready():
    maker = Maker()
    spares = SpareFiles(maker, 4)
    try:
        spares.refill()
        assert spares.wait_ready(4, 10)
        os.close(spares.take())
        spares.refill()  # three of four ready: left alone
        assert not spares.wait_ready(4, 0.2)
        assert len(maker.made) == 4
        os.close(spares.take())
        spares.refill()  # two of four: the thread makes two at once
        assert spares.wait_ready(4, 10)
        assert len(maker.made) == 6
    finally:
        spares.close()


def test_make_here_makes_one_in_the_calling_thread_up_to_the_limit_and_swallows_errors():
    maker = Maker()
    spares = SpareFiles(maker, 2)
    try:
        spares.make_here()
        assert maker.threads == [threading.current_thread()]
        assert spares.held() == maker.made
        spares.make_here()
        spares.make_here()  # at the limit: nothing more
        assert len(maker.made) == 2
        assert spares.take() == maker.made[0]
        os.close(maker.made[0])
        maker.fail = OSError(errno.EMFILE, "Too many open files")
        spares.make_here()  # the taker makes its own and says why
        assert spares.held() == [maker.made[1]]
    finally:
        spares.close()
    spares.make_here()  # closed: nothing made
    assert len(maker.made) == 2
