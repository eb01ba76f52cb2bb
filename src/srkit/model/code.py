"""Coded concepts (PS3.3 Section 8.8, Code Sequence Macro)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

__all__ = ["Code", "CodeValueKind"]


class CodeValueKind(StrEnum):
    """Which attribute holds a code's value (PS3.3 Table 8.8-1a)."""

    SHORT = "CodeValue"
    """(0008,0100) Code Value, at most 16 characters."""
    LONG = "LongCodeValue"
    """(0008,0119) Long Code Value, for values longer than 16 characters."""
    URN = "URNCodeValue"
    """(0008,0120) URN Code Value, a URN or URL."""


@cache
def _srt_to_sct() -> dict[str, str]:
    # The SNOMED RT -> SNOMED CT table is data that pydicom ships; the model only
    # borrows it to decide equality, it does no I/O through pydicom.
    from pydicom.sr._snomed_dict import mapping

    table: dict[str, str] = mapping["SRT"]
    return table


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Code:
    """A coded concept.

    Equality follows pydicom's ``Code``: the scheme, the value and the scheme
    version decide, the meaning is ignored, and legacy SNOMED RT (``SRT``) codes
    equal their SNOMED CT (``SCT``) counterparts.

    Parameters
    ----------
    value : str
        Code Value, Long Code Value or URN Code Value (see ``kind``).
    scheme : str
        Coding Scheme Designator (0008,0102).
    meaning : str
        Code Meaning (0008,0104).
    scheme_version : str or None
        Coding Scheme Version (0008,0103).
    kind : CodeValueKind
        Which attribute holds the value; chosen from the value when omitted.
    """

    value: str
    scheme: str
    meaning: str = ""
    scheme_version: str | None = None
    kind: CodeValueKind = field(default=CodeValueKind.SHORT)
    extra: object | None = field(default=None, compare=False, repr=False)
    """Other attributes of the code's sequence item (mapping resource, context
    group ...), kept opaque by the codec so that writing loses nothing."""

    @classmethod
    def make(
        cls, value: str, scheme: str, meaning: str = "", scheme_version: str | None = None
    ) -> Code:
        """Build a code, choosing the value attribute from the value itself."""
        if ":" in value and value.lower().startswith(("urn:", "http:", "https:")):
            kind = CodeValueKind.URN
        elif len(value) > 16:
            kind = CodeValueKind.LONG
        else:
            kind = CodeValueKind.SHORT
        return cls(
            value=value, scheme=scheme, meaning=meaning, scheme_version=scheme_version, kind=kind
        )

    @property
    def key(self) -> tuple[str, str]:
        """(scheme, value) with SNOMED RT mapped to SNOMED CT: what decides equality."""
        if self.scheme == "SRT":
            mapped = _srt_to_sct().get(self.value)
            if mapped is not None:
                return ("SCT", mapped)
        return (self.scheme, self.value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Code):
            # pydicom / highdicom codes compare by the same fields
            value = getattr(other, "value", None)
            scheme = getattr(other, "scheme_designator", None)
            if value is None or scheme is None:
                return NotImplemented
            other = Code(
                value=value, scheme=scheme, scheme_version=getattr(other, "scheme_version", None)
            )
        return self.key == other.key and (
            self.scheme_version == other.scheme_version
            or self.scheme_version is None
            or other.scheme_version is None
        )

    def __hash__(self) -> int:
        return hash(self.key)

    def __str__(self) -> str:
        return f'({self.value}, {self.scheme}, "{self.meaning}")'

    def to_dict(self) -> dict[str, Any]:
        """The contract's code object: ``{"value", "scheme", "meaning"[, "version"]}``."""
        out: dict[str, Any] = {"value": self.value, "scheme": self.scheme, "meaning": self.meaning}
        if self.scheme_version is not None:
            out["version"] = self.scheme_version
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Code:
        """Inverse of :meth:`to_dict`."""
        return cls.make(
            str(data["value"]),
            str(data["scheme"]),
            str(data.get("meaning", "")),
            data.get("version"),
        )
