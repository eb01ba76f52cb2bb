"""QIDO-RS and WADO-RS query parameters out of range: HTTP 400 with a problem body
(RFC 9457) naming the parameter and its range, on SQLite and PostgreSQL, never a 500."""

from __future__ import annotations

import logging
import warnings

import pydicom
import pytest

from srkit.net.dicomweb.params import MAX_SQL_INTEGER, QueryParameterError, parse_query
from srkit.net.dicomweb.wado import frame_numbers
from srkit.web.app import create_app
from tests.conftest import data_files
from tests.db.fixtures import fresh_db, fresh_url  # noqa: F401

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's import-time note about httpx2
    from fastapi.testclient import TestClient

CT = data_files("ct/pydicom_CT2/*.dcm")[0]
SR = data_files("sr-tid1500/*.dcm")[0]
HUGE = str(2**63)  # one more than SQLite's INTEGER and PostgreSQL's bigint hold
LIMIT_RANGE = f"an integer from 0 to {MAX_SQL_INTEGER}"

BAD_QUERIES = [
    # (route, query string, parameter named, accepted range named)
    ("studies", f"limit={HUGE}", "limit", LIMIT_RANGE),
    ("studies", f"offset={HUGE}", "offset", LIMIT_RANGE),
    ("series", f"limit={'9' * 5000}", "limit", LIMIT_RANGE),  # beyond int()'s digit limit
    ("instances", "limit=-1", "limit", LIMIT_RANGE),
    ("studies", "offset=ten", "offset", LIMIT_RANGE),
    ("studies", "limit=%C2%B2", "limit", LIMIT_RANGE),  # superscript two: isdigit() yet not int
    ("studies", "limit=%D9%A3", "limit", LIMIT_RANGE),  # an Arabic-Indic digit
    ("studies", "limit=1e3", "limit", LIMIT_RANGE),
    ("studies", "fuzzymatching=yes", "fuzzymatching", "true or false"),
    ("studies", "includefield=NoSuchKeyword", "includefield", "'all' or attribute keywords"),
    ("series", f"SeriesNumber={HUGE}", "SeriesNumber", "from -2147483648 to 2147483647 (VR IS)"),
    ("instances", "InstanceNumber=-2147483649", "InstanceNumber", "(VR IS)"),
    ("instances", "00280010=65536", "00280010", "from 0 to 65535 (VR US)"),
    ("instances", "InstanceNumber=1%5C99999999999", "InstanceNumber", "(VR IS)"),
    ("studies", "NoSuchAttribute=1", "NoSuchAttribute", "a matching key"),
]


@pytest.fixture
def http(fresh_db):  # noqa: F811
    """A client of an archive holding one CT image and one TID 1500 report."""
    for path in (CT, SR):
        fresh_db.store_dataset(pydicom.dcmread(path))
    return TestClient(create_app(fresh_db), raise_server_exceptions=False)


def test_out_of_range_query_parameters_are_problems(http, caplog):
    caplog.set_level(logging.DEBUG)
    for route, query, parameter, accepted in BAD_QUERIES:
        rsp = http.get(f"/dicomweb/{route}?{query}")
        assert rsp.status_code == 400, (query, rsp.text[:200])
        assert rsp.headers["content-type"] == "application/problem+json"
        body = rsp.json()
        assert body["status"] == 400
        assert body["parameter"] == parameter
        assert accepted in body["accepted"], query
        assert body["detail"].startswith(f"{parameter} must be ")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


def test_largest_limit_and_offset_reach_sql(http):
    ct = pydicom.dcmread(CT, stop_before_pixels=True)
    top = str(MAX_SQL_INTEGER)
    rsp = http.get(f"/dicomweb/studies?limit={top}&PatientID={ct.PatientID}")
    assert rsp.status_code == 200
    assert [r["0020000D"]["Value"][0] for r in rsp.json()] == [str(ct.StudyInstanceUID)]
    assert http.get(f"/dicomweb/instances?offset={top}").status_code == 204
    assert http.get(f"/dicomweb/series?limit={top}&offset={top}").status_code == 204
    rsp = http.get(f"/dicomweb/series?SeriesNumber=2147483647\\{ct.SeriesNumber}")
    assert rsp.status_code == 200
    assert [r["0020000E"]["Value"][0] for r in rsp.json()] == [str(ct.SeriesInstanceUID)]


def test_frame_numbers_out_of_range(http, caplog):
    ct = pydicom.dcmread(CT)
    base = (
        f"/dicomweb/studies/{ct.StudyInstanceUID}/series/{ct.SeriesInstanceUID}"
        f"/instances/{ct.SOPInstanceUID}/frames"
    )
    for frames in ("0", "-1", str(2**31), HUGE, "1,1", "x", "1,", "%C2%B2"):
        rsp = http.get(f"{base}/{frames}")
        assert rsp.status_code == 400, frames
        assert rsp.json()["parameter"] == "frames"
        assert "frame numbers from 1 to 2147483647" in rsp.json()["accepted"]
    rsp = http.get(f"{base}/2")  # the image has one frame
    assert rsp.status_code == 400
    assert rsp.json()["accepted"] == "frame numbers from 1 to 1"
    rsp = http.get(f"{base}/1")
    assert rsp.status_code == 200
    assert ct.PixelData in rsp.content
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


def test_parse_query_ranges():
    query = parse_query([("LIMIT", "5"), ("offset", "+2"), ("SeriesNumber", "-3\\4")])
    assert (query.limit, query.offset, query.filters) == (5, 2, {"SeriesNumber": "-3\\4"})
    with pytest.raises(QueryParameterError) as caught:
        parse_query([("Limit", " 5")])
    assert (caught.value.parameter, caught.value.value) == ("Limit", " 5")
    assert frame_numbers("3,1,2") == [3, 1, 2]


def test_database_refuses_numbers_sql_cannot_hold(fresh_db):  # noqa: F811
    """The library and ``srkit ls``/``query`` (DIMSE C-FIND too) share the check."""
    from srkit.errors import SrkitError

    fresh_db.store_dataset(pydicom.dcmread(CT))
    for call in (
        lambda: fresh_db.query("STUDY", {}, limit=2**63),
        lambda: fresh_db.query("STUDY", {}, offset=-1),
        lambda: fresh_db.query("SERIES", {"SeriesNumber": HUGE}),
        lambda: fresh_db.query("SERIES", {"SeriesNumber": f"1\\-{HUGE}1"}),
        lambda: fresh_db.query_dose(limit=HUGE),
        lambda: fresh_db.query_measurements(offset=2**64),
    ):
        with pytest.raises(SrkitError, match=r"out of range|must be from"):
            call()
    top = fresh_db.query("SERIES", {}, limit=MAX_SQL_INTEGER, offset=0)
    assert [r["SeriesInstanceUID"] for r in top] == [str(pydicom.dcmread(CT).SeriesInstanceUID)]


def test_cli_ls_limit_beyond_sql_is_one_line(tmp_path):
    from click.testing import CliRunner

    from srkit.cli.main import cli

    db = str(tmp_path / "db.sqlite")
    assert CliRunner().invoke(cli, ["import", str(CT), "--db", db]).exit_code == 0
    for args, message in [
        (["--limit", HUGE], f"srkit: limit must be from 0 to {MAX_SQL_INTEGER}, not {HUGE}"),
        (["-k", f"SeriesNumber={HUGE}"], f"srkit: number out of range: '{HUGE}'"),
    ]:
        result = CliRunner().invoke(cli, ["ls", "series", "--db", db, *args])
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [message]
