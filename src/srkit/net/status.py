"""DIMSE status codes with their meanings (PS3.7 Annex C; PS3.4 Tables B.2-1, C.4-1,
C.4-2, C.4-3), the one place srkit defines them: the listener's handlers answer with
these constants, the client and the CLI name what they receive with :func:`describe`
(``"move destination unknown (0xA801)"``), and STOW-RS uses the storage codes as its
Failure and Warning Reasons (PS3.18 Table 10.5.3-1).

Storing (C-STORE, and STOW-RS), :func:`store_status`:

===========  ================================================================
``0x0000``   stored, or stored already with the same bytes
``0xB000``   stored with a conflict recorded (patient attributes that differ
             from the study's other files, a Study or Series Instance UID filed
             under another patient or study, kept beside the index as a
             conflicting copy); the Error Comment says which. srkit did not
             change the data set: the warning is about the archive's records.
``0x0111``   refused: the SOP Instance UID is stored already with other bytes
             and the conflict policy is ``keep-first`` (the conflict is recorded)
``0x0124``   refused: the caller may not store
``0xA700``   refused: out of resources (disk, database, bytes in flight)
``0xA900``   error: the data set does not match the SOP Class or the request
``0xC000``   error: cannot understand (not DICOM, cut short, unusable UIDs)
===========  ================================================================

Some codes mean different things in different services (0xA900, 0xB000, 0xC000):
:data:`SERVICE_MEANINGS` holds the meaning per DIMSE service, and
``describe(status, "C-MOVE")`` uses it.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CANCEL",
    "CANNOT_UNDERSTAND",
    "DUPLICATE_SOP_INSTANCE",
    "MEANINGS",
    "MOVE_UNKNOWN_DESTINATION",
    "NOT_AUTHORIZED",
    "NOT_MATCHING",
    "OUT_OF_RESOURCES",
    "PENDING",
    "PENDING_OPTIONAL_KEYS",
    "PROCESSING_FAILURE",
    "RETRIEVE_OUT_OF_RESOURCES",
    "SERVICES",
    "SERVICE_MEANINGS",
    "SOP_CLASS_NOT_SUPPORTED",
    "SUBOPERATIONS_FAILED",
    "SUCCESS",
    "UNABLE_TO_PROCESS",
    "UNRECOGNIZED_OPERATION",
    "WARNING",
    "describe",
    "is_pending",
    "is_success_or_warning",
    "store_status",
]

# -- general statuses (PS3.7 Annex C) -------------------------------------------------
SUCCESS = 0x0000
"""Success (PS3.7 C.1.1)."""
PENDING = 0xFF00
"""Pending: a C-FIND match, or C-MOVE/C-GET sub-operations going on (PS3.7 C.2)."""
PENDING_OPTIONAL_KEYS = 0xFF01
"""Pending, optional keys not supported (PS3.4 Table C.4-1)."""
CANCEL = 0xFE00
"""Cancel: the operation ended after a C-CANCEL (PS3.7 C.3)."""
WARNING = 0xB000
"""Warning: C-STORE with a conflict recorded (srkit); C-MOVE/C-GET sub-operations
completed with failures or warnings (PS3.4 Tables C.4-2, C.4-3)."""
PROCESSING_FAILURE = 0x0110
"""Processing failure (PS3.7 C.5.3)."""
DUPLICATE_SOP_INSTANCE = 0x0111
"""Duplicate SOP Instance (PS3.7 C.5.4): stored already with other content."""
UNRECOGNIZED_OPERATION = 0x0211
"""Unrecognized operation: a command the listener does not provide (PS3.7 C.5.5)."""
SOP_CLASS_NOT_SUPPORTED = 0x0122
"""Refused, SOP Class not supported: a request on a presentation context of another
service (PS3.7 C.5.9)."""
NOT_AUTHORIZED = 0x0124
"""Refused, not authorized: the peers file does not let the caller use the service
(PS3.7 C.5.11)."""

# -- service-specific statuses (PS3.4 Tables B.2-1, C.4-1, C.4-2, C.4-3) ------------
OUT_OF_RESOURCES = 0xA700
"""Refused, out of resources (C-STORE, C-FIND)."""
RETRIEVE_OUT_OF_RESOURCES = 0xA701
"""C-MOVE/C-GET refused: out of resources, unable to calculate the number of matches."""
SUBOPERATIONS_FAILED = 0xA702
"""C-MOVE/C-GET refused: out of resources, unable to perform sub-operations."""
MOVE_UNKNOWN_DESTINATION = 0xA801
"""C-MOVE refused: move destination unknown."""
NOT_MATCHING = 0xA900
"""Error: the data set (C-STORE) or identifier (C-FIND, C-MOVE, C-GET) does not match
the SOP Class."""
CANNOT_UNDERSTAND = 0xC000
"""C-STORE error: cannot understand."""
UNABLE_TO_PROCESS = 0xC000
"""C-FIND, C-MOVE, C-GET failure: unable to process (the code of
:data:`CANNOT_UNDERSTAND`, named for those services)."""

MEANINGS: dict[int, str] = {
    SUCCESS: "success",
    PENDING: "pending",
    PENDING_OPTIONAL_KEYS: "pending (optional keys not supported)",
    CANCEL: "cancelled",
    WARNING: "warning",
    0xB006: "warning: elements discarded",
    0xB007: "warning: data set does not match SOP Class",
    PROCESSING_FAILURE: "processing failure",
    DUPLICATE_SOP_INSTANCE: "duplicate SOP instance with other content",
    SOP_CLASS_NOT_SUPPORTED: "SOP Class not supported",
    NOT_AUTHORIZED: "not authorized",
    UNRECOGNIZED_OPERATION: "unrecognized operation",
    OUT_OF_RESOURCES: "out of resources",
    RETRIEVE_OUT_OF_RESOURCES: "out of resources (number of matches)",
    SUBOPERATIONS_FAILED: "out of resources (sub-operations)",
    MOVE_UNKNOWN_DESTINATION: "move destination unknown",
    NOT_MATCHING: "data set does not match SOP Class or identifier",
    CANNOT_UNDERSTAND: "cannot understand",
}
"""Every status srkit sends or expects, with a short meaning (any service)."""

_RETRIEVE = {
    WARNING: "sub-operations completed with failures or warnings",
    NOT_MATCHING: "identifier does not match SOP Class",
    UNABLE_TO_PROCESS: "unable to process",
}
SERVICE_MEANINGS: dict[str, dict[int, str]] = {
    "C-ECHO": {},
    "C-STORE": {
        WARNING: "stored with a warning (elements coerced, or a conflict recorded)",
        NOT_MATCHING: "data set does not match SOP Class",
    },
    "C-FIND": {
        NOT_MATCHING: "identifier does not match SOP Class",
        UNABLE_TO_PROCESS: "unable to process",
    },
    "C-MOVE": _RETRIEVE,
    "C-GET": _RETRIEVE,
}
"""Meanings that differ from :data:`MEANINGS` in one DIMSE service (PS3.4 Annex B, C)."""
SERVICES = tuple(SERVICE_MEANINGS)
"""The DIMSE-C services :func:`describe` knows by name."""


def describe(status: int, service: str | None = None) -> str:
    """The meaning and the code, for people: ``"move destination unknown (0xA801)"``.

    Parameters
    ----------
    status : int
        A DIMSE status (0x0000-0xFFFF).
    service : str, optional
        ``"C-STORE"``, ``"C-FIND"``, ``"C-MOVE"``, ``"C-GET"`` or ``"C-ECHO"``: use the
        meaning the code has in that service (:data:`SERVICE_MEANINGS`).
    """
    meaning = SERVICE_MEANINGS.get(service or "", {}).get(status) or MEANINGS.get(status)
    if meaning is None:
        high = status & 0xF000
        meaning = {
            0xA000: "failure",
            0xC000: "failure (cannot understand)",
            0xB000: "warning",
        }.get(high, "unknown status")
    return f"{meaning} (0x{status:04X})"


def is_pending(status: int) -> bool:
    """0xFF00 or 0xFF01 (PS3.7 C.2)."""
    return status in (PENDING, PENDING_OPTIONAL_KEYS)


def is_success_or_warning(status: int) -> bool:
    """Success (0x0000) or a warning (0xBxxx, PS3.7 C.4): the operation was done."""
    return status == SUCCESS or (status & 0xF000) == 0xB000


def store_status(outcome: Any) -> tuple[int, str]:
    """The C-STORE status and Error Comment of a :class:`srkit.db.writer.StoreOutcome`."""
    status = outcome.status
    if status == "refused":
        return DUPLICATE_SOP_INSTANCE, "conflict: stored already with other content"
    if outcome.conflicts:
        kinds = sorted({c.kind for c in outcome.conflicts})
        return WARNING, "conflict recorded: " + ", ".join(kinds)
    return SUCCESS, ""
