"""TID 1500 builder: round trips (build -> write -> read -> rows) and the peers."""

from __future__ import annotations

import io
import json
import subprocess
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srkit.codec import load_dataset, read, write
from srkit.errors import SrkitError
from srkit.model import Code
from srkit.templates.context import ObserverContext
from srkit.templates.dcmqi import report_to_dcmqi, spec_from_dcmqi
from srkit.templates.tid1419 import Measurement
from srkit.templates.tid1500 import measurement_rows, qualitative_rows, read_measurement_report
from srkit.templates.tid1500_builder import ReportSpec, build_measurement_report
from srkit.templates.tid1501 import MeasurementGroup, QualitativeEvaluation, SegmentReference
from tests.conftest import data_path, require_tool

CT = "ct/dcmqi_ct-3slice"
LIVER_SEG = "seg/dcmqi_liver_seg.dcm"
MM = Code.make("mm", "UCUM", "millimeter")


def _images() -> list:
    return [load_dataset(p, stop_before_pixels=True) for p in sorted(data_path(CT).glob("*.dcm"))]


def _seg():
    return load_dataset(data_path(LIVER_SEG), stop_before_pixels=True)


def _roundtrip(doc):
    buf = io.BytesIO()
    write(doc, buf)
    buf.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(buf)


def _liver_doc(tmp_path: Path) -> Path:
    data = json.loads(data_path("dcmqi-json/examples/sr-tid1500-ct-liver-example.json").read_text())
    parsed = spec_from_dcmqi(data)
    doc = build_measurement_report(parsed.spec, _images(), [_seg()])
    out = tmp_path / "liver_sr.dcm"
    write(doc, out)
    return out


def test_liver_example_rows(tmp_path: Path) -> None:
    doc = read(_liver_doc(tmp_path))
    rows = measurement_rows(doc)
    assert [r["value"] for r in rows] == [37.3289, -778.0, 221.0, 59.1691, 70361.9, 70.3619]
    assert [r["units"]["value"] for r in rows] == ["[hnsf'U]"] * 4 + ["mm3", "cm3"]
    assert [r["derivation"] and r["derivation"]["meaning"] for r in rows] == [
        "Mean",
        "Minimum",
        "Maximum",
        "Standard Deviation",
        None,
        None,
    ]
    first = rows[0]
    assert first["tracking_identifier"] == "Measurements group 1"
    assert first["finding"]["value"] == "113343008"
    assert first["finding_site"] == {"value": "10200004", "scheme": "SCT", "meaning": "Liver"}
    assert first["segmentation_sop_instance_uid"] == (
        "1.2.276.0.7230010.3.1.4.0.42154.1458337731.665796"
    )
    assert first["segment_number"] == 1
    assert doc.sop_class_uid == "1.2.840.10008.5.1.4.1.1.88.34"
    assert doc.patient.id == "99000"
    report = read_measurement_report(doc)
    assert report.observers[0].device_observer_name == "SecretSauceGenerator"
    assert len(report.image_library) == 3
    meas = report.groups[0].measurements[0]
    assert meas.algorithm.name == "3D Slicer Editor effect (measurement level)"  # type: ignore[union-attr]
    assert [p.number for p in meas.derivation_parameters] == ["9.91", "2", "1"]
    assert meas.population_description == "Elves of the Black Forest"
    assert report.groups[0].algorithm.parameters == ("gamma: 2 (group level)",)  # type: ignore[union-attr]
    assert [len(s.series) for s in doc.evidence] == [2]


def test_liver_example_passes_dsrdump_and_dciodvfy(tmp_path: Path) -> None:
    out = _liver_doc(tmp_path)
    dsrdump = require_tool("dsrdump", "/usr/bin/dsrdump")
    run = subprocess.run([dsrdump, str(out)], capture_output=True, text=True)
    assert run.returncode == 0
    assert "E:" not in run.stderr
    assert 'NUM:(112031,DCM,"Attenuation Coefficient")="37.3289"' in run.stdout.replace(
        " ", ""
    ) or ('"37.3289"' in run.stdout)
    dciodvfy = require_tool("dciodvfy")
    run = subprocess.run([dciodvfy, str(out)], capture_output=True, text=True)
    errors = [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]
    assert errors == []


def test_liver_example_read_by_highdicom(tmp_path: Path) -> None:
    import highdicom as hd  # a test dependency

    out = _liver_doc(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sr = hd.sr.srread(out)
        (group,) = sr.content.get_volumetric_roi_measurement_groups()
    assert group.tracking_identifier == "Measurements group 1"
    values = [(x.name.meaning, x.value, x.unit.value) for x in group.get_measurements()]
    assert values[0] == ("Attenuation Coefficient", 37.3289, "[hnsf'U]")
    assert len(values) == 6


def test_liver_example_through_dcmqi_tid1500reader(tmp_path: Path) -> None:
    try:
        import dcmqi

        bundled = str(Path(dcmqi.__file__).parent / "bin" / "tid1500reader")
    except ImportError:
        bundled = None
    reader = require_tool("tid1500reader", bundled)
    out = _liver_doc(tmp_path)
    meta = tmp_path / "back.json"
    run = subprocess.run(
        [reader, "--inputDICOM", str(out), "--outputMetadata", str(meta)], capture_output=True
    )
    assert run.returncode == 0
    back = json.loads(meta.read_text())
    source = json.loads(
        data_path("dcmqi-json/examples/sr-tid1500-ct-liver-example.json").read_text()
    )
    (got,) = back["Measurements"]
    (want,) = source["Measurements"]
    for key in (
        "TrackingIdentifier",
        "ReferencedSegment",
        "SourceSeriesForImageSegmentation",
        "Finding",
        "FindingSite",
    ):
        assert got[key] == want[key], key
    assert len(got["measurementItems"]) == len(want["measurementItems"])
    for a, b in zip(got["measurementItems"], want["measurementItems"], strict=True):
        assert float(a["value"]) == float(b["value"])
        for key in ("quantity", "units", "derivationModifier"):
            assert a.get(key) == b.get(key), key
    assert back["observerContext"] == source["observerContext"]
    # and srkit's own dcmqi view of the report agrees with dcmqi's
    mine = report_to_dcmqi(read_measurement_report(read(out)))
    assert mine["Measurements"][0]["measurementItems"][0]["value"] == "37.3289"
    assert mine["observerContext"]["DeviceObserverUID"] == "1.2.3.4"


def test_builder_rejects_bad_records() -> None:
    group = MeasurementGroup(number=1, template="1501", tracking_identifier=None)
    with pytest.raises(SrkitError, match="tracking identifier"):
        build_measurement_report(ReportSpec(groups=(group,)), _images())
    num = Measurement(
        quantity=Code.make("410668003", "SCT", "Length"), number="1", value=1.0, units=None
    )
    group = MeasurementGroup(
        number=1, template="1501", tracking_identifier="a", measurements=(num,)
    )
    with pytest.raises(SrkitError, match="no units"):
        build_measurement_report(ReportSpec(groups=(group,)), _images())
    seg = SegmentReference(
        sop_class_uid="1.2.840.10008.5.1.4.1.1.66.4", sop_instance_uid="1.2.3.999", segment_number=1
    )
    group = MeasurementGroup(
        number=1, template="1411", tracking_identifier="a", referenced_segment=seg
    )
    with pytest.raises(SrkitError, match="not among the given files"):
        build_measurement_report(ReportSpec(groups=(group,)), _images())
    with pytest.raises(SrkitError, match="patient and study"):
        build_measurement_report(ReportSpec(groups=()), [])
    with pytest.raises(SrkitError, match="VERIFIED"):
        build_measurement_report(ReportSpec(groups=(), verification_flag="VERIFIED"), _images())


def test_dcmqi_metadata_errors() -> None:
    with pytest.raises(SrkitError, match="no Measurements"):
        spec_from_dcmqi({"imageLibrary": []})
    bad = {"Measurements": [{"TrackingIdentifier": "x", "measurementItems": [{"value": "abc"}]}]}
    with pytest.raises(SrkitError, match=r"Measurements\[0\].measurementItems\[0\]"):
        spec_from_dcmqi(bad)


_codes = st.builds(
    Code.make,
    st.text(alphabet="ABCDEFGHJK0123456789", min_size=1, max_size=8),
    st.sampled_from(["DCM", "SCT", "99TEST"]),
    st.text(alphabet="abcdefgh xyz", min_size=1, max_size=20).map(str.strip).filter(bool),
)
_numbers = (
    st.decimals(min_value=-1e6, max_value=1e6, places=3, allow_nan=False)
    .map(lambda d: str(d.normalize()) if d != 0 else "0")
    .filter(lambda s: "E" not in s and len(s) <= 16)
)
_measurements = st.builds(
    lambda q, n, u, d: Measurement(quantity=q, number=n, value=float(n), units=u, derivation=d),
    _codes,
    _numbers,
    st.just(MM),
    st.none() | _codes,
)
_groups = st.builds(
    lambda i, t, f, site, ms, qs, seg: MeasurementGroup(
        number=i,
        template="1411" if seg else "1501",
        tracking_identifier=t,
        finding=f,
        finding_site=site,
        measurements=tuple(ms),
        qualitative=tuple(QualitativeEvaluation(name=a, value=b) for a, b in qs),
        referenced_segment=SegmentReference(
            sop_class_uid="1.2.840.10008.5.1.4.1.1.66.4",
            sop_instance_uid="1.2.276.0.7230010.3.1.4.0.42154.1458337731.665796",
            segment_number=1,
        )
        if seg
        else None,
    ),
    st.just(1),
    st.text(alphabet="abcdef 0123", min_size=1, max_size=30).map(str.strip).filter(bool),
    st.none() | _codes,
    st.none() | _codes,
    st.lists(_measurements, max_size=4),
    st.lists(st.tuples(_codes, _codes), max_size=2),
    st.booleans(),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(groups=st.lists(_groups, min_size=1, max_size=3), person=st.booleans())
def test_round_trip_build_write_read_rows(groups: list[MeasurementGroup], person: bool) -> None:
    observers = (ObserverContext(person_name="Doe^Jane"),) if person else ()
    spec = ReportSpec(groups=tuple(groups), observers=observers)
    doc = build_measurement_report(spec, _images(), [_seg()])
    again = _roundtrip(doc)
    rows = measurement_rows(again)
    assert rows == measurement_rows(doc)
    expected = [
        (n, g.tracking_identifier, m.quantity, m.value, m.derivation)
        for n, g in enumerate(groups, start=1)
        for m in g.measurements
    ]
    got = [
        (
            r["measurement_group_number"],
            r["tracking_identifier"],
            Code.from_dict(r["quantity"]),
            r["value"],
            Code.from_dict(r["derivation"]) if r["derivation"] else None,
        )
        for r in rows
    ]
    assert got == expected
    assert len(qualitative_rows(again)) == sum(len(g.qualitative) for g in groups)
    report = read_measurement_report(again)
    assert [g.finding for g in report.groups] == [g.finding for g in groups]
    assert [g.referenced_segment is not None for g in report.groups] == [
        g.referenced_segment is not None for g in groups
    ]
    if person:
        assert report.observers[0].person_name == "Doe^Jane"
