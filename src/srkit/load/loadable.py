"""Loadables: the ways a list of files can be loaded, as Slicer's DICOM module offers them.

A plugin examines the files of a series and proposes :class:`Loadable` records; the
caller (or :func:`srkit.load.select`) picks the ones to load. Findings about the files
(geometry, decoding, references) are :class:`LoadWarning` records with stable codes, so
programs can filter them (PS3.3 C.7.6.2 for the image plane attributes they are about).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from srkit.diagnostics import Severity

__all__ = ["LoadWarning", "Loadable"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadWarning:
    """One coded finding about the files of a loadable.

    Parameters
    ----------
    code : str
        Stable identifier: the name of the check that failed (IDC's volume geometry
        index names where it has one, ``"uniform_slice_spacing"``), or a decoding or
        reference problem (``"truncated_pixel_data"``).
    message : str
        What was found, for a person; names the file when it is about one file.
    severity : Severity
        ``WARNING`` for a geometry that is not a regular volume, ``INFO`` for facts
        worth knowing (obliquity), ``ERROR`` when the loadable cannot be loaded.
    tolerance : dict
        The tolerances the check used (name -> value), empty when none applies.
    measured : dict
        The values the check measured (name -> value).
    files : tuple of str
        The files the finding is about, when it is about some of them.
    """

    code: str
    message: str
    severity: Severity = Severity.WARNING
    tolerance: dict[str, float] = field(default_factory=dict)
    measured: dict[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.severity.value} {self.code}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping for JSON output."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "tolerance": dict(self.tolerance),
            "measured": dict(self.measured),
            "files": list(self.files),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Loadable:
    """One way to load some files.

    Parameters
    ----------
    files : tuple of str
        The files, in the order the plugin will read them.
    name : str
        Short name shown to a person (series description and the sub-series part).
    tooltip : str
        Longer description: why this loadable exists (the sub-series reason).
    warnings : tuple of LoadWarning
        Coded findings; a loadable with an ``ERROR`` finding cannot be loaded.
    selected : bool
        Whether it is proposed for loading (see :func:`srkit.load.select`).
    confidence : float
        How sure the plugin is that this is the right way (0 to 1).
    plugin : str
        Name of the plugin that made it and will load it.
    series_uid : str
        Series Instance UID the files belong to (selection is per series).
    reason : str
        The sub-series split that produced it (``"ImageOrientationPatient"``), or ``""``
        for the whole series.
    extra : dict
        Plugin-specific facts (referenced series, segment count, ...).
    """

    files: tuple[str, ...]
    name: str
    tooltip: str = ""
    warnings: tuple[LoadWarning, ...] = ()
    selected: bool = True
    confidence: float = 0.5
    plugin: str = ""
    series_uid: str = ""
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def warning_codes(self) -> tuple[str, ...]:
        """The codes of the warnings, in order."""
        return tuple(w.code for w in self.warnings)

    @property
    def loadable(self) -> bool:
        """False when a finding of severity ``ERROR`` prevents loading."""
        return not any(w.severity is Severity.ERROR for w in self.warnings)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping for JSON output (``srkit examine --format json``)."""
        return {
            "name": self.name,
            "plugin": self.plugin,
            "series_uid": self.series_uid,
            "reason": self.reason,
            "confidence": self.confidence,
            "selected": self.selected,
            "tooltip": self.tooltip,
            "files": list(self.files),
            "warnings": [w.to_dict() for w in self.warnings],
            "extra": dict(self.extra),
        }
