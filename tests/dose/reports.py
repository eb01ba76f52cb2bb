"""Dose reports of the shared RDSRs, read once per test session."""

from __future__ import annotations

from functools import cache

from srkit.codec import read
from srkit.templates.dose import dose_report
from srkit.templates.dose_common import DoseReport
from tests.conftest import data_path


@cache
def report_of(name: str) -> DoseReport:
    """The dose report of a shared file (it must be one)."""
    report = dose_report(read(data_path(name)))
    assert report is not None
    return report


def fixups_of(report: DoseReport) -> set[str]:
    """The names of the fix-ups applied while reading ``report``."""
    return {d.fixup for d in report.diagnostics if d.fixup}
