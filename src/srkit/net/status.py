"""DIMSE status codes with their meanings (PS3.7 Annex C; PS3.4 B.2.3, C.4.1-C.4.3),
and the status that each outcome of storing an instance gets.

Storing (C-STORE, and the Failure/Warning Reason of STOW-RS, PS3.18 Table 10.5.3-1):

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
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "SUCCESS",
    "PENDING",
    "CANCEL",
    "WARNING",
    "DUPLICATE_SOP_INSTANCE",
    "NOT_AUTHORIZED",
    "OUT_OF_RESOURCES",
    "NOT_MATCHING",
    "CANNOT_UNDERSTAND",
    "MOVE_UNKNOWN_DESTINATION",
    "RETRIEVE_OUT_OF_RESOURCES",
    "SUBOPERATIONS_FAILED",
    "MEANINGS",
    "describe",
    "store_status",
]

SUCCESS = 0x0000
PENDING = 0xFF00
CANCEL = 0xFE00
WARNING = 0xB000
DUPLICATE_SOP_INSTANCE = 0x0111
PROCESSING_FAILURE = 0x0110
NOT_AUTHORIZED = 0x0124
SOP_CLASS_NOT_SUPPORTED = 0x0122
UNRECOGNIZED_OPERATION = 0x0211
OUT_OF_RESOURCES = 0xA700
NOT_MATCHING = 0xA900
CANNOT_UNDERSTAND = 0xC000
MOVE_UNKNOWN_DESTINATION = 0xA801
RETRIEVE_OUT_OF_RESOURCES = 0xA701
SUBOPERATIONS_FAILED = 0xA702

MEANINGS: dict[int, str] = {
    SUCCESS: "success",
    PENDING: "pending",
    0xFF01: "pending (optional keys not supported)",
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
"""Every status srkit sends or expects, with a short meaning."""


def describe(status: int) -> str:
    """``"move destination unknown (0xA801)"``: the meaning and the code, for people."""
    meaning = MEANINGS.get(status)
    if meaning is None:
        high = status & 0xF000
        meaning = {
            0xA000: "failure",
            0xC000: "failure (cannot understand)",
            0xB000: "warning",
        }.get(high, "unknown status")
    return f"{meaning} (0x{status:04X})"


def store_status(outcome: Any) -> tuple[int, str]:
    """The C-STORE status and Error Comment of a :class:`srkit.db.writer.StoreOutcome`."""
    status = outcome.status
    if status == "refused":
        return DUPLICATE_SOP_INSTANCE, "conflict: stored already with other content"
    if outcome.conflicts:
        kinds = sorted({c.kind for c in outcome.conflicts})
        return WARNING, "conflict recorded: " + ", ".join(kinds)
    return SUCCESS, ""
