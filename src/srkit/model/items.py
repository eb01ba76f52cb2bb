"""Content items, one class per value type (PS3.3 Section C.17.3 and C.18).

Items are frozen; children are tuples in sequence order. A by-reference item
(:class:`ReferenceContentItem`) stores the target's position, as DCMTK numbers it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from srkit.model.code import Code
from srkit.model.enums import ValueType
from srkit.model.value_object import ValueObject

__all__ = [
    "SopReference",
    "TemplateId",
    "ContentItem",
    "ContainerContentItem",
    "TextContentItem",
    "CodeContentItem",
    "NumContentItem",
    "DateTimeContentItem",
    "DateContentItem",
    "TimeContentItem",
    "UidRefContentItem",
    "PNameContentItem",
    "CompositeContentItem",
    "ImageContentItem",
    "WaveformContentItem",
    "ScoordContentItem",
    "Scoord3DContentItem",
    "TcoordContentItem",
    "TableContentItem",
    "ReferenceContentItem",
    "UnknownContentItem",
    "ITEM_CLASSES",
]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class SopReference(ValueObject):
    """Referenced SOP Class UID (0008,1150) and Instance UID (0008,1155)."""

    sop_class_uid: str
    sop_instance_uid: str


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class TemplateId(ValueObject):
    """Content Template Sequence (0040,A504): mapping resource and template id."""

    identifier: str
    mapping_resource: str = "DCMR"
    mapping_resource_uid: str | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class ContentItem(ValueObject):
    """Attributes every content item shares (PS3.3 Table C.17-6).

    Parameters
    ----------
    relationship : str or None
        Relationship Type (0040,A010) to the parent; ``None`` for the root.
    concept : Code or None
        Concept Name Code Sequence (0040,A043).
    children : tuple of ContentItem
        Content Sequence (0040,A730), in order.
    observation_datetime : str or None
        Observation DateTime (0040,A032) as stored.
    observation_uid : str or None
        Observation UID (0040,A171).
    extra : object or None
        Attributes of the item that the model does not name (private ones
        among them), kept opaque by the codec so that writing loses nothing.
    """

    value_type: ClassVar[str] = ""
    relationship: str | None = None
    concept: Code | None = None
    children: tuple[ContentItem, ...] = ()
    observation_datetime: str | None = None
    observation_uid: str | None = None
    extra: object | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class ContainerContentItem(ContentItem):
    """CONTAINER (C.18.8): a heading for its children."""

    value_type: ClassVar[str] = ValueType.CONTAINER
    continuity: str = "SEPARATE"
    template: TemplateId | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class TextContentItem(ContentItem):
    """TEXT (C.18.1): Text Value (0040,A160)."""

    value_type: ClassVar[str] = ValueType.TEXT
    value: str = ""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class CodeContentItem(ContentItem):
    """CODE (C.18.2): Concept Code Sequence (0040,A168)."""

    value_type: ClassVar[str] = ValueType.CODE
    value: Code | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class NumContentItem(ContentItem):
    """NUM (C.18.1): Measured Value Sequence (0040,A300).

    Parameters
    ----------
    number : str or None
        Numeric Value (0040,A30A) exactly as stored, trimmed; ``None`` when the
        Measured Value Sequence is empty.
    units : Code or None
        Measurement Units Code Sequence (0040,08EA).
    qualifier : Code or None
        Numeric Value Qualifier Code Sequence (0040,A301).
    float_value : float or None
        Floating Point Value (0040,A161).
    rational : tuple of int or None
        Rational Numerator Value (0040,A162) and Denominator Value (0040,A163).
    """

    value_type: ClassVar[str] = ValueType.NUM
    number: str | None = None
    units: Code | None = None
    qualifier: Code | None = None
    float_value: float | None = None
    rational: tuple[int, int] | None = None

    @property
    def value(self) -> float | None:
        """The measured value as a float (the floating point value wins)."""
        if self.float_value is not None:
            return self.float_value
        if self.number is None:
            return None
        try:
            return float(self.number)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class DateTimeContentItem(ContentItem):
    """DATETIME (C.18.1): DateTime (0040,A120) as stored."""

    value_type: ClassVar[str] = ValueType.DATETIME
    value: str = ""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class DateContentItem(ContentItem):
    """DATE (C.18.1): Date (0040,A121) as stored."""

    value_type: ClassVar[str] = ValueType.DATE
    value: str = ""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class TimeContentItem(ContentItem):
    """TIME (C.18.1): Time (0040,A122) as stored."""

    value_type: ClassVar[str] = ValueType.TIME
    value: str = ""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class UidRefContentItem(ContentItem):
    """UIDREF (C.18.1): UID (0040,A124)."""

    value_type: ClassVar[str] = ValueType.UIDREF
    value: str = ""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class PNameContentItem(ContentItem):
    """PNAME (C.18.1): Person Name (0040,A123) as stored."""

    value_type: ClassVar[str] = ValueType.PNAME
    value: str = ""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class CompositeContentItem(ContentItem):
    """COMPOSITE (C.18.3): Referenced SOP Sequence (0008,1199), one item."""

    value_type: ClassVar[str] = ValueType.COMPOSITE
    referenced: SopReference | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class ImageContentItem(ContentItem):
    """IMAGE (C.18.4): an image, its frames or segments, its presentation state."""

    value_type: ClassVar[str] = ValueType.IMAGE
    referenced: SopReference | None = None
    frames: tuple[int, ...] | None = None
    segments: tuple[int, ...] | None = None
    presentation_state: SopReference | None = None
    real_world_value_mapping: SopReference | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class WaveformContentItem(ContentItem):
    """WAVEFORM (C.18.5): a waveform and its channels (pairs, flattened)."""

    value_type: ClassVar[str] = ValueType.WAVEFORM
    referenced: SopReference | None = None
    channels: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class ScoordContentItem(ContentItem):
    """SCOORD (C.18.6): Graphic Type (0070,0023) and Graphic Data (0070,0022)."""

    value_type: ClassVar[str] = ValueType.SCOORD
    graphic_type: str = "POINT"
    data: tuple[float, ...] = ()
    pixel_origin_interpretation: str | None = None
    fiducial_uid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Scoord3DContentItem(ContentItem):
    """SCOORD3D (C.18.9): coordinates in a Referenced Frame of Reference (3006,0024)."""

    value_type: ClassVar[str] = ValueType.SCOORD3D
    graphic_type: str = "POINT"
    data: tuple[float, ...] = ()
    frame_of_reference_uid: str = ""
    fiducial_uid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class TcoordContentItem(ContentItem):
    """TCOORD (C.18.7): Temporal Range Type (0040,A130) and one list of positions."""

    value_type: ClassVar[str] = ValueType.TCOORD
    range_type: str = "POINT"
    sample_positions: tuple[int, ...] | None = None
    time_offsets: tuple[float, ...] | None = None
    datetimes: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class TableContentItem(ContentItem):
    """TABLE (C.18.10). Its value attributes are kept in ``extra``, unmodelled."""

    value_type: ClassVar[str] = ValueType.TABLE


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class ReferenceContentItem(ContentItem):
    """A by-reference relationship: Referenced Content Item Identifier (0040,DB73).

    ``ref`` is the target's position, ``(1, 2, 3)`` for item ``"1.2.3"``.
    """

    value_type: ClassVar[str] = ValueType.REFERENCE
    ref: tuple[int, ...] = ()

    @property
    def ref_id(self) -> str:
        """The target's position id, ``"1.2.3"``."""
        return ".".join(str(i) for i in self.ref)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class UnknownContentItem(ContentItem):
    """An item whose value type srkit cannot type (kept by the permissive policy)."""

    declared_value_type: str = ""

    @property
    def type_name(self) -> str:
        """The value type as the file declared it."""
        return self.declared_value_type


ITEM_CLASSES: dict[str, type[ContentItem]] = {
    cls.value_type: cls
    for cls in (
        ContainerContentItem,
        TextContentItem,
        CodeContentItem,
        NumContentItem,
        DateTimeContentItem,
        DateContentItem,
        TimeContentItem,
        UidRefContentItem,
        PNameContentItem,
        CompositeContentItem,
        ImageContentItem,
        WaveformContentItem,
        ScoordContentItem,
        Scoord3DContentItem,
        TcoordContentItem,
        TableContentItem,
    )
}
"""Item class by value type."""
