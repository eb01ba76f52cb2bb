"""The storage folder: files named by their UIDs, written atomically, never outside it.

Layout: ``<storage>/<Study Instance UID>/<Series Instance UID>/<SOP Instance UID>.dcm``.
UIDs are checked against PS3.5 9.1 (digits and dots, at most 64 characters) before
they become names, so a hostile UID such as ``../../x`` cannot escape the folder.
Files reach the layout from staged files (:mod:`srkit.db.staging`, in
``<storage>/.staging``), renamed into place.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from srkit.errors import SrkitError

__all__ = ["check_uid", "is_inside", "remove_file", "storage_path"]

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
    folder = _series_folder(str(root), study_uid, series_uid)
    return Path(f"{folder}{check_uid(sop_uid, 'SOP Instance UID')}.dcm")


@functools.lru_cache(maxsize=4096)
def _series_folder(root: str, study_uid: str, series_uid: str) -> str:
    """``<root>/<study>/<series>/`` as text, once per series (a series' instances
    arrive together; building and checking the path was a tenth of indexing one)."""
    folder = os.path.join(
        root,
        check_uid(study_uid, "Study Instance UID"),
        check_uid(series_uid, "Series Instance UID"),
        "",
    )
    # the UID check already prevents escaping (digits and dots, no empty component);
    # a lexical check keeps that promise without resolving the path on every store
    if not os.path.normpath(folder).startswith(os.path.normpath(root) + os.sep):
        raise SrkitError(f"{folder}: outside the storage folder")  # pragma: no cover
    return folder


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
