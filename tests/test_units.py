"""UCUM parsing and conversion to the units the dose templates prescribe."""

from __future__ import annotations

import pytest

from srkit.templates.units import UnitError, convert, parse_ucum, prescribed_unit


@pytest.mark.parametrize(
    ("value", "unit", "target", "expected"),
    [
        (1.0, "dGy.cm2", "Gy.m2", 1e-05),
        (2.5, "cGy.cm2", "Gy.m2", 2.5e-06),
        (3.0, "uGy.m2", "Gy.m2", 3e-06),
        (12.0, "mGy.cm2", "Gy.m2", 1.2e-06),
        (1.5, "cm", "mm", 15.0),
        (500.0, "ms", "s", 0.5),
        (0.031, "s", "ms", 31.0),
        (2.0, "Gy.cm", "mGy.cm", 2000.0),
        (1.0, "mA.s", "uA.s", 1000.0),
        (5.0, "%", "1", 0.05),
        (2.0, "{events}", "1", 2.0),
        (1.0, "mSv/mGy/cm", "mSv/(mGy.cm)", 1.0),
    ],
)
def test_convert(value: float, unit: str, target: str, expected: float) -> None:
    assert convert(value, unit, target) == expected


@pytest.mark.parametrize("bad", ["Gym2", "mGycm", "uAs", "X-ray sources", "", "kg m"])
def test_not_ucum(bad: str) -> None:
    with pytest.raises(UnitError):
        parse_ucum(bad)


@pytest.mark.parametrize(("unit", "target"), [("mGy", "mGy.cm"), ("mSv", "mGy"), ("s", "mm")])
def test_different_dimensions(unit: str, target: str) -> None:
    with pytest.raises(UnitError, match="cannot convert"):
        convert(1.0, unit, target)


def test_prescribed_units() -> None:
    assert prescribed_unit("DCM", "113830") == "mGy"  # Mean CTDIvol
    assert prescribed_unit("DCM", "113838") == "mGy.cm"  # DLP
    assert prescribed_unit("DCM", "122130") == "Gy.m2"  # Dose Area Product
    assert prescribed_unit("DCM", "113735") == "ms"  # Exposure Time (TID 10003B)
    assert prescribed_unit("DCM", "113824") == "s"  # Exposure Time (TID 10013)
    assert prescribed_unit("DCM", "113736") == "uA.s"
    assert prescribed_unit("99PHI-IXR-XPER", "021") is None
    assert parse_ucum("{pulse}/s").dims == parse_ucum("Hz").dims


def test_patient_equivalent_thickness_is_a_length():
    """111638 Patient Equivalent Thickness (TID 10003B) is in mm, not mGy."""
    from srkit.templates.units import prescribed_unit

    assert prescribed_unit("DCM", "111638") == "mm"
    assert prescribed_unit("DCM", "111631") == "mGy"
