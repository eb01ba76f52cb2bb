"""Size-specific dose estimates (AAPM Report 204 and Report 220).

SSDE = f(D) x CTDIvol, with f the conversion factor AAPM Report 204 fits for the CTDI
phantom the scanner reported (CTDIw Phantom Type, 113835 DCM: IEC Body Dosimetry
Phantom, 32 cm, or IEC Head Dosimetry Phantom, 16 cm):

    f32(D) = 3.704369 exp(-0.03671937 D)        f16(D) = 1.874799 exp(-0.03871313 D)

with D in cm. D is, in order of preference (and the result says which was used):

1. a Water Equivalent Diameter (113980, DCM) the report carries (Report 220 uses the
   Report 204 factors with Dw in place of the effective diameter);
2. a Derived Effective Diameter (113933, DCM), or the effective diameter
   sqrt(AP x lateral) of a Measured AP Dimension (113932) and Measured Lateral
   Dimension (113931) the report carries (Report 204);
3. the water-equivalent diameter computed from the study's axial CT images in the
   database (Report 220): per slice Aw = sum over the patient's pixels (HU > -500)
   of (HU / 1000 + 1) x pixel area, Dw = 2 sqrt(Aw / pi), averaged over the slices.
   Localizer radiographs are not used (their attenuation needs a scanner-specific
   calibration); the patient table is not removed.

A phantom srkit cannot tell is taken as the 32 cm body phantom, and the result says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["conversion_factor", "SsdeResult", "report_diameter", "wed_from_images",
           "exam_ssde", "database_ssde"]  # fmt: skip

_FITS = {32: (3.704369, 0.03671937), 16: (1.874799, 0.03871313)}
_HEAD_PHANTOM, _BODY_PHANTOM = "113690", "113691"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def conversion_factor(diameter_cm: float, phantom_cm: int = 32) -> float:
    """The AAPM Report 204 conversion factor for an effective (or water-equivalent)
    diameter in cm and a 32 or 16 cm CTDI phantom."""
    a, b = _FITS[phantom_cm]
    return a * math.exp(-b * diameter_cm)


@dataclass(slots=True)
class SsdeResult:
    """The SSDE of one CT exam and how it was obtained."""

    sop_instance_uid: str
    study_instance_uid: str | None
    protocol: str | None
    ctdivol: float | None
    phantom_cm: int | None
    phantom_assumed: bool
    diameter_mm: float | None
    method: str | None
    conversion_factor: float | None
    ssde: float | None
    reported_ssde: float | None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (JSON, CSV)."""
        return asdict(self)


def _find(value: Any, key: str) -> float | None:
    """The first number under ``key`` anywhere in a record."""
    if isinstance(value, Mapping):
        found = value.get(key)
        if isinstance(found, float):
            return found
        for item in value.values():
            inner = _find(item, key)
            if inner is not None:
                return inner
    elif isinstance(value, list):
        for item in value:
            inner = _find(item, key)
            if inner is not None:
                return inner
    return None


def report_diameter(event: Mapping[str, Any]) -> tuple[float, str] | None:
    """``(diameter in mm, method)`` the event of a TID 10011 record carries, if any."""
    wed = _find(event, "water_equivalent_diameter")
    if wed is not None:
        return wed, "water-equivalent diameter in the report (AAPM 220)"
    derived = _find(event, "derived_effective_diameter")
    if derived is not None:
        return derived, "effective diameter in the report (AAPM 204)"
    ap, lat = _find(event, "measured_ap_dimension"), _find(event, "measured_lateral_dimension")
    if ap is not None and lat is not None:
        return math.sqrt(ap * lat), "effective diameter from AP and lateral dimensions (AAPM 204)"
    return None


def wed_from_images(datasets: Iterable[Any]) -> float | None:
    """The mean water-equivalent diameter (mm) of axial CT slices (AAPM Report 220)."""
    import numpy as np

    diameters = []
    for ds in datasets:
        image_type = [str(v).upper() for v in (getattr(ds, "ImageType", None) or [])]
        if "LOCALIZER" in image_type or "PixelData" not in ds:
            continue
        spacing = getattr(ds, "PixelSpacing", None)
        if not spacing:
            continue
        hu = ds.pixel_array.astype(np.float64) * float(getattr(ds, "RescaleSlope", 1) or 1)
        hu += float(getattr(ds, "RescaleIntercept", 0) or 0)
        patient = hu > -500.0
        area = float(spacing[0]) * float(spacing[1])
        aw = float(np.sum(hu[patient] / 1000.0 + 1.0)) * area
        if aw > 0:
            diameters.append(2.0 * math.sqrt(aw / math.pi))
    return float(f"{sum(diameters) / len(diameters):.10g}") if diameters else None


def _phantom(event: Mapping[str, Any]) -> tuple[int, bool]:
    dose = event.get("ct_dose")
    code = dose.get("ctdiw_phantom_type") if isinstance(dose, Mapping) else None
    value = code.get("value") if isinstance(code, Mapping) else None
    if value == _HEAD_PHANTOM:
        return 16, False
    if value == _BODY_PHANTOM:
        return 32, False
    return 32, True


def exam_ssde(
    report: Mapping[str, Any], sop_instance_uid: str, image_diameter: float | None = None
) -> SsdeResult:
    """The SSDE of a CT exam: its main (highest CTDIvol) event, the diameter from the
    report, else ``image_diameter`` (mm, from :func:`wed_from_images`)."""
    events = [e for e in report.get("events") or [] if isinstance(e, Mapping)]
    scored = [
        (float(e["ct_dose"]["mean_ctdivol"]), e)
        for e in events
        if isinstance(e.get("ct_dose"), Mapping)
        and isinstance(e["ct_dose"].get("mean_ctdivol"), float)
    ]
    base = SsdeResult(sop_instance_uid, report.get("study_instance_uid"), None, None, None,
                      False, None, None, None, None, None)  # fmt: skip
    if not scored:
        base.note = "no event with a Mean CTDIvol"
        return base
    ctdivol, event = max(scored, key=lambda s: s[0])
    phantom, assumed = _phantom(event)
    base.protocol = event.get("acquisition_protocol")
    base.ctdivol, base.phantom_cm, base.phantom_assumed = ctdivol, phantom, assumed
    base.reported_ssde = _find(event, "size_specific_dose_estimate")
    found = report_diameter(event)
    if found is None and image_diameter is not None:
        found = (
            image_diameter,
            "water-equivalent diameter from the study's axial CT images (AAPM 220)",
        )
    if found is None:
        base.note = "no diameter in the report and no axial CT image of the study in the database"
        return base
    diameter, method = found
    factor = conversion_factor(diameter / 10.0, phantom)
    base.diameter_mm, base.method = diameter, method
    base.conversion_factor = float(f"{factor:.6g}")
    base.ssde = float(f"{factor * ctdivol:.6g}")
    if assumed:
        base.note = "CTDIw phantom type not reported: 32 cm body phantom assumed"
    return base


def database_ssde(db: Any) -> list[SsdeResult]:
    """The SSDE of every CT exam of the database (images read only where needed)."""
    import json

    import pydicom

    from srkit.db.srquery import dose_exam_query

    with db._reader.connect() as conn:  # the read engine of srkit.db.Database
        rows = [dict(r._mapping) for r in conn.execute(dose_exam_query())]
    out = []
    cache: dict[str, float | None] = {}
    for row in rows:
        report = json.loads(row["report"])
        if report.get("template") != "10011":
            continue
        uid = str(row["sop_instance_uid"])
        needs_images = not any(
            report_diameter(e) for e in report.get("events") or [] if isinstance(e, Mapping)
        )
        diameter = None
        study = row.get("study_instance_uid")
        if needs_images and study:
            if study not in cache:
                images = db.query(
                    "IMAGE", {"StudyInstanceUID": study}, fields=["SOPClassUID", "SOPInstanceUID"]
                )
                paths = [
                    db.instance_path(str(i["SOPInstanceUID"]))
                    for i in images
                    if i.get("SOPClassUID") == CT_IMAGE_STORAGE
                ]
                cache[study] = wed_from_images(
                    pydicom.dcmread(p) for p in paths if p is not None and p.is_file()
                )
            diameter = cache[study]
        out.append(exam_ssde(report, uid, diameter))
    return out
