"""The one exception tree and the warning categories of srkit.

Every error srkit raises derives from :class:`SrkitError`; every warning it emits
derives from :class:`SrkitWarning`, so callers can filter by kind.
"""

from __future__ import annotations

__all__ = [
    "SrkitError",
    "NotDicomError",
    "NotStructuredReportError",
    "InvalidDocumentError",
    "UnsupportedError",
    "MissingDependencyError",
    "SrkitWarning",
    "NonConformanceWarning",
    "VendorQuirkWarning",
]


class SrkitError(Exception):
    """Root of every error srkit raises.

    Parameters
    ----------
    message : str
        What went wrong, for a person.
    source : str, optional
        The file (or other source) the error is about.
    code : str, optional
        A stable name of the kind of error, for programs: they test the code, never
        the message, which is for people and may be reworded. Errors that come from
        reading a file use the reader's codes (:class:`srkit.codec.diagnostic_codes.
        ReadCode`: ``"file-truncated"``, ...).
    """

    def __init__(self, message: str, *, source: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.code = code

    def __str__(self) -> str:
        if self.source:
            return f"{self.source}: {self.message}"
        return self.message


class NotDicomError(SrkitError):
    """The input is not a DICOM file, or it is truncated beyond repair."""


class NotStructuredReportError(SrkitError):
    """The input is DICOM but holds no SR document (an image, a SEG, ...)."""


class InvalidDocumentError(SrkitError):
    """The SR content breaks a rule and the read policy does not allow going on."""


class UnsupportedError(SrkitError):
    """A valid request that srkit cannot serve (unknown unit, template, ...)."""


class MissingDependencyError(SrkitError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class SrkitWarning(UserWarning):
    """Root of every warning srkit emits."""


class NonConformanceWarning(SrkitWarning):
    """The data breaks a rule of the standard; srkit went on."""


class VendorQuirkWarning(SrkitWarning):
    """A known vendor mistake was repaired by a named fix-up."""
