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
    assert prescribed_unit("DCM", "113824", "10013") == "s"  # Exposure Time (TID 10013)
    assert prescribed_unit("DCM", "113824", "10011") == "s"
    assert prescribed_unit("DCM", "113824", "10003B") == "ms"  # Exposure Time (TID 10003B)
    assert prescribed_unit("DCM", "113824", "10001") == "ms"
    assert prescribed_unit("DCM", "113824") is None  # ambiguous without a template
    assert prescribed_unit("DCM", "113736") == "uA.s"
    assert prescribed_unit("99PHI-IXR-XPER", "021") is None
    assert parse_ucum("{pulse}/s").dims == parse_ucum("Hz").dims


def test_patient_equivalent_thickness_is_a_length():
    """111638 Patient Equivalent Thickness (TID 10003B) is in mm, not mGy."""
    from srkit.templates.units import prescribed_unit

    assert prescribed_unit("DCM", "111638") == "mm"
    assert prescribed_unit("DCM", "111631") == "mGy"


# PS3.16, the UNITS of every NUM row of the dose templates, written out by template
# (the audit of issue 12): TID -> {concept code value: unit}
_AUDIT: dict[str, dict[str, str]] = {
    "10002": {"113722": "Gy.m2", "113725": "Gy", "122322": "1", "113763": "%"},
    "10003": {
        "122130": "Gy.m2", "113738": "Gy", "111636": "mGy", "113790": "m2",
        "113788": "mm", "113789": "mm", "112011": "deg", "112012": "deg",
        "113739": "deg", "113740": "deg", "113770": "deg", "111633": "mm",
    },
    "10003A": {"113845": "1", "113846": "1", "113847": "1"},
    "10003B": {
        "113742": "s", "113768": "1", "113791": "{pulse}/s", "113734": "mA", "113767": "mA",
        "113824": "ms", "113735": "ms", "113793": "ms", "113736": "uA.s", "113733": "kV",
        "113766": "mm", "113758": "mm", "113773": "mm", "113821": "mm", "111631": "mGy",
        "111634": "mm", "111638": "mm",
    },
    "10003C": {
        "113748": "mm", "113737": "mm", "113750": "mm", "113751": "mm", "113752": "mm",
        "113753": "mm", "113792": "mm", "113754": "deg", "113755": "deg", "113756": "deg",
    },
    "10004": {
        "113726": "Gy.m2", "113728": "Gy", "113730": "s", "113727": "Gy.m2",
        "113729": "Gy", "113855": "s", "113731": "1",
    },
    "10005": {"111637": "mGy"},
    "10006": {"113731": "1"},
    "10007": {"113722": "Gy.m2", "113725": "Gy", "113731": "1"},
    "10012": {"113812": "{events}", "113813": "mGy.cm", "113814": "mSv"},
    "10013": {
        "113824": "s", "113826": "mm", "113827": "mm", "113828": "{ratio}", "113823": "{X-Ray sources}",
        "113733": "kV", "113833": "mA", "113734": "mA", "113834": "s", "113830": "mGy",
        "113836": "mGy/(mA.s)", "113837": "mGy", "113838": "mGy.cm", "113839": "mSv",
        "113840": "mSv/(mGy.cm)", "113930": "mGy", "113993": "mGy", "128410": "1",
        "113980": "mm", "113995": "mm", "113986": "mm", "113931": "mm", "113932": "mm",
        "113933": "mm",
    },
    "10014": {
        "113825": "mm", "113893": "mm", "113899": "mm", "113895": "mm", "113896": "mm",
        "113897": "mm", "113898": "mm",
    },
    "10015": {
        "113903": "mGy.cm", "113904": "mGy", "113905": "mGy.cm", "113906": "mGy",
        "113911": "mGy.cm", "113912": "mGy", "113913": "mGy.cm", "113914": "mGy",
    },
}  # fmt: skip


@pytest.mark.parametrize(
    ("tid", "value", "unit"),
    [(tid, value, unit) for tid, rows in _AUDIT.items() for value, unit in rows.items()],
)
def test_every_template_row(tid: str, value: str, unit: str) -> None:
    assert prescribed_unit("DCM", value, tid) == unit
    # the report-level template decides for its sub-templates
    family = "10011" if tid.startswith("1001") and tid >= "10011" else "10001"
    assert prescribed_unit("DCM", value, family) == unit


def test_table_has_no_unaudited_row() -> None:
    from srkit.templates.units import TEMPLATE_ROWS

    rows = {(tid, value, unit) for tid, value, _meaning, unit in TEMPLATE_ROWS}
    audited = {(tid, v, u) for tid, r in _AUDIT.items() for v, u in r.items()}
    assert rows == audited


def test_template_family() -> None:
    from srkit.templates.units import template_family

    assert [template_family(t) for t in ("10001", "10003B", "10007", "10011", "10015")] == [
        "10001", "10001", "10001", "10011", "10011",
    ]  # fmt: skip
    assert template_family("1500") is None
    assert template_family(None) is None
