"""Read policies and the record of problems found while reading (PS3.3 C.17, C.18).

A document that breaks a rule of the SR IODs is read under one of three policies,
chosen per call. :class:`Recorder` is where every problem goes: it raises under the
strict policy and otherwise keeps a :class:`~srkit.diagnostics.Diagnostic` with a
stable code from :mod:`srkit.codec.diagnostic_codes`.
"""

from __future__ import annotations

from enum import StrEnum

from srkit.codec.diagnostic_codes import ReadCode
from srkit.diagnostics import Diagnostic, Severity
from srkit.errors import InvalidDocumentError

__all__ = ["ReadPolicy", "Recorder"]


class ReadPolicy(StrEnum):
    """How the reader treats content that breaks a rule."""

    STRICT = "strict"
    """Raise :class:`InvalidDocumentError` at the first error."""
    TOLERANT = "tolerant"
    """Apply named fix-ups, record every problem as a diagnostic, drop what cannot be typed."""
    PERMISSIVE = "permissive"
    """As tolerant, and keep items that cannot be typed as :class:`UnknownContentItem`."""


class Recorder:
    """The problems found in one document, recorded under one policy.

    Parameters
    ----------
    policy : ReadPolicy
        Strict raises at the first ERROR that no fix-up repaired.
    source : str or None
        The file name, for the error raised under the strict policy.
    """

    __slots__ = ("diagnostics", "policy", "source")

    def __init__(self, policy: ReadPolicy, source: str | None) -> None:
        self.policy = policy
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    def problem(
        self,
        path: str,
        code: ReadCode,
        message: str,
        severity: Severity = Severity.ERROR,
        fixup: str | None = None,
    ) -> None:
        """Record one problem.

        Parameters
        ----------
        path : str
            Content item id (``"1.2"``), or ``""`` for the header.
        code : ReadCode
            The stable code of the kind of problem.
        message : str
            What is wrong, for a person.
        severity : Severity
            ERROR unless said otherwise.
        fixup : str or None
            The registered fix-up (:mod:`srkit.codec.fixups`) that repaired it.

        Raises
        ------
        InvalidDocumentError
            Under the strict policy, for an ERROR no fix-up repaired.
        """
        if self.policy is ReadPolicy.STRICT and severity is Severity.ERROR and fixup is None:
            raise InvalidDocumentError(f"item {path or 'header'}: {message}", source=self.source)
        self.diagnostics.append(
            Diagnostic(path=path, severity=severity, message=message, fixup=fixup, code=code)
        )
