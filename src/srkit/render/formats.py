"""Dates, times and person names as people read them, for the header and the content.

DICOM stores a date as ``YYYYMMDD`` (VR DA), a time as ``HHMMSS.FFFFFF`` (TM), a date
and time as ``YYYYMMDDHHMMSS.FFFFFF&ZZXX`` (DT, PS3.5 Section 6.2; later components
may be left out) and a person name as ``Family^Given^Middle^Prefix^Suffix``, with an
ideographic and a phonetic group after ``=`` (PN, PS3.5 Section 6.2.1). The report
renderers (:mod:`srkit.render.html`, :mod:`srkit.render.report_text`) show the
header's and the content items' values through these functions, so that both read
the same; a value that is not in the DICOM form is shown as stored.
"""

from __future__ import annotations

import re

__all__ = ["format_date", "format_time", "format_datetime", "format_name", "format_date_time"]

_DATE = re.compile(r"(\d{4})(\d{2})?(\d{2})?")
_TIME = re.compile(r"(\d{2})(\d{2})?(\d{2})?(\.\d{1,6})?")
_DATETIME = re.compile(
    r"(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(\.\d{1,6})?)?)?)?)?)?([+-]\d{4})?"
)


def format_date(value: str | None) -> str:
    """``20130611`` -> ``2013-06-11`` (``201306`` -> ``2013-06``); empty for None;
    anything else as stored."""
    text = (value or "").strip()
    match = _DATE.fullmatch(text)
    if match is None:
        return text
    return "-".join(part for part in match.groups() if part)


def format_time(value: str | None) -> str:
    """``140817.965005`` -> ``14:08:17.965005`` (``1408`` -> ``14:08``); empty for None;
    anything else (the old ``14:08:17`` form among it) as stored."""
    text = (value or "").strip()
    match = _TIME.fullmatch(text)
    if match is None:
        return text
    hours, minutes, seconds, fraction = match.groups()
    out = ":".join(part for part in (hours, minutes, seconds) if part)
    return out + (fraction or "") if seconds else out


def format_date_time(date: str | None, time: str | None = None) -> str:
    """A date and a time (two attributes, as in the header) as one value."""
    return " ".join(x for x in (format_date(date), format_time(time)) if x)


def format_datetime(value: str | None) -> str:
    """``20130611140817.965005+0100`` -> ``2013-06-11 14:08:17.965005 +01:00``; empty
    for None; anything else as stored."""
    text = (value or "").strip()
    match = _DATETIME.fullmatch(text)
    if match is None:
        return text
    year, month, day, hours, minutes, seconds, fraction, offset = match.groups()
    date = "-".join(x for x in (year, month, day) if x)
    time = ":".join(x for x in (hours, minutes, seconds) if x) + (fraction or "")
    zone = f"{offset[:3]}:{offset[3:]}" if offset else ""
    return " ".join(x for x in (date, time, zone) if x)


def format_name(value: str | None) -> str:
    """``Lovelace^Ada`` -> ``Lovelace, Ada``; prefix before, suffix after
    (``Dr. Lovelace, Ada, PhD``); the ideographic and phonetic groups in brackets
    after the alphabetic one; empty components dropped."""
    groups = [_name_group(g) for g in (value or "").strip().split("=")]
    shown = [g for g in groups if g]
    if not shown:
        return ""
    first, *other = shown
    return first + (f" ({'; '.join(other)})" if other else "")


def _name_group(group: str) -> str:
    parts = [p.strip() for p in group.split("^")] + [""] * 5
    family, given, middle, prefix, suffix = parts[:5]
    rest = " ".join(x for x in (given, middle) if x)
    name = f"{family}, {rest}" if family and rest else family or rest
    if prefix:
        name = f"{prefix} {name}".strip()
    if suffix:
        name = f"{name}, {suffix}" if name else suffix
    return name
