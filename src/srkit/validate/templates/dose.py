"""TID 10011 CT Radiation Dose and TID 10001 Projection X-Ray Radiation Dose
(PS3.16 Annex A), with their sub-templates (10012, 10013, 10014; 10002, 10003, 10004).

Only the rows srkit can judge without the conditions that depend on the equipment
are required here; every NUM row carries the UCUM units the template prescribes.
"""

from __future__ import annotations

from srkit.model import concepts
from srkit.model.concepts import (
    ACCUMULATED_XRAY_DOSE_DATA,
    CONSTANT_ANGLE_ACQUISITION,
    CT_ACCUMULATED_DOSE_DATA,
    CT_ACQUISITION_TYPE,
    CT_PROCEDURE,
    END_OF_XRAY_IRRADIATION,
    IRRADIATION_EVENT_XRAY_DATA,
    MAMMOGRAPHY,
    PROCEDURE_REPORTED,
    PROJECTION_XRAY,
    SCOPE_OF_ACCUMULATION,
    SOURCE_OF_DOSE_INFORMATION,
    START_OF_XRAY_IRRADIATION,
    XRAY_RADIATION_DOSE_REPORT,
)
from srkit.validate.templates.engine import Row, Template, code, has_child

__all__ = ["CT_RADIATION_DOSE", "PROJECTION_XRAY_DOSE", "CT_ACQUISITION", "IRRADIATION_EVENT"]

DOSE_REPORT = XRAY_RADIATION_DOSE_REPORT
SCOPE = SCOPE_OF_ACCUMULATION
CT_ACCUMULATED = CT_ACCUMULATED_DOSE_DATA
CT_ACQUISITION_CODE = concepts.CT_ACQUISITION
ACCUMULATED_XRAY = ACCUMULATED_XRAY_DOSE_DATA
IRRADIATION_EVENT_CODE = IRRADIATION_EVENT_XRAY_DATA
CONSTANT_ANGLE = CONSTANT_ANGLE_ACQUISITION


def _num(value: str, meaning: str, units: str, min: int = 0, max: int | None = 1) -> Row:
    return Row(
        code(value, "DCM", meaning),
        "NUM",
        "CONTAINS",
        min=min,
        max=max,
        units=tuple(units.split("|")),
    )


CT_DOSE = Template(
    "10013",
    "CT Dose",
    (
        _num("113830", "Mean CTDIvol", "mGy", min=1),
        Row(code("113835", "DCM", "CTDIw Phantom Type"), "CODE", "CONTAINS", min=1, cid=4052),
        _num("113838", "DLP", "mGy.cm", min=1),
        _num("113839", "Effective Dose", "mSv"),
    ),
)

CT_SOURCE = Template(
    "10014",
    "CT X-Ray Source Parameters",
    (
        Row(code("113832", "DCM", "Identification of the X-Ray Source"), "TEXT", "CONTAINS", min=1),
        _num("113733", "KVP", "kV", min=1),
        _num("113833", "Maximum X-Ray Tube Current", "mA", min=1),
        _num("113734", "X-Ray Tube Current", "mA", min=1),
        _num("113834", "Exposure Time per Rotation", "s"),
    ),
)

CT_PARAMETERS = Template(
    "10013",
    "CT Acquisition Parameters",
    (
        _num("113824", "Exposure Time", "s", min=1),
        _num("113825", "Scanning Length", "mm", min=1),
        _num("113826", "Nominal Single Collimation Width", "mm", min=1),
        _num("113827", "Nominal Total Collimation Width", "mm", min=1),
        _num("113828", "Pitch Factor", "{ratio}"),
        _num("113823", "Number of X-Ray Sources", "{X-Ray sources}", min=1),
        Row(
            code("113831", "DCM", "CT X-Ray Source Parameters"),
            "CONTAINER",
            "CONTAINS",
            min=1,
            max=None,
            template=CT_SOURCE,
        ),
    ),
)


def _not_constant_angle(event: object) -> bool:
    from srkit.model.items import ContentItem

    assert isinstance(event, ContentItem)
    return not has_child(CT_ACQUISITION_TYPE, CONSTANT_ANGLE)(event)


CT_ACQUISITION = Template(
    "10013",
    "CT Irradiation Event Data",
    (
        Row(code("125203", "DCM", "Acquisition Protocol"), "TEXT", "CONTAINS"),
        Row(code("123014", "DCM", "Target Region"), "CODE", "CONTAINS", min=1),
        Row(CT_ACQUISITION_TYPE, "CODE", "CONTAINS", min=1, cid=10013),
        Row(code("113769", "DCM", "Irradiation Event UID"), "UIDREF", "CONTAINS", min=1),
        Row(
            code("113822", "DCM", "CT Acquisition Parameters"),
            "CONTAINER",
            "CONTAINS",
            min=1,
            template=CT_PARAMETERS,
        ),
        Row(
            code("113829", "DCM", "CT Dose"),
            "CONTAINER",
            "CONTAINS",
            min=1,
            template=CT_DOSE,
            condition=_not_constant_angle,
        ),
    ),
)

CT_ACCUMULATED_TEMPLATE = Template(
    "10012",
    "CT Accumulated Dose Data",
    (
        _num("113812", "Total Number of Irradiation Events", "{events}", min=1),
        _num("113813", "CT Dose Length Product Total", "mGy.cm", min=1),
        _num("113814", "CT Effective Dose Total", "mSv"),
    ),
)

CT_RADIATION_DOSE = Template(
    "10011",
    "CT Radiation Dose",
    (
        Row(
            PROCEDURE_REPORTED,
            "CODE",
            "HAS CONCEPT MOD",
            min=1,
            values=(CT_PROCEDURE,),
        ),
        Row(START_OF_XRAY_IRRADIATION, "DATETIME", "HAS OBS CONTEXT", min=1),
        Row(END_OF_XRAY_IRRADIATION, "DATETIME", "HAS OBS CONTEXT", min=1),
        Row(SCOPE, "CODE", "HAS OBS CONTEXT", min=1, cid=10000),
        Row(CT_ACCUMULATED, "CONTAINER", "CONTAINS", min=1, template=CT_ACCUMULATED_TEMPLATE),
        Row(CT_ACQUISITION_CODE, "CONTAINER", "CONTAINS", min=1, max=None, template=CT_ACQUISITION),
        Row(SOURCE_OF_DOSE_INFORMATION, "CODE", "CONTAINS", max=None),
    ),
)
"""TID 10011 CT Radiation Dose (root)."""

ACCUMULATED_XRAY_TEMPLATE = Template(
    "10002",
    "Accumulated X-Ray Dose",
    (
        Row(
            code("113764", "DCM", "Acquisition Plane"), "CODE", "HAS CONCEPT MOD", min=1, cid=10003
        ),
        _num("113722", "Dose Area Product Total", "Gy.m2"),
        _num("113725", "Dose (RP) Total", "Gy"),
        _num("113726", "Fluoro Dose Area Product Total", "Gy.m2"),
        _num("113728", "Fluoro Dose (RP) Total", "Gy"),
        _num("113730", "Total Fluoro Time", "s"),
        _num("113727", "Acquisition Dose Area Product Total", "Gy.m2"),
        _num("113729", "Acquisition Dose (RP) Total", "Gy"),
        _num("113731", "Total Acquisition Time", "s"),
    ),
)

IRRADIATION_EVENT = Template(
    "10003",
    "Irradiation Event X-Ray Data",
    (
        Row(
            code("113764", "DCM", "Acquisition Plane"), "CODE", "HAS CONCEPT MOD", min=1, cid=10003
        ),
        Row(code("113769", "DCM", "Irradiation Event UID"), "UIDREF", "CONTAINS", min=1),
        Row(code("111526", "DCM", "DateTime Started"), "DATETIME", "CONTAINS", min=1),
        Row(code("113721", "DCM", "Irradiation Event Type"), "CODE", "CONTAINS", min=1, cid=10002),
        _num("122130", "Dose Area Product", "Gy.m2"),
        _num("113738", "Dose (RP)", "Gy"),
        _num("113742", "Irradiation Duration", "s"),
    ),
)

PROJECTION_XRAY_DOSE = Template(
    "10001",
    "Projection X-Ray Radiation Dose",
    (
        Row(
            PROCEDURE_REPORTED,
            "CODE",
            "HAS CONCEPT MOD",
            min=1,
            values=(PROJECTION_XRAY, MAMMOGRAPHY),
        ),
        Row(SCOPE, "CODE", "HAS OBS CONTEXT", min=1, cid=10000),
        Row(
            ACCUMULATED_XRAY,
            "CONTAINER",
            "CONTAINS",
            min=1,
            max=2,
            template=ACCUMULATED_XRAY_TEMPLATE,
        ),
        Row(IRRADIATION_EVENT_CODE, "CONTAINER", "CONTAINS", max=None, template=IRRADIATION_EVENT),
    ),
)
"""TID 10001 Projection X-Ray Radiation Dose (root)."""
