"""TID 10001 projection X-ray dose reports: Philips Allura Clarity and Siemens
AXIOM-Artis, values as ``dsrdump -Ee +Pc`` prints them, in the prescribed units."""

from __future__ import annotations

from srkit.templates.dose import dose_summary
from tests.dose.reports import fixups_of, report_of

U104 = "rdsr/pyskindose_philips_allura_clarity_u104.dcm"
U601 = "rdsr/pyskindose_philips_allura_clarity_u601.dcm"
ARTIS = "rdsr/pyskindose_siemens_axiom_artis.dcm"
PROCEDURE = "rdsr/pyskindose_siemens_axiom_example_procedure.dcm"


_report = report_of
_fixups = fixups_of


def test_philips_two_planes() -> None:
    report = _report(U104)
    data = report.to_dict()
    assert data["template"] == "10001"
    assert data["procedure_reported"]["meaning"] == "Projection X-Ray"
    assert data["has_intent"]["value"] == "R-002E9"
    assert data["scope_of_accumulation"]["meaning"] == "Performed Procedure Step"
    assert data["source_of_dose_information"]["value"] == "113867"
    assert data["observer"]["device_observer_serial_number"] == "722013-362"
    plane_a, plane_b = report.accumulated
    assert plane_a["acquisition_plane"]["meaning"] == "Plane A"
    assert plane_a["dose_area_product_total"] == 7.8391324289e-06
    assert plane_a["dose_rp_total"] == 0.00070936639118
    assert plane_a["fluoro_dose_area_product_total"] == 3.0104686289e-06
    assert plane_a["total_fluoro_time"] == 37.0
    assert plane_a["total_acquisition_time"] == 11.0
    assert plane_a["total_number_of_radiographic_frames"] == 15.0
    assert plane_a["reference_point_definition"] == "15cm below BeamIsocenter"  # TEXT
    assert plane_a["philips_height_of_system"] == 1134.0
    assert plane_b["acquisition_plane"]["meaning"] == "Plane B"
    assert plane_b["dose_area_product_total"] == 0.0
    assert "philips_private_concepts" in _fixups(report)


def test_philips_events() -> None:
    events = _report(U104).events
    assert len(events) == 25
    first = events[0]  # 1.11
    assert first["datetime_started"] == "2020-12-10T07:56:50.01"
    assert first["irradiation_event_type"]["meaning"] == "Fluoroscopy"
    assert first["dose_area_product"] == 1.424178184e-07
    assert first["dose_rp"] == 4.5913682277e-06
    assert first["kvp"] == 57.5
    assert first["xray_tube_current"] == 10.0
    assert first["pulse_width"] == 4.0  # ms, as TID 10003B prescribes
    assert first["pulse_rate"] == 6.25
    assert first["irradiation_duration"] == 0.8
    assert first["distance_source_to_isocenter"] == 810.0
    assert first["patient_orientation_modifier"]["meaning"] == "supine"
    assert first["philips_performing_physicians_name"] is None  # empty TEXT
    acquisition = events[17]  # 1.28
    assert acquisition["acquisition_protocol"] == "Cerebral 2fps 25%"
    assert acquisition["kvp"] == 55.7
    assert acquisition["acquired_image"] == [
        {"sop_class_uid": "1.2.840.10008.5.1.4.1.1.12.1", "sop_instance_uid": None}
    ]
    filters = acquisition["xray_filters"]
    assert [f["xray_filter_material"]["meaning"] for f in filters] == [
        "Copper or Copper compound",
        "Aluminum or Aluminum compound",
    ]
    assert [f["xray_filter_thickness_minimum"] for f in filters] == [0.1, 1.0]
    # private "Table Height Position" (021, 99PHI-IXR-XPER) never shadows 113753
    assert acquisition["philips_table_height_position"] == 941.0
    assert "table_height_position" not in acquisition
    assert acquisition["philips_wedges_and_shutters"]["philips_distance_wedge_1"] == 125.0


def test_philips_u601_single_plane() -> None:
    report = _report(U601)
    assert len(report.events) == 29
    (plane,) = report.accumulated
    assert plane["total_acquisition_time"] == 1.59799999999999  # as stored
    assert plane["acquisition_dose_rp_total"] == 3.9658933174e-05


def test_siemens_artis_units() -> None:
    report = _report(ARTIS)
    (total,) = report.accumulated
    assert total["dose_area_product_total"] == 9.37e-06  # "Gym2" read as Gy.m2
    assert total["dose_rp_total"] == 0.00136
    assert total["total_fluoro_time"] == 18.0
    assert total["calibration"][0]["calibration_factor"] == 1.0
    assert total["calibration"][0]["calibration_uncertainty"] == 5.0
    assert total["reference_point_definition"]["value"] == "113860"
    first = report.events[0]
    assert first["dose_area_product"] == 7.4e-07
    assert first["dose_rp"] == 3e-05
    assert first["exposure_time"] == 31.0  # ms
    assert first["exposure"] == 1488.0  # "uAs" read as uA.s
    assert first["collimated_field_area"] == 0.10544149
    assert first["focal_spot_size"] == 0.6
    assert first["table_height_position"] == 294.1
    assert first["xray_filters"][0]["xray_filter_thickness_maximum"] == 0.6
    assert first["device_name"] == "AXIS01475"
    assert "siemens_unit_spelling" in _fixups(report)
    assert not [d for d in report.diagnostics if d.severity == "ERROR"]


def test_siemens_procedure_and_summaries() -> None:
    report = _report(PROCEDURE)
    assert len(report.events) == 24
    assert report.events[0]["dose_area_product"] == 5.42e-06
    assert report.events[0]["dose_rp"] == 0.00013
    row = dose_summary(report.to_dict())
    assert row["modality"] == "Projection X-Ray"
    assert row["dap_total"] == 0.00027902
    assert row["fluoro_dap_total"] == 8.664e-05
    assert row["dose_rp_total"] == 0.01406
    assert row["fluoro_time_total"] == 74.0
    assert row["number_of_events"] == 24
    assert row["start_of_xray_irradiation"] == "2017-12-12T14:38:02"
    philips = dose_summary(_report(U104).to_dict())
    assert philips["dap_total"] == 7.8391324289e-06  # plane A + plane B (0.0)
    assert philips["device"] == "INR Lab"
