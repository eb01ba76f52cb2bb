"""The index writer's helpers: the time stamp every row is filed with."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from srkit.db import writer


def test_now_is_utc_iso_to_the_microsecond():
    before = datetime.now(UTC)
    stamp = writer.now()
    after = datetime.now(UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp)
    when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z")
    assert before <= when <= after


@given(st.integers(min_value=0, max_value=4_102_444_800 * 10**9))  # up to 2100
def test_now_agrees_with_datetime_at_any_instant(ns):
    original = time.time_ns
    try:
        time.time_ns = lambda: ns  # writer.now reads the clock through the time module
        stamp = writer.now()
    finally:
        time.time_ns = original
    seconds, micro = divmod(ns // 1000, 1_000_000)
    exact = datetime.fromtimestamp(seconds, UTC).replace(microsecond=micro)
    assert stamp == exact.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
