"""Issue 12, part 1: dose values a physicist can trust.

Synthetic reports built from the real RDSRs of the shared data (a scheme rewritten to
``UCM`` as a GE fluoroscopy RDSR writes it, a DX-like event with Exposure Time in ms,
units in non-prescribed but convertible forms, an unparseable unit), and, for every
shared RDSR, every NUM of the file found in the record with its value converted by hand.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections import Counter
from collections.abc import Callable, Iterator
from csv import DictReader
from pathlib import Path
from typing import Any

import pydicom
import pytest
from click.testing import CliRunner
from pydicom.dataset import Dataset

from srkit.cli.main import cli
from srkit.codec import read
from srkit.model.code import Code
from srkit.model.items import ContainerContentItem, ContentItem, NumContentItem
from srkit.templates.concepts import concept_key
from srkit.templates.dose import dose_report
from srkit.templates.dose_common import DoseReport, ucum_scheme_misspelt
from srkit.templates.vendor import PRIVATE_SCHEME_PREFIXES
from tests.conftest import data_files, data_path

ARTIS = "rdsr/pyskindose_siemens_axiom_artis.dcm"
SIEMENS_CT = "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"
IRRADIATION_EVENT = "113706"


def _nums(seq: Any) -> Iterator[Dataset]:
    for item in seq:
        if item.get("ValueType") == "NUM" and item.get("MeasuredValueSequence"):
            yield item
        yield from _nums(item.get("ContentSequence", []))


def _units(num: Dataset) -> Dataset:
    return num.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0]


def _event_items(ds: Dataset) -> list[Dataset]:
    return [
        c
        for c in ds.ContentSequence
        if c.ValueType == "CONTAINER"
        and c.ConceptNameCodeSequence[0].CodeValue == IRRADIATION_EVENT
    ]


def _rewrite(name: str, tmp_path: Path, edit: Callable[[Dataset], None]) -> DoseReport:
    ds = pydicom.dcmread(data_path(name))
    edit(ds)
    out = tmp_path / "edited.dcm"
    ds.save_as(out)
    report = dose_report(read(out))
    assert report is not None
    return report


def _original(name: str) -> DoseReport:
    report = dose_report(read(data_path(name)))
    assert report is not None
    return report


# -- a GE fluoroscopy report: every event unit coded with scheme UCM --------------------------


def _ge_ucm(ds: Dataset) -> None:
    ds.Manufacturer = "GE Healthcare"
    for event in _event_items(ds):
        for num in _nums(event.ContentSequence):
            unit = _units(num)
            unit.CodeValue = {"Gym2": "Gy.m2", "uAs": "uA.s"}.get(unit.CodeValue, unit.CodeValue)
            unit.CodeMeaning = unit.CodeValue
            unit.CodingSchemeDesignator = "UCM"


def test_ucm_scheme_keeps_every_event_value(tmp_path: Path) -> None:
    original = _original(ARTIS)
    report = _rewrite(ARTIS, tmp_path, _ge_ucm)
    assert len(report.events) == len(original.events) == 21
    for got, expected in zip(report.events, original.events, strict=True):
        for key in ("dose_area_product", "dose_rp", "collimated_field_area"):
            assert isinstance(expected.get(key), float)
            assert got[key] == expected[key]
    assert report.events[0]["dose_area_product"] == 7.4e-07  # Gy.m2
    assert report.accumulated == original.accumulated  # totals keep UCUM
    fixed = [d for d in report.diagnostics if d.fixup == "ucum_scheme_misspelt"]
    assert fixed, "the repair is recorded"
    assert all(d.severity == "WARNING" and "'UCM'" in d.message for d in fixed)
    assert any("'Gy.m2'" in d.message for d in fixed)
    assert not [d for d in report.diagnostics if d.severity == "ERROR"]


def test_empty_and_padded_schemes(tmp_path: Path) -> None:
    def empty(ds: Dataset) -> None:
        for num in _nums(_event_items(ds)[0].ContentSequence):
            _units(num).CodingSchemeDesignator = ""

    report = _rewrite(ARTIS, tmp_path, empty)
    assert report.events[0]["dose_area_product"] == 7.4e-07
    assert any(
        d.fixup == "ucum_scheme_misspelt" and "coding scheme ''" in d.message
        for d in report.diagnostics
    )
    # a scheme with padding the codec did not strip (built in memory)
    doc = read(data_path(ARTIS))
    dap = doc.item("1.10.7")
    assert isinstance(dap, NumContentItem)
    assert dap.units is not None
    padded = dataclasses.replace(dap, units=Code.make("Gy.m2", "UCUM ", "Gy.m2"))
    doc = _replace(doc, (10, 7), padded)
    report = dose_report(doc)
    assert report is not None
    assert report.events[0]["dose_area_product"] == 7.4e-07
    assert any("coding scheme 'UCUM '" in d.message for d in report.diagnostics)


@pytest.mark.parametrize(
    ("scheme", "meant"),
    [
        ("UCM", True), ("UCUM ", True), ("", True), ("ucum", True), ("UCMU", True),
        ("UCUN", True), ("DCM", False), ("SCT", False), ("99SMS", False), ("UCUM44", False),
    ],
)  # fmt: skip
def test_scheme_misspellings(scheme: str, meant: bool) -> None:
    assert ucum_scheme_misspelt(scheme) is meant


def _replace(doc: Any, path: tuple[int, ...], new: ContentItem) -> Any:
    def walk(item: ContentItem, rest: tuple[int, ...]) -> ContentItem:
        kids = list(item.children)
        kids[rest[0] - 1] = new if len(rest) == 1 else walk(kids[rest[0] - 1], rest[1:])
        return dataclasses.replace(item, children=tuple(kids))

    return dataclasses.replace(doc, root=walk(doc.root, path))


# -- a DX-like event: Exposure Time (113824, DCM) in ms (TID 10003B) ---------------------------


def _exposure_time(value: str, unit: str) -> Callable[[Dataset], None]:
    def edit(ds: Dataset) -> None:
        first = _event_items(ds)[0]
        for num in _nums(first.ContentSequence):
            concept = num.ConceptNameCodeSequence[0]
            if concept.CodeValue == "113735":  # the vendor's Exposure Time
                concept.CodeValue = "113824"
                num.MeasuredValueSequence[0].NumericValue = value
                u = _units(num)
                u.CodeValue = u.CodeMeaning = unit
                u.CodingSchemeDesignator = "UCUM"
                return
        raise AssertionError("no Exposure Time in the first event")

    return edit


@pytest.mark.parametrize(("value", "unit"), [("5", "ms"), ("0.005", "s"), ("5000", "us")])
def test_dx_exposure_time_stays_in_ms(value: str, unit: str, tmp_path: Path) -> None:
    report = _rewrite(ARTIS, tmp_path, _exposure_time(value, unit))
    assert report.events[0]["exposure_time"] == 5.0  # ms, as TID 10003B prescribes (was 0.005)
    assert report.events[1]["exposure_time"] == 29.7  # the vendor's 113735, ms


def test_ct_exposure_time_stays_in_s() -> None:
    report = _original(SIEMENS_CT)
    params = report.events[1]["ct_acquisition_parameters"]
    assert params["exposure_time"] == 0.48  # s, TID 10013 (the file writes 0.48 s)


# -- units in non-prescribed but convertible forms -----------------------------------------------


def _convertible(ds: Dataset) -> None:
    first = _event_items(ds)[0]
    for num in _nums(first.ContentSequence):
        code = num.ConceptNameCodeSequence[0].CodeValue
        value = float(num.MeasuredValueSequence[0].NumericValue)
        new = {
            "122130": (value * 1e5, "dGy.cm2"),  # Gy.m2 -> dGy.cm2
            "113738": (value * 1e3, "mGy"),  # Gy -> mGy
            "113790": (value * 1e4, "cm2"),  # m2 -> cm2
            "113750": (value / 10, "cm"),  # mm -> cm
            "113742": (value * 1e3, "ms"),  # s -> ms
            "113736": (value / 1e3, "mA.s"),  # uA.s -> mA.s
        }.get(code)
        if new is not None:
            num.MeasuredValueSequence[0].NumericValue = f"{new[0]:.12g}"
            u = _units(num)
            u.CodeValue = u.CodeMeaning = new[1]
            u.CodingSchemeDesignator = "UCUM"


def test_convertible_units_come_out_in_template_units(tmp_path: Path) -> None:
    original = _original(ARTIS).events[0]
    report = _rewrite(ARTIS, tmp_path, _convertible)
    got = report.events[0]
    assert got["dose_area_product"] == pytest.approx(original["dose_area_product"], rel=1e-12)
    assert got["dose_rp"] == pytest.approx(original["dose_rp"], rel=1e-12)
    assert got["collimated_field_area"] == pytest.approx(
        original["collimated_field_area"], rel=1e-12
    )
    assert isinstance(got["dose_area_product"], float)
    for key in ("distance_source_to_detector", "exposure"):
        assert isinstance(original[key], float)
        assert got[key] == pytest.approx(original[key], rel=1e-12)
    assert not [d for d in report.diagnostics if d.severity == "ERROR"]


# -- an unparseable unit: kept with its diagnostic ------------------------------------------------


def _unparseable(ds: Dataset) -> None:
    first = _event_items(ds)[0]
    for num in _nums(first.ContentSequence):
        if num.ConceptNameCodeSequence[0].CodeValue == "122130":
            num.MeasuredValueSequence[0].NumericValue = "12.5"
            u = _units(num)
            u.CodeValue = u.CodeMeaning = "mGycm2"
            u.CodingSchemeDesignator = "99ACME"
            return


def test_unparseable_unit_is_kept_with_diagnostic(tmp_path: Path) -> None:
    report = _rewrite(ARTIS, tmp_path, _unparseable)
    assert report.events[0]["dose_area_product"] == {
        "value": 12.5,
        "unit": "mGycm2",
        "scheme": "99ACME",
        "normalised": False,
    }
    assert report.events[1]["dose_area_product"] == _original(ARTIS).events[1]["dose_area_product"]
    (error,) = [d for d in report.diagnostics if d.severity == "ERROR"]
    assert error.path == "1.10.7"
    assert error.message.startswith("[dose-unit-unknown] Dose Area Product (122130, DCM)")
    assert "expected Gy.m2" in error.message


def test_cli_strict_units(tmp_path: Path) -> None:
    ds = pydicom.dcmread(data_path(ARTIS))
    _unparseable(ds)
    path = tmp_path / "bad-unit.dcm"
    ds.save_as(path)
    runner = CliRunner()
    kept = runner.invoke(cli, ["dose", str(path), "--format", "json", "--diagnostics"])
    assert kept.exit_code == 0, kept.output
    (record,) = json.loads(kept.stdout)
    assert record["events"][0]["dose_area_product"]["value"] == 12.5
    assert "[dose-unit-unknown]" in kept.stderr
    strict = runner.invoke(cli, ["dose", str(path), "--format", "json", "--strict-units"])
    assert strict.exit_code == 0, strict.output
    (record,) = json.loads(strict.stdout)
    assert record["events"][0]["dose_area_product"] is None
    csv = runner.invoke(cli, ["dose", str(path), "--format", "csv"])
    assert csv.exit_code == 0, csv.output
    columns = next(iter(DictReader(io.StringIO(csv.stdout))))
    # the fixed float column stays empty; the number in its own unit is in "other"
    assert columns["event.dose_area_product"] == ""
    assert json.loads(columns["other"])["event.dose_area_product"] == {
        "value": 12.5, "unit": "mGycm2", "scheme": "99ACME", "normalised": False,
    }  # fmt: skip


# -- every shared RDSR: no number silently lost --------------------------------------------------

# the units the shared files write, and the template unit each one is in (by hand)
_BY_HAND: dict[str, tuple[str, float]] = {
    "kV": ("kV", 1.0), "mA": ("mA", 1.0), "{events}": ("1", 1.0), "mGy.cm": ("mGy.cm", 1.0),
    "mGycm": ("mGy.cm", 1.0), "{X-Ray sources}": ("1", 1.0), "X-ray sources": ("1", 1.0),
    "s": ("s", 1.0), "mm": ("mm", 1.0), "{ratio}": ("1", 1.0), "mGy": ("mGy", 1.0),
    "deg": ("deg", 1.0), "Gy.m2": ("Gy.m2", 1.0), "Gym2": ("Gy.m2", 1.0), "Gy": ("Gy", 1.0),
    "%": ("%", 1.0), "1": ("1", 1.0), "ms": ("ms", 1.0), "uAs": ("uA.s", 1.0),
    "m2": ("m2", 1.0), "{pulse}/s": ("{pulse}/s", 1.0),
}  # fmt: skip

_PREFIXES = tuple(f"{p}_" for p in {*PRIVATE_SCHEME_PREFIXES.values(), "private"})


def _record_numbers(value: Any, key: str, out: Counter[tuple[str, float]]) -> None:
    if isinstance(value, dict):
        if value.get("normalised") is False:
            out[(key, float(value["value"]))] += 1
            return
        for k, v in value.items():
            _record_numbers(v, k, out)
    elif isinstance(value, list):
        for v in value:
            _record_numbers(v, key, out)
    elif isinstance(value, float) and not isinstance(value, bool):
        for prefix in _PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
        out[(key, value)] += 1


def _file_numbers(path: Path) -> Counter[tuple[str, float]]:
    ds = pydicom.dcmread(path)
    out: Counter[tuple[str, float]] = Counter()
    for num in _nums(ds.ContentSequence):
        measured = num.MeasuredValueSequence[0]
        if measured.get("NumericValue") in (None, ""):
            continue
        unit = _units(num).CodeValue
        assert unit in _BY_HAND, f"{path.name}: unit {unit!r} not converted by hand in the test"
        factor = _BY_HAND[unit][1]
        c = num.ConceptNameCodeSequence[0]
        key = concept_key(Code.make(c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning))
        out[(key, float(f"{float(measured.NumericValue) * factor:.15g}"))] += 1
    return out


RDSRS = data_files("rdsr/*.dcm")


@pytest.mark.parametrize("path", RDSRS, ids=[p.name for p in RDSRS])
def test_every_num_of_the_file_is_in_the_record(path: Path) -> None:
    report = dose_report(read(path))
    assert report is not None
    got: Counter[tuple[str, float]] = Counter()
    _record_numbers(report.to_dict(), "", got)
    _record_numbers(report.extra, "", got)
    expected = _file_numbers(path)
    assert sum(expected.values()) > 10
    missing = expected - got
    assert not missing, f"numbers of the file not in the record: {sorted(missing)[:10]}"
    assert not (got - expected), "numbers in the record that the file does not have"


def test_no_container_lost_its_numbers() -> None:
    """The record walk above sees nested containers (a guard against a walk that
    would pass on an empty record)."""
    doc = read(data_path(ARTIS))
    containers = [c for c in doc.root.children if isinstance(c, ContainerContentItem)]
    assert len(containers) == 22  # 1 accumulated + 21 events


def test_unnormalised_value_survives_the_index(tmp_path: Path) -> None:
    from srkit.db import Database

    ds = pydicom.dcmread(data_path(ARTIS))
    _unparseable(ds)
    path = tmp_path / "bad-unit.dcm"
    ds.save_as(path)
    with Database(str(tmp_path / "db.sqlite")) as db:
        report = db.import_paths([path], workers=1)
        assert report.imported == 1
        events = db.query_dose(level="event")
    first = next(e for e in events if e["event_number"] == 1)
    assert first["event.dose_area_product"] == {
        "value": 12.5, "unit": "mGycm2", "scheme": "99ACME", "normalised": False,
    }  # fmt: skip
    second = next(e for e in events if e["event_number"] == 2)
    assert second["event.dose_area_product"] == _original(ARTIS).events[1]["dose_area_product"]


def test_summary_dap_in_the_units_people_read() -> None:
    runner = CliRunner()
    path = str(data_path(ARTIS))
    base = runner.invoke(cli, ["dose", path, "--summary", "--format", "json"])
    (row,) = json.loads(base.stdout)
    shown = runner.invoke(
        cli, ["dose", path, "--summary", "--format", "json", "--dap-unit", "Gy.cm2"]
    )
    assert shown.exit_code == 0, shown.output
    (converted,) = json.loads(shown.stdout)
    assert "dap_total" not in converted
    assert converted["dap_total_Gy.cm2"] == pytest.approx(row["dap_total"] * 1e4, rel=1e-12)
    assert converted["dap_total_Gy.cm2"] == pytest.approx(0.0937, rel=1e-9)  # 9.37e-06 Gy.m2
    micro = runner.invoke(
        cli, ["dose", path, "--summary", "--format", "json", "--dap-unit", "uGy.m2"]
    )
    assert json.loads(micro.stdout)[0]["dap_total_uGy.m2"] == pytest.approx(9.37, rel=1e-9)
    wrong = runner.invoke(cli, ["dose", path, "--dap-unit", "Gy.cm2"])
    assert wrong.exit_code == 2
    assert "--dap-unit goes with --summary" in wrong.output
