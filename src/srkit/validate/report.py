"""The validation of many files, the batch verb behind ``srkit validate``: each file
read and checked against its IOD (PS3.3 A.35) and templates (PS3.16), a file that
cannot be read named with its reason, the counts of the whole run."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from srkit.diagnostics import Diagnostic, Severity
from srkit.errors import SrkitError, SrkitWarning

__all__ = ["FileResult", "ValidationReport", "validate_files"]


@dataclass(frozen=True, slots=True)
class FileResult:
    """One file's findings (the reader's and the validator's), or why it was not read.

    Parameters
    ----------
    file : str
        The file as named.
    diagnostics : tuple of Diagnostic
        :func:`srkit.validate.all_diagnostics` of its document.
    sop_class_uid, sop_instance_uid : str
        Of the document (empty when it could not be read).
    templates : tuple of str
        The templates it was checked against (``"1500"``, ...).
    error : SrkitError, optional
        Why the file could not be read.
    """

    file: str
    diagnostics: tuple[Diagnostic, ...] = ()
    sop_class_uid: str = ""
    sop_instance_uid: str = ""
    templates: tuple[str, ...] = ()
    error: SrkitError | None = None

    @property
    def errors(self) -> int:
        """The number of ERROR findings."""
        return sum(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        """The number of WARNING findings."""
        return sum(d.severity is Severity.WARNING for d in self.diagnostics)

    @property
    def ok(self) -> bool:
        """Read, and no ERROR."""
        return self.error is None and self.errors == 0

    def to_dict(self) -> dict[str, Any]:
        """The object of ``srkit validate --format json``."""
        return {
            "file": self.file,
            "sop_class_uid": self.sop_class_uid,
            "sop_instance_uid": self.sop_instance_uid,
            "templates": list(self.templates),
            "errors": self.errors,
            "warnings": self.warnings,
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The results of one run, file by file, in the order given."""

    results: tuple[FileResult, ...]

    @property
    def errors(self) -> int:
        """ERROR findings over all files."""
        return sum(r.errors for r in self.results)

    @property
    def warnings(self) -> int:
        """WARNING findings over all files."""
        return sum(r.warnings for r in self.results)

    @property
    def unreadable(self) -> list[FileResult]:
        """The files that could not be read."""
        return [r for r in self.results if r.error is not None]

    @property
    def ok(self) -> bool:
        """Every file read, none with an ERROR (exit code 0 of ``srkit validate``)."""
        return all(r.ok for r in self.results)

    def summary(self) -> str:
        """One line for people: ``"3 files, 0 errors, 2 warnings"`` (and how many
        could not be read, when any)."""
        text = ", ".join(
            (
                _plural(len(self.results), "file"),
                _plural(self.errors, "error"),
                _plural(self.warnings, "warning"),
            )
        )
        if self.unreadable:
            text += f", {len(self.unreadable)} not read"
        return text


def validate_file(name: str | os.PathLike[str], *, policy: str = "tolerant") -> FileResult:
    """Read and check one file; a file that cannot be read gives its ``error``."""
    from srkit.codec import read
    from srkit.validate import all_diagnostics, templates_for

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SrkitWarning)
            doc = read(name, policy=policy)
    except SrkitError as exc:
        return FileResult(file=os.fspath(name), error=exc)
    return FileResult(
        file=os.fspath(name),
        diagnostics=tuple(all_diagnostics(doc)),
        sop_class_uid=doc.sop_class_uid,
        sop_instance_uid=doc.sop_instance_uid,
        templates=tuple(templates_for(doc)),
    )


def validate_files(
    files: Iterable[str | os.PathLike[str]],
    *,
    policy: str = "tolerant",
    each: Callable[[list[Any]], Iterable[Any]] | None = None,
) -> ValidationReport:
    """Check every file (``policy`` is the reader's: strict, tolerant, permissive);
    ``each`` wraps the list of files (a progress bar)."""
    names = list(files)
    return ValidationReport(
        tuple(validate_file(n, policy=policy) for n in (each(names) if each else names))
    )
