"""What every command shows the same way: filter values checked before any work, the
wrong kind of file skipped with a note, one summary line on stderr.

Filter values (``--study-date``, ``-k StudyTime=...``, ``--modality``) are checked
against the form DICOM matching takes (PS3.4 Section C.2.2.2.5, range matching of
dates and times) and a bad one is a usage error (exit 2) that names the expected
form, instead of a query that silently finds nothing.

A file of the wrong kind (not DICOM at all, or DICOM but not what the command works
on: a CT image given to ``srkit measurements``) is skipped with a note on stderr and
the command goes on; exit 1 only when nothing at all could be used. A broken file of
the right kind (truncated, unreadable) stays an error (exit 1).

A user error (an :class:`~srkit.errors.SrkitError`, a missing or unreadable file, an
interrupt) is one line on stderr and exit 1 (:func:`user_errors`), never a traceback.
Nothing here imports click (it is imported for a usage error only): ``srkit dump``
runs without it (:mod:`srkit.cli.shortcut`).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from srkit.errors import SrkitError

if TYPE_CHECKING:
    import click

__all__ = [
    "DATE_FORM",
    "TIME_FORM",
    "check_date",
    "check_date_range",
    "check_time_range",
    "check_modality",
    "check_key_value",
    "is_wrong_kind",
    "summary",
    "report_error",
    "fail",
    "user_errors",
]

F = TypeVar("F", bound=Callable[..., Any])

DATE_FORM = "YYYYMMDD or YYYYMMDD-YYYYMMDD (either end may be left out: -YYYYMMDD, YYYYMMDD-)"
TIME_FORM = "HHMMSS (HH, HHMM, HHMMSS.FFFFFF) or a range HHMMSS-HHMMSS"
MODALITY_FORM = "a modality code such as CT, MR, SR (letters, digits and _; * ? wildcards)"

_TIME = re.compile(r"(\d{2})(\d{2})?(\d{2})?(\.\d{1,6})?")
_MODALITY = re.compile(r"[A-Z0-9_*?]{1,16}")
_NOT_DICOM = "not a DICOM file"
"""How :mod:`srkit.codec.loader` starts the message for a file that is no DICOM at all
(a truncated or unreadable DICOM file says otherwise)."""


def _bad(value: str, hint: str, form: str) -> click.BadParameter:
    return _usage_error(f"{value!r} is not {form}", hint)


def _usage_error(message: str, hint: str) -> click.BadParameter:
    import click

    return click.BadParameter(message, param_hint=hint)


def _is_date(value: str) -> bool:
    """Whether ``value`` is a real date YYYYMMDD."""
    try:
        dt.datetime.strptime(value, "%Y%m%d")
    except ValueError:
        return False
    return len(value) == 8


def check_date(value: str, hint: str) -> str:
    """``value`` if it is a real date YYYYMMDD; a usage error naming the form otherwise."""
    if not _is_date(value):
        raise _bad(value, hint, "a date YYYYMMDD")
    return value


def check_date_range(value: str, hint: str) -> str:
    """A DICOM date or date range (``20040101``, ``20040101-20061231``, ``-20061231``,
    ``20040101-``); a usage error naming :data:`DATE_FORM` otherwise."""
    parts = value.split("-")
    if len(parts) > 2 or not any(parts):
        raise _bad(value, hint, DATE_FORM)
    if not all(_is_date(part) for part in parts if part):
        raise _bad(value, hint, DATE_FORM)
    if len(parts) == 2 and all(parts) and parts[0] > parts[1]:
        raise _usage_error(f"{value!r}: the range ends before it starts", hint)
    return value


def _check_time(value: str) -> bool:
    match = _TIME.fullmatch(value)
    if match is None:
        return False
    hours, minutes, seconds, fraction = match.groups()
    if fraction and not seconds:
        return False
    return int(hours) < 24 and int(minutes or 0) < 60 and int(seconds or 0) < 61


def check_time_range(value: str, hint: str) -> str:
    """A DICOM time or time range; a usage error naming :data:`TIME_FORM` otherwise."""
    parts = value.split("-")
    if len(parts) > 2 or not any(parts) or not all(_check_time(p) for p in parts if p):
        raise _bad(value, hint, TIME_FORM)
    return value


def check_modality(value: str, hint: str) -> str:
    """A modality (or several, backslash-separated), upper-cased (CS values are upper
    case, PS3.5 Table 6.2-1); a usage error otherwise."""
    shown = value.strip().upper()
    if not all(_MODALITY.fullmatch(part) for part in shown.split("\\")):
        raise _bad(value, hint, MODALITY_FORM)
    return shown


def check_key_value(keyword: str, value: str, hint: str) -> str:
    """The value of ``-k KEYWORD=VALUE`` checked by the keyword's VR: a date (DA) or
    a time (TM) must have their matching forms; other VRs go through as given."""
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    tag = tag_for_keyword(keyword)
    if tag is None or not value or value in ("*", "?"):
        return value
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        return value
    if vr == "DA":
        return check_date_range(value, hint)
    if vr == "TM":
        return check_time_range(value, hint)
    if keyword in ("Modality", "ModalitiesInStudy"):
        return check_modality(value, hint)
    return value


def is_wrong_kind(error: SrkitError | str) -> bool:
    """Whether a read error (or an import's rejection reason) says the file is of the
    wrong kind (no DICOM at all, or no SR) rather than broken.

    An error is judged by its code (:data:`srkit.codec.diagnostic_codes.WRONG_KIND_CODES`);
    an import's rejection reason, a string, by how the reader words it."""
    if isinstance(error, SrkitError):
        from srkit.codec.diagnostic_codes import is_wrong_kind as wrong_kind

        return wrong_kind(error)
    return error.startswith(_NOT_DICOM) or error.startswith("not an SR document")


def summary(command: str, **counts: int | str) -> None:
    """One line on stderr: ``srkit measurements: 3 files, 24 rows, 0 errors -> out.csv``.

    Keyword arguments are counts shown as ``<n> <name>`` in the given order (a
    ``_`` in a name is a space); ``out`` (a string) is the destination.
    """
    from srkit.render.escape import escape_control

    out = counts.pop("out", None)
    parts = [f"{n} {_plural(name.replace('_', ' '), n)}" for name, n in counts.items()]
    line = f"srkit {command}: {', '.join(parts)}"
    if out:
        line += f" \u2192 {out}"
    _to_stderr(escape_control(line))


def _to_stderr(line: str) -> None:
    """``line`` on stderr, at once (as ``click.echo(line, err=True)`` writes it)."""
    stream = sys.stderr
    stream.write(line + "\n")
    stream.flush()


def report_error(message: str) -> None:
    """One clear line on stderr, control characters escaped (a file name or a value in
    the message cannot drive the terminal; :func:`srkit.render.escape.escape_control`)."""
    from srkit.render.escape import escape_control

    _to_stderr(f"srkit: {escape_control(message)}")


def fail(message: str) -> None:
    """Print one line on stderr and exit 1 (a user error)."""
    report_error(message)
    raise SystemExit(1)


def user_errors(func: F) -> F:
    """Turn srkit errors (and a few OS errors) into one line on stderr and exit 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SrkitError as exc:
            fail(str(exc))
        except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            fail(f"{exc.filename}: {exc.strerror}")
        except BrokenPipeError:
            # the reader of our output went away (``| head``): not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            raise SystemExit(0) from None
        except KeyboardInterrupt:
            fail("interrupted")
        return None

    return wrapper  # type: ignore[return-value]


def _plural(name: str, n: int | str) -> str:
    """``files`` for 2 files, ``file`` for 1 (only the first word of a name changes)."""
    first, _, rest = name.partition(" ")
    if n == 1 and first.endswith("s") and not first.endswith("ss"):
        first = first[:-1]
    return f"{first} {rest}".strip()
