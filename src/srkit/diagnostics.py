"""Diagnostic records: problems found in a document, kept as data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Severity", "Diagnostic"]


class Severity(StrEnum):
    """How bad a finding is."""

    ERROR = "ERROR"
    """The document breaks a rule of the standard."""
    WARNING = "WARNING"
    """Questionable content, or a vendor mistake that srkit repaired."""
    INFO = "INFO"
    """Worth knowing; nothing wrong."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    """One problem found in a document.

    Parameters
    ----------
    path : str
        Position id of the content item (``"1.2.3"``), or ``""`` for the header.
    severity : Severity
        How bad it is.
    message : str
        What is wrong, for a person.
    fixup : str or None
        Name of the fix-up that repaired it, if one did.
    code : str or None
        Stable identifier of the rule that found it (``"uid-root"``), for programs
        that filter findings; ``None`` for rules that have none yet.
    """

    path: str
    severity: Severity
    message: str
    fixup: str | None = None
    code: str | None = None

    def __str__(self) -> str:
        where = self.path or "header"
        fix = f" [fixed by {self.fixup}]" if self.fixup else ""
        return f"{self.severity.value} {where}: {self.message}{fix}"

    def to_dict(self) -> dict[str, str | None]:
        """Plain mapping for JSON output."""
        return {
            "path": self.path,
            "severity": self.severity.value,
            "message": self.message,
            "fixup": self.fixup,
            "code": self.code,
        }
