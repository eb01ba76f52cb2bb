"""Relationship content constraints of the SR IODs (PS3.3 Annex A.35, tables A.35.x-2).

Each IOD's table is a tuple of :class:`RelRow`: a source value type (or several), a
relationship type and the target value types allowed. ``by_reference`` tells whether
the row also admits the target by reference (Referenced Content Item Identifier,
PS3.3 C.17.3.2.5); IODs that forbid by-reference relationships have it false on
every row. The rows follow the tables of the current edition of PS3.3.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RelRow", "TABLES", "allows", "vts"]


def vts(text: str) -> frozenset[str]:
    """``"TEXT CODE NUM"`` -> a frozen set of value types."""
    return frozenset(text.split())


@dataclass(frozen=True, slots=True)
class RelRow:
    """One row of a relationship content constraints table."""

    sources: frozenset[str]
    relationship: str
    targets: frozenset[str]
    by_reference: bool = False
    by_reference_targets: frozenset[str] | None = None
    """When set, only these targets may be referenced (the rest only by value)."""


def _row(
    sources: str,
    relationship: str,
    targets: str,
    *,
    by_reference: bool = False,
    by_reference_targets: str | None = None,
) -> RelRow:
    return RelRow(
        vts(sources),
        relationship,
        vts(targets),
        by_reference,
        vts(by_reference_targets) if by_reference_targets is not None else None,
    )


_ANY = "CONTAINER TEXT CODE NUM DATETIME DATE TIME UIDREF PNAME COMPOSITE IMAGE WAVEFORM SCOORD SCOORD3D TCOORD TABLE"
_DATA = "TEXT CODE DATETIME DATE TIME UIDREF PNAME"
_REFS = "COMPOSITE IMAGE WAVEFORM"

# Table A.35.1-2 Basic Text SR
BASIC_TEXT = (
    _row("CONTAINER", "CONTAINS", f"{_DATA} {_REFS} CONTAINER"),
    _row("CONTAINER", "HAS OBS CONTEXT", f"{_DATA} COMPOSITE"),
    _row(f"CONTAINER {_REFS}", "HAS ACQ CONTEXT", _DATA),
    _row(_ANY, "HAS CONCEPT MOD", "TEXT CODE"),
    _row("TEXT", "HAS PROPERTIES", f"{_DATA} {_REFS}"),
    _row("TEXT", "INFERRED FROM", f"{_DATA} {_REFS}"),
)

# Table A.35.2-2 Enhanced SR
ENHANCED = (
    _row("CONTAINER", "CONTAINS", f"{_DATA} NUM SCOORD TCOORD {_REFS} CONTAINER"),
    _row("CONTAINER", "HAS OBS CONTEXT", f"{_DATA} NUM COMPOSITE"),
    _row(f"CONTAINER {_REFS} NUM", "HAS ACQ CONTEXT", f"{_DATA} NUM"),
    _row(_ANY, "HAS CONCEPT MOD", "TEXT CODE"),
    _row("TEXT CODE NUM", "HAS PROPERTIES", f"{_DATA} NUM {_REFS} SCOORD TCOORD"),
    _row("TEXT CODE NUM", "INFERRED FROM", f"{_DATA} NUM {_REFS} SCOORD TCOORD"),
    _row("SCOORD", "SELECTED FROM", "IMAGE"),
    _row("TCOORD", "SELECTED FROM", "SCOORD IMAGE WAVEFORM"),
)


def _comprehensive(extra: str) -> tuple[RelRow, ...]:
    """Tables A.35.3-2 (Comprehensive), A.35.13-2 (Comprehensive 3D, extra SCOORD3D)
    and A.35.21-2 (Extensible, extra SCOORD3D TABLE): CONTAINS a CONTAINER and
    HAS CONCEPT MOD only by value, everything else by value or by reference."""
    leaf = f"{_DATA} NUM {_REFS} SCOORD TCOORD {extra}"
    return (
        _row(
            "CONTAINER",
            "CONTAINS",
            f"{leaf} CONTAINER",
            by_reference=True,
            by_reference_targets=leaf,
        ),
        _row(
            "CONTAINER TEXT CODE NUM",
            "HAS OBS CONTEXT",
            f"{_DATA} NUM COMPOSITE",
            by_reference=True,
        ),
        _row(
            f"CONTAINER {_REFS} NUM", "HAS ACQ CONTEXT", f"{_DATA} NUM CONTAINER", by_reference=True
        ),
        _row(_ANY, "HAS CONCEPT MOD", "TEXT CODE"),
        _row("TEXT CODE NUM", "HAS PROPERTIES", f"{leaf} CONTAINER", by_reference=True),
        _row("PNAME", "HAS PROPERTIES", _DATA, by_reference=True),
        _row("TEXT CODE NUM", "INFERRED FROM", f"{leaf} CONTAINER", by_reference=True),
        _row("SCOORD", "SELECTED FROM", "IMAGE", by_reference=True),
        _row(
            "TCOORD",
            "SELECTED FROM",
            f"SCOORD {'SCOORD3D ' if extra else ''}IMAGE WAVEFORM",
            by_reference=True,
        ),
    )


# Table A.35.4-2 Key Object Selection Document
KEY_OBJECT = (
    _row("CONTAINER", "CONTAINS", f"TEXT {_REFS}"),
    _row("CONTAINER", "HAS OBS CONTEXT", "TEXT CODE UIDREF PNAME"),
    _row("CONTAINER", "HAS CONCEPT MOD", "CODE"),
)

# Table A.35.5-2 Mammography CAD SR
MAMMOGRAPHY_CAD = (
    _row("CONTAINER", "CONTAINS", "CODE NUM SCOORD IMAGE CONTAINER TEXT DATE"),
    _row(
        "CONTAINER TEXT CODE NUM",
        "HAS OBS CONTEXT",
        "TEXT CODE NUM DATE TIME PNAME UIDREF COMPOSITE",
    ),
    _row("IMAGE", "HAS ACQ CONTEXT", "TEXT CODE DATE TIME NUM"),
    _row("CONTAINER CODE NUM COMPOSITE", "HAS CONCEPT MOD", "TEXT CODE"),
    _row(
        "TEXT CODE NUM",
        "HAS PROPERTIES",
        "CONTAINER TEXT CODE NUM DATE IMAGE SCOORD UIDREF",
        by_reference=True,
    ),
    _row("CODE NUM", "INFERRED FROM", "CODE NUM SCOORD CONTAINER TEXT IMAGE", by_reference=True),
    _row("SCOORD", "SELECTED FROM", "IMAGE", by_reference=True),
)

# Table A.35.6-2 Chest CAD SR
CHEST_CAD = (
    _row("CONTAINER", "CONTAINS", "CODE NUM IMAGE CONTAINER"),
    _row(
        "CONTAINER TEXT CODE NUM",
        "HAS OBS CONTEXT",
        "TEXT CODE NUM DATE TIME PNAME UIDREF COMPOSITE",
    ),
    _row("IMAGE WAVEFORM", "HAS ACQ CONTEXT", "TEXT CODE NUM DATE TIME"),
    _row("CONTAINER CODE COMPOSITE NUM", "HAS CONCEPT MOD", "TEXT CODE"),
    _row(
        "TEXT CODE NUM",
        "HAS PROPERTIES",
        "CONTAINER TEXT CODE NUM DATE IMAGE WAVEFORM SCOORD TCOORD UIDREF",
        by_reference=True,
    ),
    _row(
        "CODE NUM",
        "INFERRED FROM",
        "CODE NUM IMAGE WAVEFORM SCOORD TCOORD CONTAINER TEXT",
        by_reference=True,
    ),
    _row("SCOORD", "SELECTED FROM", "IMAGE", by_reference=True),
    _row("TCOORD", "SELECTED FROM", "SCOORD IMAGE WAVEFORM", by_reference=True),
)

# Table A.35.7-2 Procedure Log
PROCEDURE_LOG = (
    _row("CONTAINER", "CONTAINS", f"TEXT CODE NUM PNAME {_REFS}"),
    _row(_ANY, "HAS OBS CONTEXT", "TEXT CODE NUM DATETIME UIDREF PNAME"),
    _row(f"CONTAINER {_REFS}", "HAS ACQ CONTEXT", f"{_DATA} NUM"),
    _row(_ANY, "HAS CONCEPT MOD", "TEXT CODE"),
    _row(
        "TEXT CODE NUM DATETIME DATE TIME UIDREF PNAME COMPOSITE IMAGE WAVEFORM SCOORD TCOORD",
        "HAS PROPERTIES",
        "TEXT CODE NUM DATETIME UIDREF PNAME",
    ),
    _row("TEXT CODE NUM", "INFERRED FROM", _REFS),
)

# Table A.35.8-2 X-Ray Radiation Dose SR
XRAY_DOSE = (
    _row("CONTAINER", "CONTAINS", "TEXT CODE NUM DATETIME UIDREF PNAME IMAGE COMPOSITE CONTAINER"),
    _row("CONTAINER", "HAS OBS CONTEXT", "TEXT CODE DATETIME UIDREF PNAME"),
    _row("TEXT CODE NUM", "HAS OBS CONTEXT", "TEXT CODE NUM DATETIME UIDREF PNAME COMPOSITE"),
    _row(
        "CONTAINER IMAGE COMPOSITE",
        "HAS ACQ CONTEXT",
        "TEXT CODE NUM DATETIME UIDREF PNAME CONTAINER",
    ),
    _row(_ANY, "HAS CONCEPT MOD", "TEXT CODE"),
    _row(
        "TEXT CODE NUM",
        "HAS PROPERTIES",
        "TEXT CODE NUM DATETIME UIDREF PNAME IMAGE COMPOSITE CONTAINER",
    ),
    _row(
        "TEXT CODE NUM", "INFERRED FROM", "TEXT CODE NUM DATETIME UIDREF IMAGE COMPOSITE CONTAINER"
    ),
    # PNAME of a Person Participant (TID 1020) with its role and organization
    _row("PNAME", "HAS PROPERTIES", "TEXT CODE DATETIME DATE TIME UIDREF PNAME"),
)

# Table A.35.22-2 Enhanced X-Ray Radiation Dose SR: the same constraints
ENHANCED_XRAY_DOSE = XRAY_DOSE

# Table A.35.10-2 Colon CAD SR
COLON_CAD = (
    _row("CONTAINER", "CONTAINS", "CODE NUM IMAGE CONTAINER UIDREF DATE TIME"),
    _row(
        "CONTAINER TEXT CODE NUM",
        "HAS OBS CONTEXT",
        "TEXT CODE NUM DATE TIME PNAME UIDREF COMPOSITE",
    ),
    _row("IMAGE", "HAS ACQ CONTEXT", "TEXT CODE DATE TIME NUM CONTAINER", by_reference=True),
    _row("CONTAINER CODE COMPOSITE NUM", "HAS CONCEPT MOD", "TEXT CODE"),
    _row(
        "TEXT CODE NUM",
        "HAS PROPERTIES",
        "CONTAINER TEXT CODE NUM DATE IMAGE SCOORD SCOORD3D UIDREF",
    ),
    _row(
        "CODE NUM",
        "INFERRED FROM",
        "CODE NUM IMAGE SCOORD SCOORD3D CONTAINER TEXT",
        by_reference=True,
    ),
    _row("SCOORD", "SELECTED FROM", "IMAGE"),
)

# Table A.35.14-2 Radiopharmaceutical Radiation Dose SR
RADIOPHARMACEUTICAL_DOSE = (
    _row("CONTAINER", "CONTAINS", "TEXT CODE NUM DATETIME UIDREF PNAME CONTAINER"),
    _row("TEXT CODE NUM", "HAS OBS CONTEXT", "TEXT CODE NUM DATETIME UIDREF PNAME"),
    _row("CONTAINER", "HAS ACQ CONTEXT", "TEXT CODE NUM DATETIME UIDREF PNAME CONTAINER"),
    _row(_ANY, "HAS CONCEPT MOD", "TEXT CODE"),
    _row("TEXT CODE NUM PNAME", "HAS PROPERTIES", "TEXT CODE NUM DATETIME UIDREF PNAME CONTAINER"),
    _row("TEXT CODE NUM", "INFERRED FROM", "TEXT CODE NUM DATETIME UIDREF CONTAINER"),
)

# Table A.35.16-2 Acquisition Context SR
ACQUISITION_CONTEXT = (
    _row("CONTAINER", "CONTAINS", "CODE CONTAINER DATETIME NUM PNAME TEXT TIME UIDREF"),
    _row("CONTAINER", "HAS OBS CONTEXT", "CODE DATE DATETIME NUM PNAME TEXT TIME UIDREF CONTAINER"),
    _row("CODE", "HAS OBS CONTEXT", "CODE"),
    _row(_ANY, "HAS CONCEPT MOD", "CODE TEXT"),
    _row("CODE", "HAS PROPERTIES", "CODE DATETIME NUM SCOORD3D TEXT"),
)

# Table A.35.17-2 Simplified Adult Echo SR
SIMPLIFIED_ECHO = (
    _row("CONTAINER", "CONTAINS", "TEXT CODE NUM DATETIME UIDREF PNAME CONTAINER"),
    _row(
        "TEXT CODE NUM CONTAINER",
        "HAS OBS CONTEXT",
        "TEXT CODE NUM DATETIME UIDREF PNAME COMPOSITE",
    ),
    _row("CONTAINER", "HAS ACQ CONTEXT", "TEXT CODE NUM DATETIME UIDREF PNAME CONTAINER"),
    _row(_ANY, "HAS CONCEPT MOD", "TEXT CODE"),
    _row("TEXT CODE NUM", "HAS PROPERTIES", "TEXT CODE NUM DATETIME UIDREF PNAME CONTAINER"),
    _row(
        "TEXT CODE NUM",
        "INFERRED FROM",
        "TEXT CODE NUM DATETIME UIDREF CONTAINER IMAGE SCOORD WAVEFORM TCOORD",
    ),
    _row("SCOORD", "SELECTED FROM", "IMAGE"),
    _row("TCOORD", "SELECTED FROM", "WAVEFORM"),
)

# Table A.35.18-2 Patient Radiation Dose SR
PATIENT_DOSE = (
    _row("CONTAINER", "CONTAINS", "TEXT CODE NUM DATETIME UIDREF PNAME IMAGE COMPOSITE CONTAINER"),
    _row("CONTAINER", "HAS OBS CONTEXT", "DATETIME CODE TEXT UIDREF PNAME CONTAINER"),
    _row(
        "TEXT CODE NUM COMPOSITE",
        "HAS OBS CONTEXT",
        "TEXT CODE NUM DATETIME UIDREF PNAME COMPOSITE",
    ),
    _row(
        "CONTAINER IMAGE COMPOSITE",
        "HAS ACQ CONTEXT",
        "TEXT CODE NUM DATETIME UIDREF PNAME CONTAINER",
    ),
    _row(_ANY, "HAS CONCEPT MOD", "TEXT CODE"),
    _row(
        "TEXT CODE NUM COMPOSITE",
        "HAS PROPERTIES",
        "TEXT CODE NUM DATETIME UIDREF PNAME IMAGE COMPOSITE CONTAINER",
    ),
    _row("PNAME", "HAS PROPERTIES", _DATA),
    _row(
        "TEXT CODE NUM", "INFERRED FROM", "TEXT CODE NUM DATETIME UIDREF IMAGE COMPOSITE CONTAINER"
    ),
)

_IA = "TEXT CODE NUM DATETIME DATE UIDREF PNAME"

# Table A.35.19-2 Planned Imaging Agent Administration SR
PLANNED_AGENT = (
    _row("CONTAINER", "CONTAINS", f"{_IA} CONTAINER"),
    _row("TEXT CODE NUM", "HAS OBS CONTEXT", _IA),
    _row("CONTAINER", "HAS OBS CONTEXT", f"{_IA} CONTAINER"),
    _row("CONTAINER NUM", "HAS ACQ CONTEXT", f"{_IA} CONTAINER"),
    _row(_ANY, "HAS CONCEPT MOD", "TEXT CODE"),
    _row("TEXT CODE NUM", "HAS PROPERTIES", f"{_IA} CONTAINER"),
    _row("PNAME", "HAS PROPERTIES", "TEXT CODE DATETIME DATE UIDREF PNAME"),
    _row("TEXT CODE NUM", "INFERRED FROM", f"{_IA} CONTAINER"),
)

# Table A.35.20-2 Performed Imaging Agent Administration SR
PERFORMED_AGENT = (
    _row("CONTAINER", "CONTAINS", f"{_IA} {_REFS} CONTAINER"),
    _row("TEXT CODE NUM", "HAS OBS CONTEXT", f"{_IA} COMPOSITE"),
    _row("CONTAINER", "HAS OBS CONTEXT", f"{_IA} COMPOSITE CONTAINER"),
    _row(f"CONTAINER {_REFS} NUM", "HAS ACQ CONTEXT", f"{_IA} CONTAINER"),
    _row(_ANY, "HAS CONCEPT MOD", "TEXT CODE"),
    _row("TEXT CODE NUM", "HAS PROPERTIES", f"{_IA} {_REFS} CONTAINER"),
    _row("PNAME", "HAS PROPERTIES", "TEXT CODE DATETIME DATE UIDREF PNAME"),
    _row("TEXT CODE NUM", "INFERRED FROM", f"{_IA} {_REFS} CONTAINER"),
)

# Table A.35.23-2 Waveform Annotation SR
WAVEFORM_ANNOTATION = (
    _row("CONTAINER", "CONTAINS", "TEXT CODE NUM TCOORD WAVEFORM CONTAINER"),
    _row("CONTAINER CODE NUM TEXT", "HAS OBS CONTEXT", "CODE PNAME TEXT UIDREF DATE NUM CONTAINER"),
    _row("CONTAINER WAVEFORM", "HAS ACQ CONTEXT", "CODE DATE TIME DATETIME NUM UIDREF"),
    _row("CONTAINER CODE NUM TEXT", "HAS CONCEPT MOD", "TEXT CODE"),
    _row("CODE NUM TEXT", "HAS PROPERTIES", "CODE TEXT NUM"),
    _row("CODE NUM TEXT", "INFERRED FROM", "WAVEFORM TCOORD", by_reference=True),
    _row("TCOORD", "SELECTED FROM", "WAVEFORM", by_reference=True),
)

TABLES: dict[str, tuple[RelRow, ...]] = {
    "A.35.1": BASIC_TEXT,
    "A.35.2": ENHANCED,
    "A.35.3": _comprehensive(""),
    "A.35.13": _comprehensive("SCOORD3D"),
    "A.35.21": _comprehensive("SCOORD3D TABLE"),
    "A.35.4": KEY_OBJECT,
    "A.35.5": MAMMOGRAPHY_CAD,
    "A.35.6": CHEST_CAD,
    "A.35.7": PROCEDURE_LOG,
    "A.35.8": XRAY_DOSE,
    "A.35.10": COLON_CAD,
    "A.35.14": RADIOPHARMACEUTICAL_DOSE,
    "A.35.16": ACQUISITION_CONTEXT,
    "A.35.17": SIMPLIFIED_ECHO,
    "A.35.18": PATIENT_DOSE,
    "A.35.19": PLANNED_AGENT,
    "A.35.20": PERFORMED_AGENT,
    "A.35.22": ENHANCED_XRAY_DOSE,
    "A.35.23": WAVEFORM_ANNOTATION,
}
"""Relationship constraint table by PS3.3 section of the IOD."""


def allows(
    table: tuple[RelRow, ...], source: str, relationship: str, target: str, *, by_reference: bool
) -> bool:
    """Whether ``source --relationship--> target`` is allowed by ``table``."""
    for row in table:
        if relationship != row.relationship or source not in row.sources:
            continue
        if target not in row.targets:
            continue
        if not by_reference:
            return True
        if row.by_reference and (
            row.by_reference_targets is None or target in row.by_reference_targets
        ):
            return True
    return False
