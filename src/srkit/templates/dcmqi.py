"""dcmqi's TID 1500 JSON metadata format, to and from srkit records.

dcmqi (https://github.com/QIICR/dcmqi, ``doc/schemas/sr-tid1500-schema.json``)
describes a measurement report as JSON: header options, an observer, file names of
the image library and of the "composite context" (SEG, RWVM), and measurement groups
with ``measurementItems`` and ``qualitativeEvaluations``. :func:`spec_from_dcmqi`
turns it into a :class:`~srkit.templates.tid1500_builder.ReportSpec`;
:func:`report_to_dcmqi` turns a read report back into the same format, as dcmqi's
``tid1500reader`` writes it, for comparison.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from srkit.errors import SrkitError
from srkit.model.code import Code
from srkit.model.items import SopReference
from srkit.model.sopclass import REAL_WORLD_VALUE_MAPPING, SEGMENTATION
from srkit.templates.context import DEVICE, PERSON, ObserverContext
from srkit.templates.tid1419 import AlgorithmIdentification, Measurement, NumericValue
from srkit.templates.tid1500 import MeasurementReport
from srkit.templates.tid1500_builder import IMAGING_PROCEDURE, ReportSpec
from srkit.templates.tid1501 import MeasurementGroup, QualitativeEvaluation, SegmentReference

__all__ = [
    "DcmqiMetadata",
    "code_from_dcmqi",
    "code_to_dcmqi",
    "spec_from_dcmqi",
    "report_to_dcmqi",
]

_SEG = SEGMENTATION
_RWVM = REAL_WORLD_VALUE_MAPPING

_OBSERVER_KEYS = {
    "PersonObserverName": "person_name",
    "DeviceObserverUID": "device_observer_uid",
    "DeviceObserverName": "device_observer_name",
    "DeviceObserverManufacturer": "device_observer_manufacturer",
    "DeviceObserverModelName": "device_observer_model_name",
    "DeviceObserverSerialNumber": "device_observer_serial_number",
    "DeviceObserverPhysicalLocationDuringObservation": (
        "device_observer_physical_location_during_observation"
    ),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DcmqiMetadata:
    """A dcmqi TID 1500 JSON document as srkit records.

    Parameters
    ----------
    spec : ReportSpec
        What the report says.
    image_library : tuple of str
        File names of the image library (``imageLibrary``).
    composite_context : tuple of str
        File names of SEG and RWVM objects (``compositeContext``).
    """

    spec: ReportSpec
    image_library: tuple[str, ...] = ()
    composite_context: tuple[str, ...] = ()


def code_from_dcmqi(data: Mapping[str, Any] | None, where: str = "") -> Code | None:
    """``{"CodeValue", "CodingSchemeDesignator", "CodeMeaning"}`` -> Code."""
    if data is None:
        return None
    try:
        return Code.make(
            str(data["CodeValue"]),
            str(data["CodingSchemeDesignator"]),
            str(data.get("CodeMeaning", "")),
            data.get("CodingSchemeVersion"),
        )
    except (KeyError, TypeError):
        raise SrkitError(f"{where or 'a code'}: not a code {data!r}") from None


def code_to_dcmqi(code: Code | None) -> dict[str, str] | None:
    """Code -> dcmqi's code object."""
    if code is None:
        return None
    out = {
        "CodeMeaning": code.meaning,
        "CodeValue": code.value,
        "CodingSchemeDesignator": code.scheme,
    }
    if code.scheme_version:
        out["CodingSchemeVersion"] = code.scheme_version
    return out


def _required_code(data: Mapping[str, Any], key: str, where: str) -> Code:
    code = code_from_dcmqi(data.get(key), f"{where}.{key}")
    if code is None:
        raise SrkitError(f"{where}: {key} is required")
    return code


def _algorithm(data: Mapping[str, Any] | None) -> AlgorithmIdentification | None:
    if not data:
        return None
    return AlgorithmIdentification(
        name=str(data.get("AlgorithmName", "")),
        version=str(data.get("AlgorithmVersion", "")),
        parameters=tuple(str(p) for p in data.get("AlgorithmParameters", ())),
    )


def _number(value: Any, where: str) -> tuple[str | None, float | None]:
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        raise SrkitError(f"{where}: value {value!r} is not a number") from None
    if math.isnan(number):
        return None, None
    return text, number


def _numeric(
    data: Mapping[str, Any], name: str, value: str, units: str, where: str
) -> NumericValue:
    text, _ = _number(data.get(value), where)
    return NumericValue(
        name=_required_code(data, name, where),
        number=text,
        units=code_from_dcmqi(data.get(units), f"{where}.{units}"),
    )


def _item(data: Mapping[str, Any], where: str) -> Measurement:
    text, number = _number(data.get("value"), where)
    nan = Code.make("114000", "DCM", "Not a number")
    return Measurement(
        quantity=_required_code(data, "quantity", where),
        number=text,
        value=number,
        units=_required_code(data, "units", where),
        qualifier=nan if text is None else None,
        derivation=code_from_dcmqi(data.get("derivationModifier"), where),
        modifiers=tuple(
            (
                _required_code(x, "modifier", where),
                _required_code(x, "modifierValue", where),
            )
            for x in data.get("measurementModifiers", ())
        ),
        algorithm=_algorithm(data.get("measurementAlgorithmIdentification")),
        derivation_parameters=tuple(
            _numeric(
                x,
                "derivationParameter",
                "derivationParameterValue",
                "derivationParameterUnits",
                where,
            )
            for x in data.get("measurementDerivationParameters", ())
        ),
        population_description=data.get("measurementPopulationDescription"),
        properties=tuple(
            _numeric(x, "numProperty", "numPropertyValue", "numPropertyUnits", where)
            for x in data.get("measurementNumProperties", ())
        ),
    )


def _qualitative(data: Mapping[str, Any], where: str) -> QualitativeEvaluation:
    value = data.get("conceptValue")
    return QualitativeEvaluation(
        name=_required_code(data, "conceptCode", where),
        value=value if isinstance(value, str) else code_from_dcmqi(value, where),
    )


def _group(data: Mapping[str, Any], n: int, top: Mapping[str, Any]) -> MeasurementGroup:
    where = f"Measurements[{n - 1}]"
    seg_uid = data.get("segmentationSOPInstanceUID")
    segment = data.get("ReferencedSegment")
    rwvm = data.get("rwvmMapUsedForMeasurement")
    method = data.get("MeasurementMethod", top.get("measurementMethod"))
    return MeasurementGroup(
        number=n,
        template="1411" if seg_uid else "1501",
        tracking_identifier=data.get("TrackingIdentifier"),
        tracking_unique_identifier=data.get("TrackingUniqueIdentifier"),
        activity_session=top.get("activitySession"),
        time_point=top.get("timePoint"),
        finding=code_from_dcmqi(data.get("Finding"), f"{where}.Finding"),
        finding_site=code_from_dcmqi(data.get("FindingSite"), f"{where}.FindingSite"),
        laterality=code_from_dcmqi(data.get("Laterality"), f"{where}.Laterality"),
        measurement_method=code_from_dcmqi(method, f"{where}.MeasurementMethod"),
        algorithm=_algorithm(data.get("measurementAlgorithmIdentification")),
        referenced_segment=SegmentReference(
            sop_class_uid=_SEG,
            sop_instance_uid=str(seg_uid),
            segment_number=int(segment) if segment is not None else None,
        )
        if seg_uid
        else None,
        source_series_for_segmentation=data.get("SourceSeriesForImageSegmentation"),
        real_world_value_map=SopReference(sop_class_uid=_RWVM, sop_instance_uid=str(rwvm))
        if rwvm
        else None,
        measurements=tuple(
            _item(x, f"{where}.measurementItems[{k}]")
            for k, x in enumerate(data.get("measurementItems", ()))
        ),
        qualitative=tuple(
            _qualitative(x, f"{where}.qualitativeEvaluations[{k}]")
            for k, x in enumerate(data.get("qualitativeEvaluations", ()))
        ),
    )


def _observer(data: Mapping[str, Any] | None) -> tuple[ObserverContext, ...]:
    if not data:
        return ()
    kind = str(data.get("ObserverType", "PERSON")).upper()
    values = {attr: str(data[key]) for key, attr in _OBSERVER_KEYS.items() if key in data}
    return (ObserverContext(observer_type=DEVICE if kind == "DEVICE" else PERSON, **values),)  # type: ignore[arg-type]


def spec_from_dcmqi(data: Mapping[str, Any]) -> DcmqiMetadata:
    """Read dcmqi's TID 1500 JSON metadata (already parsed) into records.

    Parameters
    ----------
    data : mapping
        The JSON object (``sr-tid1500-schema.json``).

    Raises
    ------
    SrkitError
        Missing or malformed required values, naming where they are.
    """
    if not isinstance(data, Mapping) or "Measurements" not in data:
        raise SrkitError("not dcmqi TID 1500 metadata (no Measurements)")
    procedure = code_from_dcmqi(data.get("procedureReported"), "procedureReported")
    spec = ReportSpec(
        groups=tuple(_group(x, n, data) for n, x in enumerate(data["Measurements"], start=1)),
        observers=_observer(data.get("observerContext")),
        procedure_reported=(procedure or IMAGING_PROCEDURE,),
        series_description=data.get("SeriesDescription", "Measurements"),
        series_number=str(data.get("SeriesNumber", "1001")),
        instance_number=str(data.get("InstanceNumber", "1")),
        completion_flag=str(data.get("CompletionFlag", "COMPLETE")),
        verification_flag=str(data.get("VerificationFlag", "UNVERIFIED")),
    )
    return DcmqiMetadata(
        spec=spec,
        image_library=tuple(str(x) for x in data.get("imageLibrary", ())),
        composite_context=tuple(str(x) for x in data.get("compositeContext", ())),
    )


def _item_to_dcmqi(x: Measurement) -> dict[str, Any]:
    out: dict[str, Any] = {
        "quantity": code_to_dcmqi(x.quantity),
        "units": code_to_dcmqi(x.units),
        "value": x.number if x.number is not None else "nan",
    }
    if x.derivation is not None:
        out["derivationModifier"] = code_to_dcmqi(x.derivation)
    if x.modifiers:
        out["measurementModifiers"] = [
            {"modifier": code_to_dcmqi(a), "modifierValue": code_to_dcmqi(b)}
            for a, b in x.modifiers
        ]
    return out


def report_to_dcmqi(report: MeasurementReport) -> dict[str, Any]:
    """A read report in dcmqi's JSON shape (as ``tid1500reader`` writes it).

    Only the parts both sides carry: header flags are not in the records, so the
    result has the observer, activity session, time point and ``Measurements``.
    """
    groups: list[dict[str, Any]] = []
    for grp in report.groups:
        out: dict[str, Any] = {"TrackingIdentifier": grp.tracking_identifier}
        if grp.tracking_unique_identifier:
            out["TrackingUniqueIdentifier"] = grp.tracking_unique_identifier
        for key, code in (
            ("Finding", grp.finding),
            ("FindingSite", grp.finding_site),
            ("Laterality", grp.laterality),
            ("MeasurementMethod", grp.measurement_method),
        ):
            if code is not None:
                out[key] = code_to_dcmqi(code)
        if grp.referenced_segment is not None:
            out["ReferencedSegment"] = grp.referenced_segment.segment_number
            out["segmentationSOPInstanceUID"] = grp.referenced_segment.sop_instance_uid
        if grp.source_series_for_segmentation:
            out["SourceSeriesForImageSegmentation"] = grp.source_series_for_segmentation
        if grp.real_world_value_map is not None:
            out["rwvmMapUsedForMeasurement"] = grp.real_world_value_map.sop_instance_uid
        if grp.activity_session:
            out["activitySession"] = grp.activity_session
        if grp.time_point:
            out["timePoint"] = grp.time_point
        out["measurementItems"] = [_item_to_dcmqi(x) for x in grp.measurements]
        if grp.qualitative:
            out["qualitativeEvaluations"] = [
                {
                    "conceptCode": code_to_dcmqi(q.name),
                    "conceptValue": code_to_dcmqi(q.value)
                    if isinstance(q.value, Code)
                    else q.value,
                }
                for q in grp.qualitative
            ]
        groups.append(out)
    result: dict[str, Any] = {"Measurements": groups}
    if report.observers:
        obs = report.observers[0]
        kind = "DEVICE" if obs.is_device else "PERSON"
        result["observerContext"] = {"ObserverType": kind} | {
            key: getattr(obs, attr)
            for key, attr in _OBSERVER_KEYS.items()
            if getattr(obs, attr) is not None
        }
    return result
