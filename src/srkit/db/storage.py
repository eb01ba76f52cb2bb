"""The storage folder: files named by their UIDs, written atomically, never outside it.

Layout: ``<storage>/<Study Instance UID>/<Series Instance UID>/<SOP Instance UID>.dcm``.
UIDs are checked against PS3.5 9.1 (digits and dots, at most 64 characters) before
they become names, so a hostile UID such as ``../../x`` cannot escape the folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

from srkit.errors import SrkitError

__all__ = ["check_uid", "is_inside", "remove_file", "stage", "storage_path"]

_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
PART_SUFFIX = ".part"


def check_uid(uid: str, what: str = "UID") -> str:
    """The UID itself when it is a valid UID (PS3.5 9.1); :class:`SrkitError` otherwise.

    Parameters
    ----------
    uid : str
        The value to check (trailing spaces and NULs, the UI padding, are removed).
    what : str
        The attribute's name, for the message.
    """
    value = (uid or "").rstrip("\x00 ")
    if not value or len(value) > 64 or not _UID.fullmatch(value):
        raise SrkitError(f"invalid {what} {uid!r}: not usable as a file name")
    return value


def is_inside(path: Path, root: Path) -> bool:
    """True when ``path`` (resolved) lies inside ``root`` (resolved)."""
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def storage_path(root: Path, study_uid: str, series_uid: str, sop_uid: str) -> Path:
    """The file for an instance in the storage layout; the UIDs are validated first."""
    path = (
        root
        / check_uid(study_uid, "Study Instance UID")
        / check_uid(series_uid, "Series Instance UID")
        / f"{check_uid(sop_uid, 'SOP Instance UID')}.dcm"
    )
    # the UID check already prevents escaping (digits and dots, no empty component);
    # a lexical check keeps that promise without resolving the path on every store
    if os.path.normpath(path).startswith(os.path.normpath(root) + os.sep) is False:
        raise SrkitError(f"{path}: outside the storage folder")  # pragma: no cover
    return path


def stage(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path`` (not yet under its name).

    The caller renames it into place with :func:`os.replace` (atomic) or removes it.
    Raises :class:`SrkitError` when the file cannot be written (nothing stays behind).
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{PART_SUFFIX}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as out:
            out.write(data)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise SrkitError(f"cannot write: {exc.strerror}", source=str(path)) from None
    return tmp


def remove_file(path: Path, root: Path) -> bool:
    """Delete a stored copy (only inside ``root``) and the folders it leaves empty."""
    if not is_inside(path, root):
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    parent = path.parent
    for _ in range(2):
        if parent == root or not is_inside(parent, root):
            break
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent
    return True


def clean_partial(root: Path) -> int:
    """Remove temporary files that an interrupted write left behind; returns the count."""
    count = 0
    if not root.is_dir():
        return 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.startswith(".") and name.endswith(PART_SUFFIX):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(dirpath, name))
                    count += 1
    return count
