"""Fixed table schemas of the contract's tables: measurements (``srkit measurements``,
``srkit query measurements``) and radiation dose (``srkit dose``, ``srkit query dose``).
A schema names every column whatever the rows hold, so the same data gives the same
header in CSV, the same keys in JSON lines and the same Arrow schema in Parquet."""

from __future__ import annotations

from collections.abc import Sequence

from srkit.tables.write import Schema
from srkit.templates.tid1500 import QUALITATIVE_COLUMNS, QUANTITATIVE_COLUMNS

__all__ = [
    "CONTEXT_COLUMNS",
    "DOSE_CONTEXT_COLUMNS",
    "DOSE_EVENTS",
    "DOSE_REPORTS",
    "DOSE_REST",
    "DRL_COLUMNS",
    "DRL_QUANTITIES",
    "MEASUREMENTS",
    "QUALITATIVE",
    "dose_schema",
    "with_context",
]

_CODES = frozenset(
    {
        "finding",
        "finding_site",
        "laterality",
        "quantity",
        "units",
        "derivation",
        "measurement_method",
    }
)
_TYPES = {
    "measurement_group_number": "int",
    "segment_number": "int",
    "value": "float",
    "source_sop_instance_uids": "strings",
}

MEASUREMENTS = Schema(columns=QUANTITATIVE_COLUMNS, codes=_CODES, types=_TYPES)
"""Quantitative rows: the contract's columns, codes as structs, value a float."""

QUALITATIVE = Schema(
    columns=QUALITATIVE_COLUMNS,
    codes=(_CODES - {"units"}) | {"value"},
    types={k: v for k, v in _TYPES.items() if k != "value"},
)
"""Qualitative rows: the same without units, the value a code."""

CONTEXT_COLUMNS = (
    "patient_id",
    "patient_name",
    "study_date",
    "accession_number",
    "modality",
    "series_manufacturer",
)
"""What the database adds to a measurement row (``srkit query measurements --context``):
the patient and study the report belongs to, as the study's own files say them."""


def with_context(schema: Schema, context: Sequence[str] = CONTEXT_COLUMNS) -> Schema:
    """``schema`` followed by ``context`` (all text; :data:`CONTEXT_COLUMNS`, or
    :data:`DOSE_CONTEXT_COLUMNS` for the dose tables), its ``rest`` column kept last."""
    columns = [c for c in schema.columns if c != schema.rest]
    tail = [schema.rest] if schema.rest else []
    return Schema(
        columns=[*columns, *context, *tail],
        codes=schema.codes,
        types=dict(schema.types),
        rest=schema.rest,
        ignore=schema.ignore - set(context),
    )


# -- radiation dose (TID 10011 CT, TID 10001 projection X-ray) --------------------------------

DOSE_REPORT_COLUMNS = (
    "sop_instance_uid",
    "study_instance_uid",
    "template",
    "modality",
    "device",
    "manufacturer",
    "model",
    "start_of_xray_irradiation",
    "end_of_xray_irradiation",
    "number_of_events",
    "dlp_total",
    "max_ctdivol",
    "dap_total",
    "fluoro_dap_total",
    "acquisition_dap_total",
    "dose_rp_total",
    "fluoro_time_total",
    "acquisition_time_total",
    "procedure_reported",
)
"""One row per report (``srkit dose --summary``, ``srkit query dose``): the summary of
:func:`srkit.templates.dose.dose_summary` (mGy.cm, mGy, Gy.m2, Gy, s) and the procedure
reported."""

DOSE_REPORTS = Schema(
    columns=DOSE_REPORT_COLUMNS,
    codes=frozenset({"procedure_reported"}),
    types={
        "number_of_events": "int",
        **{
            name: "float"
            for name in DOSE_REPORT_COLUMNS
            if name.endswith("_total") or name == "max_ctdivol"
        },
    },
)
"""The report rows: the same columns from files and from the database."""

_HEAD = (
    ("sop_instance_uid", "string"),
    ("study_instance_uid", "string"),
    ("template", "string"),
    ("manufacturer", "string"),
    ("manufacturer_model_name", "string"),
    ("station_name", "string"),
    ("procedure_reported", "code"),
    ("has_intent", "code"),
    ("scope_of_accumulation", "code"),
    ("start_of_xray_irradiation", "string"),
    ("end_of_xray_irradiation", "string"),
    ("source_of_dose_information", "code"),
    ("observer.observer_type", "code"),
    ("observer.device_observer_uid", "string"),
    ("observer.device_observer_name", "string"),
    ("observer.device_observer_manufacturer", "string"),
    ("observer.device_observer_model_name", "string"),
    ("observer.device_observer_serial_number", "string"),
    ("observer.device_observer_physical_location_during_observation", "string"),
)
"""The report's own fields (the contract's object without ``accumulated`` and ``events``)."""

_ACCUMULATED = (
    # TID 10012 CT Accumulated Dose Data
    ("total_number_of_irradiation_events", "float"),
    ("ct_dose_length_product_total", "float"),
    ("ct_effective_dose_total", "float"),
    # TID 10002 Accumulated X-Ray Dose (per plane), TID 10004 fluoroscopy and acquisition
    ("acquisition_plane", "code"),
    ("reference_point_definition", "code"),
    ("dose_area_product_total", "float"),
    ("dose_rp_total", "float"),
    ("fluoro_dose_area_product_total", "float"),
    ("fluoro_dose_rp_total", "float"),
    ("total_fluoro_time", "float"),
    ("acquisition_dose_area_product_total", "float"),
    ("acquisition_dose_rp_total", "float"),
    ("total_acquisition_time", "float"),
    ("total_number_of_radiographic_frames", "float"),
)
"""The accumulated record of the event's plane (TID 10001) or of the report (TID 10011)."""

_SOURCE = (
    ("identification_of_the_xray_source", "string"),
    ("kvp", "float"),
    ("maximum_xray_tube_current", "float"),
    ("xray_tube_current", "float"),
    ("exposure_time_per_rotation", "float"),
)
_FILTER = (
    ("xray_filter_type", "code"),
    ("xray_filter_material", "code"),
    ("xray_filter_thickness_minimum", "float"),
    ("xray_filter_thickness_maximum", "float"),
)
_ALERT = (
    ("dlp_alert_value_configured", "code"),
    ("ctdivol_alert_value_configured", "code"),
    ("dlp_alert_value", "float"),
    ("ctdivol_alert_value", "float"),
    ("accumulated_dlp_forward_estimate", "float"),
    ("accumulated_ctdivol_forward_estimate", "float"),
    ("reason_for_proceeding", "string"),
    ("person_name", "string"),
    ("person_role_in_procedure", "code"),
)
_NOTIFICATION = (
    ("dlp_notification_value_configured", "code"),
    ("ctdivol_notification_value_configured", "code"),
    ("dlp_notification_value", "float"),
    ("ctdivol_notification_value", "float"),
    ("dlp_forward_estimate", "float"),
    ("ctdivol_forward_estimate", "float"),
)
_PARAMETERS = "ct_acquisition_parameters"
_EVENT = (
    # both templates
    ("irradiation_event_uid", "string"),
    ("acquisition_protocol", "string"),
    ("target_region", "code"),
    ("datetime_started", "string"),
    ("comment", "string"),
    # TID 10013 CT Irradiation Event Data
    ("ct_acquisition_type", "code"),
    ("procedure_context", "code"),
    (f"{_PARAMETERS}.exposure_time", "float"),
    (f"{_PARAMETERS}.scanning_length", "float"),
    (f"{_PARAMETERS}.length_of_reconstructable_volume", "float"),
    (f"{_PARAMETERS}.exposed_range", "float"),
    (f"{_PARAMETERS}.nominal_single_collimation_width", "float"),
    (f"{_PARAMETERS}.nominal_total_collimation_width", "float"),
    (f"{_PARAMETERS}.pitch_factor", "float"),
    (f"{_PARAMETERS}.number_of_xray_sources", "float"),
    *(
        (f"{_PARAMETERS}.ct_xray_source_parameters.{n}.{name}", kind)
        for n in (1, 2)
        for name, kind in _SOURCE
    ),
    ("ct_dose.mean_ctdivol", "float"),
    ("ct_dose.ctdiw_phantom_type", "code"),
    ("ct_dose.dlp", "float"),
    ("ct_dose.effective_dose", "float"),
    *((f"ct_dose.dose_check_alert_details.{name}", kind) for name, kind in _ALERT),
    *((f"ct_dose.dose_check_notification_details.{name}", kind) for name, kind in _NOTIFICATION),
    ("xray_modulation_type", "string"),
    # TID 10003 Irradiation Event X-Ray Data (and 10003A/B/C)
    ("acquisition_plane", "code"),
    ("irradiation_event_type", "code"),
    ("reference_point_definition", "code"),
    ("dose_area_product", "float"),
    ("dose_rp", "float"),
    ("positioner_primary_angle", "float"),
    ("positioner_secondary_angle", "float"),
    ("collimated_field_area", "float"),
    *((f"xray_filters.{n}.{name}", kind) for n in (1, 2) for name, kind in _FILTER),
    ("fluoro_mode", "code"),
    ("pulse_rate", "float"),
    ("number_of_pulses", "float"),
    ("kvp", "float"),
    ("xray_tube_current", "float"),
    ("average_xray_tube_current", "float"),
    ("exposure_time", "float"),
    ("pulse_width", "float"),
    ("exposure", "float"),
    ("focal_spot_size", "float"),
    ("irradiation_duration", "float"),
    ("distance_source_to_isocenter", "float"),
    ("distance_source_to_detector", "float"),
    ("distance_source_to_reference_point", "float"),
    ("table_longitudinal_position", "float"),
    ("table_lateral_position", "float"),
    ("table_height_position", "float"),
    ("table_head_tilt_angle", "float"),
    ("table_horizontal_rotation_angle", "float"),
    ("table_cradle_tilt_angle", "float"),
    ("patient_table_relationship", "code"),
    ("patient_orientation", "code"),
    ("patient_orientation_modifier", "code"),
    # the device of the event (TID 10013 / TID 10003 device participant)
    ("device_role_in_procedure", "code"),
    ("device_name", "string"),
    ("device_manufacturer", "string"),
    ("device_model_name", "string"),
    ("device_serial_number", "string"),
)
"""The event's items: the standard rows of TID 10013 and TID 10003 that reports carry
(CT with one or two X-ray sources, projection X-ray with one or two filters)."""

DOSE_REST = "other"
"""The column of the event rows that holds, as one JSON object keyed by column name,
what the fixed columns do not: vendors' private items (``philips_...``), a third X-ray
source or filter, calibrations, acquired images, rows outside the list above, a number
srkit could not bring to its unit (``{"value", "unit", "scheme", "normalised": false}``)
and a value of another type than its column's (a TEXT Reference Point Definition)."""

DOSE_CONTEXT_COLUMNS = (
    "patient_id",
    "patient_name",
    "study_date",
    "accession_number",
    "series_modality",
    "series_manufacturer",
)
"""What the database adds to a dose row (``srkit query dose --context``): the
:data:`CONTEXT_COLUMNS`, the modality being the SR series' own (``SR``; the report's
``modality`` is what the dose is about)."""

_EVENT_COLUMNS = (
    *_HEAD,
    *((f"accumulated.{name}", kind) for name, kind in _ACCUMULATED),
    ("event_number", "int"),
    *((f"event.{name}", kind) for name, kind in _EVENT),
    (DOSE_REST, "json"),
)

DOSE_EVENTS = Schema(
    columns=tuple(name for name, _ in _EVENT_COLUMNS),
    codes=frozenset(name for name, kind in _EVENT_COLUMNS if kind == "code"),
    types={name: kind for name, kind in _EVENT_COLUMNS if kind not in ("code", "string")},
    rest=DOSE_REST,
    ignore=frozenset(DOSE_CONTEXT_COLUMNS),
)
"""One row per irradiation event (``srkit dose --format csv``, ``srkit query dose
--level event``): the report's fields, ``accumulated.<key>``, ``event_number`` and
``event.<key>`` (nested containers joined with ``.``, repeated items numbered from 1),
numbers in the units the templates prescribe, codes as code objects (four CSV cells),
then :data:`DOSE_REST`. The same columns from files and from the database, in every
format, whatever the reports hold."""


DRL_QUANTITIES = ("dlp", "ctdivol", "dap", "dose_rp")
"""The quantities compared with reference levels (:data:`srkit.dose.drl.QUANTITIES`)."""

DRL_COLUMNS = (
    ("protocol", "string"),
    ("standard_name", "string"),
    ("body_region", "string"),
    *(
        column
        for q in DRL_QUANTITIES
        for column in (
            (f"drl_{q}", "float"),
            (f"drl_{q}_source", "string"),
            (f"{q}_ratio", "float"),
            (f"{q}_above", "bool"),
        )
    ),
)
"""What ``srkit query dose --drl`` adds to a report row: the exam's protocol, standard
name and body region, and per quantity its reference level, where that comes from
(``national``, ``local``), the ratio and whether the exam is above it."""


def dose_schema(level: str = "report", *, context: bool = False, drl: bool = False) -> Schema:
    """The columns of a dose table: :data:`DOSE_REPORTS` or (``level="event"``)
    :data:`DOSE_EVENTS`, with :data:`DOSE_CONTEXT_COLUMNS` and :data:`DRL_COLUMNS`."""
    schema = DOSE_EVENTS if level == "event" else DOSE_REPORTS
    if context:
        schema = with_context(schema, DOSE_CONTEXT_COLUMNS)
    if drl:
        schema = Schema(
            columns=[*schema.columns, *(name for name, _ in DRL_COLUMNS)],
            codes=schema.codes,
            types={**schema.types, **{n: k for n, k in DRL_COLUMNS if k != "string"}},
            rest=schema.rest,
            ignore=schema.ignore,
        )
    return schema
