"""UID value rules (PS3.5 Section 9.1, Table 6.2-1 for VR UI).

A UID is one to 64 characters of digits and dots; each dot-separated component is a
number without leading zeros (a single ``0`` is allowed) and no component is empty.
Its first component is an ISO/ITU-T root arc: 0, 1 or 2 (ITU-T X.660). dicom3tools'
``dciodvfy`` also rejects the ``0`` arc and the ``2.999`` example arc as roots of a
UID that identifies something; srkit reports the same, so that both tools agree.
"""

from __future__ import annotations

__all__ = ["UidProblem", "uid_problem"]

UidProblem = tuple[str, str]
"""(stable code, reason) of a UID that breaks a rule."""

_DIGITS = frozenset("0123456789")


def _syntax(uid: str) -> str | None:
    if len(uid) > 64:
        return f"longer than 64 characters ({len(uid)})"
    bad = next((ch for ch in uid if ch not in _DIGITS and ch != "."), None)
    if bad is not None:
        return f"character {bad!r} not allowed (digits and '.' only)"
    parts = uid.split(".")
    if any(not p for p in parts):
        return "empty component"
    if any(len(p) > 1 and p[0] == "0" for p in parts):
        return "component with a leading zero"
    if all(set(p) == {"0"} for p in parts):
        return "nothing but zero components"
    return None


def uid_problem(uid: str) -> UidProblem | None:
    """What is wrong with ``uid``, or ``None`` for a valid UID.

    Parameters
    ----------
    uid : str
        The value, without the trailing NUL or space padding.

    Returns
    -------
    tuple of (str, str) or None
        ``("uid-syntax", reason)`` for a value that is not a UID (PS3.5 9.1),
        ``("uid-root", reason)`` for a root no registration authority issues.

    Examples
    --------
    >>> uid_problem("1.2.03")
    ('uid-syntax', 'component with a leading zero')
    >>> uid_problem("9.8.7.6")
    ('uid-root', 'root 9 is not an ISO/ITU-T arc (0, 1 or 2)')
    """
    reason = _syntax(uid)
    if reason is not None:
        return "uid-syntax", reason
    if "." not in uid:
        return None
    root, _, rest = uid.partition(".")
    if root not in ("1", "2"):
        if root == "0":
            return "uid-root", "root 0 (ITU-T) issues no DICOM UIDs"
        return "uid-root", f"root {root} is not an ISO/ITU-T arc (0, 1 or 2)"
    if root == "2" and (rest == "999" or rest.startswith("999.")):
        return "uid-root", "root 2.999 is the ISO/ITU-T example arc"
    return None
