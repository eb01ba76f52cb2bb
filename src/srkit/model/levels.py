"""Query/Retrieve levels and their unique keys (PS3.4 Section C.6).

The Patient Root and Study Root Query/Retrieve Information Models (PS3.4 C.6.1, C.6.2)
have four levels, PATIENT, STUDY, SERIES and IMAGE, each with one unique key (Table
C.6-1 to C.6-4: Patient ID, Study Instance UID, Series Instance UID, SOP Instance UID).
The same four levels order srkit's archive (patient, study, series, instance tables),
its C-FIND/C-MOVE/C-GET services and DICOMweb's QIDO-RS resources (PS3.18 10.6:
studies, series, instances). Defined here once; ``db/``, ``net/`` and ``cli/`` import
them. Pure data: no pydicom, no I/O.
"""

from __future__ import annotations

from enum import StrEnum

from srkit.errors import SrkitError

__all__ = [
    "Level",
    "LEVELS",
    "UNIQUE_KEYS",
    "LEVEL_ALIASES",
    "normalise_level",
    "unique_key",
    "levels_above",
]


class Level(StrEnum):
    """A Query/Retrieve Level (0008,0052) value (PS3.4 C.6.1.1.1)."""

    PATIENT = "PATIENT"
    STUDY = "STUDY"
    SERIES = "SERIES"
    IMAGE = "IMAGE"


LEVELS: tuple[str, ...] = tuple(level.value for level in Level)
"""The levels from the top (PATIENT) down (IMAGE)."""

UNIQUE_KEYS: dict[str, str] = {
    Level.PATIENT: "PatientID",
    Level.STUDY: "StudyInstanceUID",
    Level.SERIES: "SeriesInstanceUID",
    Level.IMAGE: "SOPInstanceUID",
}
"""The unique key (keyword) of each level (PS3.4 Tables C.6-1 to C.6-4; for PATIENT
the Patient ID, unique within its issuer)."""

LEVEL_ALIASES: dict[str, str] = {
    "INSTANCE": Level.IMAGE,
    "INSTANCES": Level.IMAGE,
    "IMAGES": Level.IMAGE,
    "PATIENTS": Level.PATIENT,
    "STUDIES": Level.STUDY,
}
"""Other spellings accepted for a level: DICOMweb's resource names (PS3.18: studies,
series, instances) and plurals."""


def normalise_level(level: str) -> str:
    """The level ``level`` names (case and aliases ignored).

    Parameters
    ----------
    level : str
        ``"study"``, ``"STUDIES"``, ``"instance"`` ...

    Returns
    -------
    str
        One of :data:`LEVELS`.

    Raises
    ------
    SrkitError
        For anything that names no level.
    """
    name = (level or "").strip().upper()
    name = LEVEL_ALIASES.get(name, name)
    if name not in LEVELS:
        raise SrkitError(f"unknown query level {level!r} (PATIENT, STUDY, SERIES or IMAGE)")
    return name


def unique_key(level: str) -> str:
    """The unique key keyword of ``level`` (aliases accepted)."""
    return UNIQUE_KEYS[normalise_level(level)]


def levels_above(level: str) -> tuple[str, ...]:
    """The levels above ``level``, top first (``"SERIES"`` -> PATIENT, STUDY)."""
    name = normalise_level(level)
    return LEVELS[: LEVELS.index(name)]
