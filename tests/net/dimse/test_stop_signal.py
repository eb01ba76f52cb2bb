"""srkit.net.dimse.stop_signal: a stop flag that signal handlers may set safely."""

from __future__ import annotations

import os
import signal
import threading
import time

from srkit.net.dimse.stop_signal import StopSignal


def test_a_signal_ends_the_wait_at_once():
    stop = StopSignal()
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        stop.install(signal.SIGUSR1)
        timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGUSR1))
        timer.start()
        started = time.monotonic()
        assert stop.wait(20) is True
        assert 0.15 < time.monotonic() - started < 5
        assert stop.is_set()
        assert stop.wait(0) is True  # stays set
    finally:
        signal.signal(signal.SIGUSR1, previous)
        stop.close()


def test_wake_ends_the_wait_without_setting():
    stop = StopSignal()
    try:
        stop.wake()
        stop.wake()
        started = time.monotonic()
        assert stop.wait(20) is False
        assert time.monotonic() - started < 5
        started = time.monotonic()
        assert stop.wait(0.2) is False  # the wakes were drained: this one times out
        assert time.monotonic() - started >= 0.15
    finally:
        stop.close()


def test_many_wakes_never_block_the_setter():
    """A full pipe (nobody waiting) must not block a signal handler."""
    stop = StopSignal()
    try:
        for _ in range(200_000):
            stop.wake()
        stop.set()
        assert stop.wait(0) is True
    finally:
        stop.close()
