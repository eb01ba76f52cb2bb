"""The stable codes of the diagnostics the codec's reader emits (PS3.3 A.35, C.17, C.18).

Every :class:`~srkit.diagnostics.Diagnostic` the reader records carries one of the
codes below in ``Diagnostic.code``. Programs (the exit code of ``srkit dump``,
filters in other layers, scripts reading ``--format jsonl``) decide on the code,
never on the message, which is for people and may be reworded. A code, once
published, keeps its meaning; a new kind of problem gets a new code.

The codes are kebab-case words, like the validator's (``uid-syntax``,
``retired-attribute``); none of them is used by :mod:`srkit.validate`.

===============================  ========  ================================================
code                             severity  meaning
===============================  ========  ================================================
file-truncated                   ERROR     the bytes stop inside an element; content after
                                           it is lost (a damage code)
not-dicom                        ERROR     no DICOM data set at all (a file of the wrong
                                           kind: batch commands skip it with a note;
                                           the code of the error raised, no diagnostic)
not-structured-report            ERROR     DICOM, but no SR document (the code of the
                                           error raised, no diagnostic)
root-unreadable                  ERROR     the root content item could not be read (a
                                           damage code)
root-not-container               ERROR     the root content item is not a CONTAINER
root-no-title                    ERROR     the root CONTAINER has no Concept Name
trial-findings-sequence          WARNING   no root item; content read from the retired
                                           Findings Sequence (Trial) (fix-up
                                           ``trial_findings_sequence``)
trial-items-typed                WARNING   trial items typed from their value attributes
                                           (fix-up ``trial_findings_sequence``)
trial-item-untyped               ERROR     a trial item has no value attribute to type it by
sop-class-not-sr                 ERROR     the SOP Class UID is not an SR storage class
sop-instance-uid-missing         ERROR     no SOP Instance UID (0008,0018)
study-instance-uid-missing       ERROR     no Study Instance UID (0020,000D)
series-instance-uid-missing      ERROR     no Series Instance UID (0020,000E)
charset-unreadable               ERROR     Specific Character Set (0008,0005) cannot be read
charset-undeclared-8bit          WARNING   8-bit text without a declared character set, read
                                           as ISO_IR 100 (fix-up ``assume_latin1_charset``)
completion-flag-invalid          ERROR     Completion Flag is not PARTIAL or COMPLETE
verification-flag-invalid        ERROR     Verification Flag is not UNVERIFIED or VERIFIED
verifying-observer-missing       WARNING   a VERIFIED document without Verifying Observer
vr-mismatch                      ERROR     an element is stored with another VR than its own
value-unreadable                 ERROR     an element's value cannot be decoded
sequence-unreadable              ERROR     a sequence's bytes cannot be parsed
not-a-sequence                   ERROR     an element that must be a sequence holds a value
code-unreadable                  ERROR     a code item cannot be decoded
code-incomplete                  ERROR     a code without value or coding scheme designator
code-multiple-items              ERROR     a code sequence with more than one item
tree-too-deep                    ERROR     the content tree is deeper than the reader's
                                           limit; cut there
item-unreadable                  ERROR     a content item raised an unforeseen error
relationship-missing             ERROR     a content item without Relationship Type
relationship-unknown             ERROR     a Relationship Type PS3.3 C.17.3.2.4 does not list
concept-name-missing             ERROR     an item whose value type requires a Concept Name
value-type-missing               ERROR     a content item without Value Type
value-type-unknown               ERROR     a Value Type PS3.3 C.17.3.2.1 does not list
value-missing                    ERROR     an item without its value attribute (Text Value,
                                           Date, Concept Code Sequence, Numeric Value, ...)
value-empty                      ERROR     a type 1 value attribute that is empty
continuity-missing               ERROR     a CONTAINER without Continuity of Content
continuity-invalid               ERROR     Continuity of Content is not SEPARATE/CONTINUOUS
measured-value-missing           ERROR     a NUM without Measured Value Sequence (type 2)
num-without-value                WARNING   a NUM with an empty Measured Value Sequence and no
                                           Numeric Value Qualifier
measured-value-multiple          ERROR     a Measured Value Sequence with several items
numeric-value-invalid            ERROR     a Numeric Value that is not a decimal string
units-missing                    ERROR     a NUM without Measurement Units
sop-reference-missing            ERROR     COMPOSITE/IMAGE/WAVEFORM without Referenced SOP
                                           Sequence
sop-reference-multiple           ERROR     a Referenced SOP Sequence with several items
sop-reference-incomplete         ERROR     a reference without SOP Class or Instance UID
sop-reference-invalid-uid        ERROR     a reference whose UIDs are not UIDs (PS3.5 9.1)
frame-number-unreadable          ERROR     Referenced Frame Number cannot be decoded
frame-number-invalid             ERROR     a frame number that is not an integer
graphic-type-missing             ERROR     spatial coordinates without Graphic Type
graphic-data-missing             ERROR     spatial coordinates without Graphic Data
graphic-data-count               ERROR     Graphic Data not in (x, y) pairs / (x, y, z)
frame-of-reference-missing       ERROR     SCOORD3D without Referenced Frame of Reference UID
temporal-range-type-missing      ERROR     TCOORD without Temporal Range Type
temporal-coordinates-unreadable  ERROR     TCOORD offsets or datetimes cannot be decoded
temporal-coordinates-count       ERROR     TCOORD without exactly one kind of coordinates
time-offsets-invalid             ERROR     TCOORD time offsets that are not decimal strings
reference-dangling               ERROR     a by-reference target that does not exist
reference-to-ancestor            ERROR     a by-reference relationship to the item itself or
                                           an ancestor (PS3.3 C.17.3.1)
reference-cycle                  INFO      a loop through several by-reference relationships
===============================  ========  ================================================

Under the strict policy an ERROR without a fix-up raises
:class:`~srkit.errors.InvalidDocumentError` instead of being recorded.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from srkit.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from srkit.model.document import Document

__all__ = ["DAMAGE_CODES", "WRONG_KIND_CODES", "ReadCode", "damage", "is_wrong_kind"]


class ReadCode(StrEnum):
    """The code of each kind of problem the reader records (see the module's table)."""

    FILE_TRUNCATED = "file-truncated"
    NOT_DICOM = "not-dicom"
    NOT_STRUCTURED_REPORT = "not-structured-report"
    ROOT_UNREADABLE = "root-unreadable"
    ROOT_NOT_CONTAINER = "root-not-container"
    ROOT_NO_TITLE = "root-no-title"
    TRIAL_FINDINGS_SEQUENCE = "trial-findings-sequence"
    TRIAL_ITEMS_TYPED = "trial-items-typed"
    TRIAL_ITEM_UNTYPED = "trial-item-untyped"
    SOP_CLASS_NOT_SR = "sop-class-not-sr"
    SOP_INSTANCE_UID_MISSING = "sop-instance-uid-missing"
    STUDY_INSTANCE_UID_MISSING = "study-instance-uid-missing"
    SERIES_INSTANCE_UID_MISSING = "series-instance-uid-missing"
    CHARSET_UNREADABLE = "charset-unreadable"
    CHARSET_UNDECLARED_8BIT = "charset-undeclared-8bit"
    COMPLETION_FLAG_INVALID = "completion-flag-invalid"
    VERIFICATION_FLAG_INVALID = "verification-flag-invalid"
    VERIFYING_OBSERVER_MISSING = "verifying-observer-missing"
    VR_MISMATCH = "vr-mismatch"
    VALUE_UNREADABLE = "value-unreadable"
    SEQUENCE_UNREADABLE = "sequence-unreadable"
    NOT_A_SEQUENCE = "not-a-sequence"
    CODE_UNREADABLE = "code-unreadable"
    CODE_INCOMPLETE = "code-incomplete"
    CODE_MULTIPLE_ITEMS = "code-multiple-items"
    TREE_TOO_DEEP = "tree-too-deep"
    ITEM_UNREADABLE = "item-unreadable"
    RELATIONSHIP_MISSING = "relationship-missing"
    RELATIONSHIP_UNKNOWN = "relationship-unknown"
    CONCEPT_NAME_MISSING = "concept-name-missing"
    VALUE_TYPE_MISSING = "value-type-missing"
    VALUE_TYPE_UNKNOWN = "value-type-unknown"
    VALUE_MISSING = "value-missing"
    VALUE_EMPTY = "value-empty"
    CONTINUITY_MISSING = "continuity-missing"
    CONTINUITY_INVALID = "continuity-invalid"
    MEASURED_VALUE_MISSING = "measured-value-missing"
    NUM_WITHOUT_VALUE = "num-without-value"
    MEASURED_VALUE_MULTIPLE = "measured-value-multiple"
    NUMERIC_VALUE_INVALID = "numeric-value-invalid"
    UNITS_MISSING = "units-missing"
    SOP_REFERENCE_MISSING = "sop-reference-missing"
    SOP_REFERENCE_MULTIPLE = "sop-reference-multiple"
    SOP_REFERENCE_INCOMPLETE = "sop-reference-incomplete"
    SOP_REFERENCE_INVALID_UID = "sop-reference-invalid-uid"
    FRAME_NUMBER_UNREADABLE = "frame-number-unreadable"
    FRAME_NUMBER_INVALID = "frame-number-invalid"
    GRAPHIC_TYPE_MISSING = "graphic-type-missing"
    GRAPHIC_DATA_MISSING = "graphic-data-missing"
    GRAPHIC_DATA_COUNT = "graphic-data-count"
    FRAME_OF_REFERENCE_MISSING = "frame-of-reference-missing"
    TEMPORAL_RANGE_TYPE_MISSING = "temporal-range-type-missing"
    TEMPORAL_COORDINATES_UNREADABLE = "temporal-coordinates-unreadable"
    TEMPORAL_COORDINATES_COUNT = "temporal-coordinates-count"
    TIME_OFFSETS_INVALID = "time-offsets-invalid"
    REFERENCE_DANGLING = "reference-dangling"
    REFERENCE_TO_ANCESTOR = "reference-to-ancestor"
    REFERENCE_CYCLE = "reference-cycle"


DAMAGE_CODES = frozenset({ReadCode.FILE_TRUNCATED, ReadCode.ROOT_UNREADABLE})

WRONG_KIND_CODES = frozenset({ReadCode.NOT_DICOM, ReadCode.NOT_STRUCTURED_REPORT})
"""The codes of errors that say a file is of the wrong kind (no DICOM, no SR) rather
than broken: batch commands skip such a file with a note (``srkit.cli.faces``)."""


def is_wrong_kind(error: BaseException) -> bool:
    """Whether a read error says the file is of the wrong kind, by its code."""
    return getattr(error, "code", None) in WRONG_KIND_CODES


"""Codes saying the file itself is damaged: the document holds only part of what
the file should have held (``srkit dump`` exits 1 on them)."""


def damage(doc: Document) -> Diagnostic | None:
    """The diagnostic saying the file itself is damaged (truncated, no readable root),
    if any: the document holds only part of what the file should have held.

    Parameters
    ----------
    doc : Document
        A document returned by :func:`srkit.codec.read`.

    Returns
    -------
    Diagnostic or None
        The first ERROR whose code is in :data:`DAMAGE_CODES`.
    """
    for diag in doc.diagnostics:
        if diag.severity is Severity.ERROR and diag.code in DAMAGE_CODES:
            return diag
    return None
