"""The worklist's search form as DICOM matching: a date typed as ``YYYY-MM-DD``, a
person's name as typed (``Lovelace, Ada``, ``love*``), a description that matches where
it occurs (PS3.4 C.2.2.2 wildcard and range matching); a value of the wrong form is a
:class:`BadFilter`, which the page shows instead of the results.
"""

from __future__ import annotations

from srkit.errors import SrkitError

__all__ = ["BadFilter", "dicom_date", "name_pattern", "text_pattern"]


class BadFilter(SrkitError):
    """A search field whose value has the wrong form."""


def dicom_date(text: str, field: str) -> str:
    """``YYYY-MM-DD`` (a date input) or ``YYYYMMDD`` as ``YYYYMMDD``."""
    import datetime as dt

    value = text.strip().replace("-", "")
    if not value:
        return ""
    try:
        dt.datetime.strptime(value, "%Y%m%d")
    except ValueError:
        raise BadFilter(f"{field}: expected a date as YYYY-MM-DD, not {text[:40]!r}") from None
    return value


def name_pattern(text: str) -> str:
    """A name as typed (``Lovelace, Ada``, ``love*``, ``Lovelace0?``) as a PN match
    value: it matches the names that start with it (wildcards ``*`` ``?`` inside)."""
    value = text.strip()
    if not value:
        return ""
    if "," in value:
        family, _, given = value.partition(",")
        value = f"{family.strip()}^{given.strip()}"
    value = value.replace("^ ", "^")
    return value if value.endswith("*") else value + "*"


def text_pattern(text: str) -> str:
    """A description as typed: without wildcards it matches where it occurs."""
    value = text.strip()
    if value and "*" not in value and "?" not in value:
        value = f"*{value}*"
    return value
