"""Enumerations of the SR content model (PS3.3 Section C.17.3)."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ValueType",
    "RelationshipType",
    "Continuity",
    "GraphicType",
    "GraphicType3D",
    "TemporalRangeType",
    "CompletionFlag",
    "VerificationFlag",
]


class ValueType(StrEnum):
    """Value Type (0040,A040) of a content item (PS3.3 Table C.17.3-7)."""

    CONTAINER = "CONTAINER"
    """Headings and groups of other items (C.18.8)."""
    TEXT = "TEXT"
    """Free text (C.18.1)."""
    CODE = "CODE"
    """A coded concept (C.18.2)."""
    NUM = "NUM"
    """A number with units (C.18.1, Measured Value Sequence)."""
    DATETIME = "DATETIME"
    """Date and time (C.18.1)."""
    DATE = "DATE"
    """Calendar date (C.18.1)."""
    TIME = "TIME"
    """Time of day (C.18.1)."""
    UIDREF = "UIDREF"
    """A unique identifier (C.18.1)."""
    PNAME = "PNAME"
    """A person's name (C.18.1)."""
    COMPOSITE = "COMPOSITE"
    """A reference to a composite object (C.18.3)."""
    IMAGE = "IMAGE"
    """A reference to an image (C.18.4)."""
    WAVEFORM = "WAVEFORM"
    """A reference to a waveform (C.18.5)."""
    SCOORD = "SCOORD"
    """Spatial coordinates in an image (C.18.6)."""
    SCOORD3D = "SCOORD3D"
    """Spatial coordinates in a frame of reference (C.18.9)."""
    TCOORD = "TCOORD"
    """Temporal coordinates (C.18.7)."""
    TABLE = "TABLE"
    """A table of values (C.18.10)."""
    REFERENCE = "REFERENCE"
    """Not a value type of the standard: a by-reference relationship (C.17.3.2.5)."""


class RelationshipType(StrEnum):
    """Relationship Type (0040,A010) (PS3.3 Table C.17.3-8)."""

    CONTAINS = "CONTAINS"
    HAS_PROPERTIES = "HAS PROPERTIES"
    HAS_OBS_CONTEXT = "HAS OBS CONTEXT"
    HAS_ACQ_CONTEXT = "HAS ACQ CONTEXT"
    INFERRED_FROM = "INFERRED FROM"
    SELECTED_FROM = "SELECTED FROM"
    HAS_CONCEPT_MOD = "HAS CONCEPT MOD"


class Continuity(StrEnum):
    """Continuity of Content (0040,A050) of a CONTAINER."""

    SEPARATE = "SEPARATE"
    CONTINUOUS = "CONTINUOUS"


class GraphicType(StrEnum):
    """Graphic Type (0070,0023) of a SCOORD (PS3.3 C.18.6.1.2)."""

    POINT = "POINT"
    MULTIPOINT = "MULTIPOINT"
    POLYLINE = "POLYLINE"
    CIRCLE = "CIRCLE"
    ELLIPSE = "ELLIPSE"


class GraphicType3D(StrEnum):
    """Graphic Type (0070,0023) of a SCOORD3D (PS3.3 C.18.9.1.2)."""

    POINT = "POINT"
    MULTIPOINT = "MULTIPOINT"
    POLYLINE = "POLYLINE"
    POLYGON = "POLYGON"
    ELLIPSE = "ELLIPSE"
    ELLIPSOID = "ELLIPSOID"


class TemporalRangeType(StrEnum):
    """Temporal Range Type (0040,A130) of a TCOORD (PS3.3 C.18.7.1.1)."""

    POINT = "POINT"
    MULTIPOINT = "MULTIPOINT"
    SEGMENT = "SEGMENT"
    MULTISEGMENT = "MULTISEGMENT"
    BEGIN = "BEGIN"
    END = "END"


class CompletionFlag(StrEnum):
    """Completion Flag (0040,A491)."""

    PARTIAL = "PARTIAL"
    COMPLETE = "COMPLETE"


class VerificationFlag(StrEnum):
    """Verification Flag (0040,A493)."""

    UNVERIFIED = "UNVERIFIED"
    VERIFIED = "VERIFIED"
