"""The dose rows of the index: flattened records, picked columns, the report kept as
its JSON text (real vendor reports)."""

from __future__ import annotations

import json
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import srkit
from srkit.db.srindex import _Picker, dose_columns, flat_numbers
from srkit.templates import dose
from tests.conftest import data_path

_names = st.sampled_from(["kvp", "dlp", "value", "scheme", "meaning", "a.b", "x", "dose_rp"])
_leaves = st.none() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3)
_json = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_names, inner, max_size=4),
    max_leaves=25,
)


def _naive_flat(obj, prefix=""):
    """The rule written out plainly: codes and scalars are leaves, a list stands for
    its first element, mappings nest with dotted keys."""
    out = {}
    if isinstance(obj, dict):
        if {"value", "scheme"} <= set(obj) <= {"value", "scheme", "meaning", "version"}:
            return {prefix.rstrip("."): obj}
        for key, value in obj.items():
            out.update(_naive_flat(value, f"{prefix}{key}."))
    elif isinstance(obj, list):
        if obj:
            out.update(_naive_flat(obj[0], prefix))
    else:
        out[prefix.rstrip(".")] = obj
    return out


def _naive_pick(flat, *names):
    for name in names:
        if name in flat:
            return flat[name]
    for name in names:
        for key, value in flat.items():
            if key.rsplit(".", 1)[-1] == name:
                return value
    return None


@settings(max_examples=200, deadline=None)
@given(_json, st.lists(_names, min_size=1, max_size=3))
def test_flattening_and_picking_follow_the_plain_rule(obj, names):
    flat = flat_numbers(obj)
    assert list(flat.items()) == list(_naive_flat(obj).items())
    expected = _naive_pick(flat, *names)
    assert _Picker(flat)(*names) == expected
    assert _Picker.of(obj)(*names) == expected


def test_a_code_is_one_leaf_and_a_list_its_first_element():
    code = {"value": "113704", "scheme": "DCM", "meaning": "Projection X-Ray"}
    flat = flat_numbers({"events": [{"target_region": code, "kvp": 80.0}, {"kvp": 90.0}]})
    assert flat == {"events.target_region": code, "events.kvp": 80.0}
    assert _Picker(flat)("kvp") == 80.0


@pytest.mark.parametrize(
    ("name", "totals", "count", "first"),
    [
        (  # CT: DLP total in mGy.cm, the first event's DLP and kV
            "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm",
            {"total_dlp": 1590.0, "total_dap": None, "total_dose_rp": None},
            9,
            {"dlp": 29.67, "kvp": 100.0, "acquisition_protocol": "DE_laser align"},
        ),
        (  # angiography: DAP total in Gy.m2, dose at the reference point in Gy
            "rdsr/pyskindose_siemens_axiom_artis.dcm",
            {"total_dlp": None, "total_dap": 9.37e-06, "total_dose_rp": 0.00136},
            21,
            {"dose_area_product": 7.4e-07, "kvp": 77.0, "acquisition_protocol": "FL - High Con."},
        ),
    ],
)
def test_dose_columns_of_real_reports(name, totals, count, first):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = dose.dose_report(srkit.read(data_path(name))).to_dict()
    row, rows = dose_columns(report)
    assert {k: row[k] for k in totals} == totals
    assert row["event_count"] == count == len(rows)
    assert {k: rows[0][k] for k in first} == first
    assert json.loads(row["report"]) == json.loads(json.dumps(report))
    for number, (event, cols) in enumerate(zip(report["events"], rows, strict=True), 1):
        assert cols["event_number"] == number
        assert cols["irradiation_event_uid"] == event["irradiation_event_uid"]
        assert json.loads(cols["row"]) == event


# -- the store's SQLite cursor path writes what the import batches write ----------------

_SR_TABLES = {
    "sr_document": "instance_pk",
    "measurement": "pk",
    "qualitative": "pk",
    "dose_report": "pk",
    "dose_event": "pk",
}
_REAL_SRS = [
    "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm",
    "rdsr/pyskindose_siemens_axiom_artis.dcm",
    "sr-tid1500/dcmqi_sr-example_sr.dcm",
    "sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm",
]


def _sr_table_rows(db):
    """Every row of the SR tables, keys (pks) replaced by the SOP Instance UID they
    belong to, in a stable order."""
    from sqlalchemy import create_engine, text

    out = {}
    engine = create_engine(db.url)
    with engine.connect() as conn:
        uid = dict(conn.execute(text("SELECT pk, sop_instance_uid FROM instance")).all())
        report = dict(conn.execute(text("SELECT pk, instance_pk FROM dose_report")).all())
        for table, order in _SR_TABLES.items():
            rows = []
            for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}")).mappings():
                row = dict(row)
                row.pop("pk", None)
                if "instance_pk" in row:
                    row["instance_pk"] = uid[row["instance_pk"]]
                if "dose_report_pk" in row:
                    row["dose_report_pk"] = uid[report[row["dose_report_pk"]]]
                rows.append(row)
            out[table] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
    engine.dispose()
    return out


def test_stored_sr_rows_are_the_imported_ones(tmp_path):
    from srkit.db.database import Database

    paths = [data_path(name) for name in _REAL_SRS]
    stored = Database(tmp_path / "stored.sqlite", storage=tmp_path / "s1")
    imported = Database(tmp_path / "imported.sqlite", storage=tmp_path / "s2")
    try:
        for path in paths:  # one instance at a time: the cursor path
            stored.store_bytes(path.read_bytes())
        report = imported.import_paths(paths, copy=True)  # batches: SQLAlchemy Core
        assert report.imported == len(paths)
        assert not report.rejected
        mine, theirs = _sr_table_rows(stored), _sr_table_rows(imported)
        assert {t: len(r) for t, r in mine.items()} == {t: len(r) for t, r in theirs.items()}
        assert len(mine["dose_event"]) == 9 + 21  # the Siemens CT and angiography events
        assert len(mine["measurement"]) > 0
        assert mine == theirs
    finally:
        stored.close()
        imported.close()
