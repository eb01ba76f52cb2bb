"""UCUM units: parsing, conversion, and the units the dose templates prescribe.

The dose templates of PS3.16 (TID 10001-10007, TID 10011-10015) name one unit per
numeric concept (``UNITS = EV (mGy.cm, UCUM, "mGy.cm")``); every number srkit
tabulates is converted to that unit, whatever the vendor wrote. The parser covers
the part of UCUM (https://ucum.org/ucum) that dose reports use: prefixes, atoms,
integer exponents, products (``.``), quotients (``/``) and annotations (``{events}``).
A unit that cannot be converted raises :class:`UnitError`; callers turn it into a
diagnostic, never into a number.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

from srkit.errors import UnsupportedError

__all__ = [
    "UnitError",
    "Unit",
    "parse_ucum",
    "conversion_factor",
    "convert",
    "PRESCRIBED_UNITS",
    "PRESCRIBED_BY_TEMPLATE",
    "TEMPLATE_ROWS",
    "template_family",
    "prescribed_unit",
    "UNIT_MEANINGS",
    "STANDARD_SPELLINGS",
    "standard_unit",
]


class UnitError(UnsupportedError):
    """A unit srkit cannot parse, or two units of different dimensions."""


# base dimensions; Gy and Sv, V and A are kept apart on purpose (no J/kg trickery:
# a dose in Sv must never silently become a dose in Gy)
_DIMS = ("m", "g", "s", "A", "V", "Gy", "Sv", "rad")

_ATOMS: dict[str, tuple[float, dict[str, int]]] = {
    "m": (1.0, {"m": 1}),
    "g": (1.0, {"g": 1}),
    "s": (1.0, {"s": 1}),
    "min": (60.0, {"s": 1}),
    "h": (3600.0, {"s": 1}),
    "A": (1.0, {"A": 1}),
    "V": (1.0, {"V": 1}),
    "Gy": (1.0, {"Gy": 1}),
    "Sv": (1.0, {"Sv": 1}),
    "rad": (1.0, {"rad": 1}),
    "deg": (math.pi / 180.0, {"rad": 1}),
    "Hz": (1.0, {"s": -1}),
    "L": (1e-3, {"m": 3}),
    "l": (1e-3, {"m": 3}),
    "%": (0.01, {}),
    "1": (1.0, {}),
}
_ATOMS_NO_PREFIX = frozenset({"min", "h", "deg", "%", "1", "rad"})

_PREFIXES: dict[str, float] = {
    "Y": 1e24, "Z": 1e21, "E": 1e18, "P": 1e15, "T": 1e12, "G": 1e9, "M": 1e6,
    "k": 1e3, "h": 1e2, "da": 1e1, "d": 1e-1, "c": 1e-2, "m": 1e-3, "u": 1e-6,
    "n": 1e-9, "p": 1e-12, "f": 1e-15, "a": 1e-18,
}  # fmt: skip

_COMPONENT = re.compile(r"^([A-Za-z%]+|1)(-?\d+)?$")
_ANNOTATION = re.compile(r"\{[^{}]*\}")
_GROUP = re.compile(r"/\(([^()/]*)\)")


@dataclass(frozen=True, slots=True)
class Unit:
    """A parsed unit: a factor to the base units and a dimension vector."""

    factor: float
    dims: tuple[int, ...]

    @property
    def dimensionless(self) -> bool:
        """True for counts, ratios and annotations (``1``, ``{events}``, ``%``)."""
        return not any(self.dims)


def _atom(symbol: str) -> tuple[float, dict[str, int]] | None:
    if symbol in _ATOMS:
        return _ATOMS[symbol]
    for prefix in sorted(_PREFIXES, key=len, reverse=True):
        if symbol.startswith(prefix):
            rest = symbol[len(prefix) :]
            if rest in _ATOMS and rest not in _ATOMS_NO_PREFIX:
                factor, dims = _ATOMS[rest]
                return _PREFIXES[prefix] * factor, dims
    return None


def _component(text: str, original: str) -> tuple[float, dict[str, int]]:
    if text == "":
        return 1.0, {}  # a bare annotation, "{events}"
    match = _COMPONENT.match(text)
    if match is None:
        raise UnitError(f"not a UCUM unit: {original!r}")
    found = _atom(match.group(1))
    if found is None:
        raise UnitError(f"not a UCUM unit: {original!r}")
    exponent = int(match.group(2) or 1)
    factor, dims = found
    return factor**exponent, {k: v * exponent for k, v in dims.items()}


@cache
def parse_ucum(code: str) -> Unit:
    """Parse a UCUM expression (``"mGy.cm"``, ``"dGy.cm2"``, ``"{pulse}/s"``).

    Raises
    ------
    UnitError
        For anything outside the supported subset of UCUM.
    """
    text = _ANNOTATION.sub("", code.strip())
    # one parenthesised divisor, "mSv/(mGy.cm)": every factor in it divides
    text = _GROUP.sub(lambda m: "/" + m.group(1).replace(".", "/"), text)
    if code.strip() == "" or "{" in text or "}" in text or " " in text:
        raise UnitError(f"not a UCUM unit: {code!r}")
    factor = 1.0
    dims = dict.fromkeys(_DIMS, 0)
    sign = 1
    token = ""
    for char in text + ".":
        if char in "./":
            f, d = _component(token, code)
            factor = factor * f if sign > 0 else factor / f
            for k, v in d.items():
                dims[k] += sign * v
            sign = -1 if char == "/" else 1
            token = ""
        else:
            token += char
    return Unit(factor, tuple(dims[k] for k in _DIMS))


def conversion_factor(from_unit: str, to_unit: str) -> float:
    """The factor that turns a number in ``from_unit`` into ``to_unit``.

    Raises
    ------
    UnitError
        When either unit is not UCUM or the dimensions differ.
    """
    a, b = parse_ucum(from_unit), parse_ucum(to_unit)
    if a.dims != b.dims:
        raise UnitError(f"cannot convert {from_unit!r} to {to_unit!r}")
    return a.factor / b.factor


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit``, to 15 significant digits."""
    if from_unit == to_unit:
        return value
    factor = conversion_factor(from_unit, to_unit)
    if factor == 1.0:
        return value
    return float(f"{value * factor:.15g}")


TEMPLATE_ROWS: tuple[tuple[str, str, str, str], ...] = (
    # (TID, DCM code value, concept, UCUM unit): the UNITS constraint of each NUM row of
    # PS3.16 TID 10001-10007 (projection X-ray) and TID 10011-10015 (CT).
    ("10002", "113722", "Dose Area Product Total", "Gy.m2"),
    ("10002", "113725", "Dose (RP) Total", "Gy"),
    ("10002", "122322", "Calibration Factor", "1"),
    ("10002", "113763", "Calibration Uncertainty", "%"),
    ("10003", "122130", "Dose Area Product", "Gy.m2"),
    ("10003", "113738", "Dose (RP)", "Gy"),
    ("10003", "111636", "Entrance Exposure at RP", "mGy"),
    ("10003", "113790", "Collimated Field Area", "m2"),
    ("10003", "113788", "Collimated Field Height", "mm"),
    ("10003", "113789", "Collimated Field Width", "mm"),
    ("10003", "112011", "Positioner Primary Angle", "deg"),
    ("10003", "112012", "Positioner Secondary Angle", "deg"),
    ("10003", "113739", "Positioner Primary End Angle", "deg"),
    ("10003", "113740", "Positioner Secondary End Angle", "deg"),
    ("10003", "113770", "Column Angulation", "deg"),
    ("10003", "111633", "Compression Thickness", "mm"),
    ("10003A", "113845", "Exposure Index", "1"),
    ("10003A", "113846", "Target Exposure Index", "1"),
    ("10003A", "113847", "Deviation Index", "1"),
    ("10003B", "113742", "Irradiation Duration", "s"),
    ("10003B", "113768", "Number of Pulses", "1"),
    ("10003B", "113791", "Pulse Rate", "{pulse}/s"),
    ("10003B", "113734", "X-Ray Tube Current", "mA"),
    ("10003B", "113767", "Average X-Ray Tube Current", "mA"),
    ("10003B", "113824", "Exposure Time", "ms"),
    ("10003B", "113735", "Exposure Time", "ms"),
    ("10003B", "113793", "Pulse Width", "ms"),
    ("10003B", "113736", "Exposure", "uA.s"),
    ("10003B", "113733", "KVP", "kV"),
    ("10003B", "113766", "Focal Spot Size", "mm"),
    ("10003B", "113758", "X-Ray Filter Thickness Minimum", "mm"),
    ("10003B", "113773", "X-Ray Filter Thickness Maximum", "mm"),
    ("10003B", "113821", "X-Ray Filter Aluminum Equivalent", "mm"),
    ("10003B", "111631", "Average Glandular Dose", "mGy"),
    ("10003B", "111634", "Half Value Layer", "mm"),
    ("10003B", "111638", "Patient Equivalent Thickness", "mm"),
    ("10003C", "113748", "Distance Source to Isocenter", "mm"),
    ("10003C", "113737", "Distance Source to Reference Point", "mm"),
    ("10003C", "113750", "Distance Source to Detector", "mm"),
    ("10003C", "113751", "Table Longitudinal Position", "mm"),
    ("10003C", "113752", "Table Lateral Position", "mm"),
    ("10003C", "113753", "Table Height Position", "mm"),
    ("10003C", "113792", "Distance Source to Table Plane", "mm"),
    ("10003C", "113754", "Table Head Tilt Angle", "deg"),
    ("10003C", "113755", "Table Horizontal Rotation Angle", "deg"),
    ("10003C", "113756", "Table Cradle Tilt Angle", "deg"),
    ("10004", "113726", "Fluoro Dose Area Product Total", "Gy.m2"),
    ("10004", "113728", "Fluoro Dose (RP) Total", "Gy"),
    ("10004", "113730", "Total Fluoro Time", "s"),
    ("10004", "113727", "Acquisition Dose Area Product Total", "Gy.m2"),
    ("10004", "113729", "Acquisition Dose (RP) Total", "Gy"),
    ("10004", "113855", "Total Acquisition Time", "s"),
    ("10004", "113731", "Total Number of Radiographic Frames", "1"),
    ("10005", "111637", "Accumulated Average Glandular Dose (mammo)", "mGy"),
    ("10006", "113731", "Total Number of Radiographic Frames", "1"),
    ("10007", "113722", "Dose Area Product Total", "Gy.m2"),
    ("10007", "113725", "Dose (RP) Total", "Gy"),
    ("10007", "113731", "Total Number of Radiographic Frames", "1"),
    ("10012", "113812", "Total Number of Irradiation Events", "{events}"),
    ("10012", "113813", "CT Dose Length Product Total", "mGy.cm"),
    ("10012", "113814", "CT Effective Dose Total", "mSv"),
    ("10013", "113824", "Exposure Time", "s"),
    ("10013", "113826", "Nominal Single Collimation Width", "mm"),
    ("10013", "113827", "Nominal Total Collimation Width", "mm"),
    ("10013", "113828", "Pitch Factor", "{ratio}"),
    ("10013", "113823", "Number of X-Ray Sources", "{X-Ray sources}"),
    ("10013", "113733", "KVP", "kV"),
    ("10013", "113833", "Maximum X-Ray Tube Current", "mA"),
    ("10013", "113734", "X-Ray Tube Current", "mA"),
    ("10013", "113834", "Exposure Time per Rotation", "s"),
    ("10013", "113830", "Mean CTDIvol", "mGy"),
    ("10013", "113836", "CTDIfreeair Calculation Factor", "mGy/(mA.s)"),
    ("10013", "113837", "Mean CTDIfreeair", "mGy"),
    ("10013", "113838", "DLP", "mGy.cm"),
    ("10013", "113839", "Effective Dose", "mSv"),
    ("10013", "113840", "Effective Dose Conversion Factor", "mSv/(mGy.cm)"),
    ("10013", "113930", "Size Specific Dose Estimate", "mGy"),
    ("10013", "113993", "Size Specific Dose Estimate At Longitudinal Position Z", "mGy"),
    ("10013", "128410", "SSDE Conversion Factor", "1"),
    ("10013", "113980", "Water Equivalent Diameter", "mm"),
    ("10013", "113995", "Water Equivalent Diameter At Longitudinal Position Z", "mm"),
    ("10013", "113986", "Z value of location of Water Equivalent Diameter estimation", "mm"),
    ("10013", "113931", "Measured Lateral Dimension", "mm"),
    ("10013", "113932", "Measured AP Dimension", "mm"),
    ("10013", "113933", "Derived Effective Diameter", "mm"),
    ("10014", "113825", "Scanning Length", "mm"),
    ("10014", "113893", "Length of Reconstructable Volume", "mm"),
    ("10014", "113899", "Exposed Range", "mm"),
    ("10014", "113895", "Top Z Location of Reconstructable Volume", "mm"),
    ("10014", "113896", "Bottom Z Location of Reconstructable Volume", "mm"),
    ("10014", "113897", "Top Z Location of Scanning Length", "mm"),
    ("10014", "113898", "Bottom Z Location of Scanning Length", "mm"),
    ("10015", "113903", "DLP Alert Value", "mGy.cm"),
    ("10015", "113904", "CTDIvol Alert Value", "mGy"),
    ("10015", "113905", "Accumulated DLP Forward Estimate", "mGy.cm"),
    ("10015", "113906", "Accumulated CTDIvol Forward Estimate", "mGy"),
    ("10015", "113911", "DLP Notification Value", "mGy.cm"),
    ("10015", "113912", "CTDIvol Notification Value", "mGy"),
    ("10015", "113913", "DLP Forward Estimate", "mGy.cm"),
    ("10015", "113914", "CTDIvol Forward Estimate", "mGy"),
)
"""Every NUM row of the dose templates with its prescribed unit, template by template.

The unit is the UNITS constraint of the row in the PS3.16 table named by the first
column (Table TID 10002 "Accumulated X-Ray Dose", Table TID 10003B "Irradiation Event
X-Ray Source Data", Table TID 10012 "CT Accumulated Dose Data", Table TID 10013 "CT
Irradiation Event Data", ...), written as the UCUM code value. Counts and ratios of the
CT templates carry the UCUM annotation the standard gives them, not ``1``: Table TID
10012 Row 2, Total Number of Irradiation Events, ``EV ({events}, UCUM, "events")``;
Table TID 10013, Pitch Factor ``EV ({ratio}, UCUM, "ratio")`` and Number of X-Ray Sources
``EV ({X-Ray sources}, UCUM, "X-Ray sources")``. Annotations are dimensionless, so a
vendor's ``1`` still converts to them with factor 1.

Exposure Time (113824, DCM) has two rows: ms in Table TID 10003B (projection X-ray
source data, like Pulse Width) and s in Table TID 10013 Row 8 (CT acquisition
parameters, like Exposure Time per Rotation).
"""


def template_family(template: str | None) -> str | None:
    """``"10001"`` for TID 10001-10007 (projection X-ray), ``"10011"`` for TID 10011-10015."""
    if template is None:
        return None
    digits = template.rstrip("ABCDEFGH")
    if digits in ("10001", "10002", "10003", "10004", "10005", "10006", "10007"):
        return "10001"
    if digits in ("10011", "10012", "10013", "10014", "10015"):
        return "10011"
    return None


def _tables() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {"10001": {}, "10011": {}}
    for tid, value, _meaning, unit in TEMPLATE_ROWS:
        family = template_family(tid)
        assert family is not None
        table = out[family]
        if table.setdefault(value, unit) != unit:  # pragma: no cover - a table typo
            raise ValueError(f"two units for {value} in TID {family}")
    return out


PRESCRIBED_BY_TEMPLATE: dict[str, dict[str, str]] = _tables()
"""Template family (``"10001"``, ``"10011"``) -> DCM concept code value -> UCUM unit."""


def _unambiguous() -> dict[str, str]:
    xr, ct = PRESCRIBED_BY_TEMPLATE["10001"], PRESCRIBED_BY_TEMPLATE["10011"]
    merged = {**xr, **ct}
    return {v: u for v, u in merged.items() if xr.get(v, u) == ct.get(v, u)}


PRESCRIBED_UNITS: dict[str, str] = _unambiguous()
"""DCM concept code value -> unit, for the concepts whose unit is the same in every dose
template (Exposure Time, 113824, is not: ms in TID 10003B, s in TID 10013)."""


UNIT_MEANINGS: dict[str, str] = {
    "Gy.m2": "Gy.m2",
    "mGy.cm": "mGy.cm",
    "mSv/mGy.cm": "mSv/mGy.cm",
    "mGy/mA.s": "mGy/mAs",
    "uA.s": "uAs",
    "{pulse}/s": "pulse/s",
    "%": "Percent",
    "1": "no units",
    "{events}": "events",
    "{X-Ray sources}": "X-Ray sources",
    "{ratio}": "ratio",
    "m2": "m2",
}
"""Code meanings srkit writes for the units it creates (the rest mean themselves)."""


STANDARD_SPELLINGS: dict[str, str] = {
    "mSv/(mGy.cm)": "mSv/mGy.cm",
    "mGy/(mA.s)": "mGy/mA.s",
}
"""Units as PS3.16 spells them where UCUM's left-to-right reading would differ:
srkit writes the standard's spelling and reads it as the parenthesised unit."""

_READ_SPELLINGS = {v: k for k, v in STANDARD_SPELLINGS.items()}


def standard_unit(code: str) -> str:
    """The UCUM reading of a unit as the standard spells it (``mSv/mGy.cm``)."""
    return _READ_SPELLINGS.get(code, code)


def prescribed_unit(scheme: str, value: str, template: str | None = None) -> str | None:
    """The prescribed UCUM unit of a numeric concept, ``None`` when none is known.

    Parameters
    ----------
    scheme, value : str
        The concept name's coding scheme and code value.
    template : str, optional
        The template the item belongs to (``"10001"``-``"10007"``, ``"10011"``-``"10015"``).
        The prescribed unit belongs to the (template, concept) pair: Exposure Time
        (113824, DCM) is ms in TID 10003B and s in TID 10013. A concept that the
        template has no row for falls back to the unit all dose templates agree on.
        Without a template, only those agreed units are known.
    """
    if scheme != "DCM":
        return None
    family = template_family(template)
    if family is not None:
        found = PRESCRIBED_BY_TEMPLATE[family].get(value)
        if found is not None:
            return found
    return PRESCRIBED_UNITS.get(value)
