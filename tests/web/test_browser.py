"""The web interface in a real browser (Playwright driving Debian's Chromium) against a
real ``srkit serve`` with a token, on a database of the shared data, the demo's sample
studies and 500 generated studies: log in, search, page, open a study, a TID 1500
report and a dose report; each test asserts what is visible and saves a screenshot.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from srkit.db import Database
from tests.conftest import DATA, data_path, require_module, require_tool
from tests.peers import CHROMIUM_ARGS, free_port, wait_for_port
from tests.web.studies import make_studies

TOKEN = "browser-t0ken"
GENERATED = 500


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """The database file and what the tests expect from it (read back from the db)."""
    from srkit.samples import make_samples

    root = tmp_path_factory.mktemp("browser")
    data_path("ct")  # skips (or fails under CI) without the shared data
    samples = root / "samples"
    make_samples(samples)
    generated = make_studies(root / "generated", GENERATED)
    db = Database(root / "db.sqlite", storage=root / "storage")
    report = db.import_paths([DATA, samples, *generated])
    assert report.imported >= GENERATED + 48
    ada = db.query("STUDY", {"PatientID": "SRK0001"})[0]
    long_axis = next(
        m
        for m in db.query_measurements(patient_id="SRK0001")
        if m["quantity"]["meaning"] == "Long Axis"
    )
    event = db.query_dose(level="event", patient_id="SRK0001")[0]
    db.close()
    return {
        "path": root / "db.sqlite",
        "study": ada,
        "long_axis": long_axis,
        "event_dlp": event["event.ct_dose.dlp"],
    }


@pytest.fixture(scope="module")
def server(archive):
    port = free_port()
    env = {**os.environ, "SRKIT_TOKEN": TOKEN}
    command = [sys.executable, "-m", "srkit.cli.main", "serve", "--port", str(port),
               "--db", str(archive["path"])]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.communicate(timeout=15)


@pytest.fixture(scope="module")
def browser():
    chromium = require_tool("chromium", "/usr/bin/chromium")
    sync_api = require_module("playwright.sync_api", "pip install playwright")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _logged_in(browser, server):
    """A new page, logged in through the login form (the way a person does)."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{server}/")
    assert page.url.startswith(f"{server}/login?next=")
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    cookies = page.context.cookies()
    session = next(c for c in cookies if c["name"] == "srkit_session")
    assert session["httpOnly"]
    assert session["sameSite"] == "Strict"
    assert TOKEN not in session["value"]
    return page


def _column(page, n: int) -> list[str]:
    return [
        t.strip() for t in page.locator(f"#worklist tbody tr td:nth-child({n})").all_inner_texts()
    ]


def test_login_search_and_page_through_the_worklist(browser, server, tmp_path: Path):
    page = _logged_in(browser, server)
    # search by name, as people write it
    page.fill("input[name=name]", "Lovelace, Ada")
    page.click("form.search button[type=submit]")
    page.wait_for_load_state()
    names = _column(page, 1)
    assert names == ["Lovelace, Ada"]
    assert _column(page, 4) == ["2025-01-06"]
    # by a date range (the generated studies: one a day from 2020-01-01)
    page.goto(f"{server}/studies")
    page.fill("input[name=date_from]", "2020-03-01")
    page.fill("input[name=date_to]", "2020-03-05")
    page.click("form.search button[type=submit]")
    page.wait_for_load_state()
    assert sorted(_column(page, 4)) == [f"2020-03-0{d}" for d in range(1, 6)]
    assert "Studies 1\N{EN DASH}5 of 5" in page.inner_text(".pager .count")
    # page through the 500 generated studies, 100 at a time, by Patient ID
    page.goto(f"{server}/studies?patient_id=GEN*&size=100")
    page.click("#worklist thead th:nth-child(2) a")  # sort by Patient ID
    page.wait_for_load_state()
    seen = _column(page, 2)
    for _ in range(4):
        page.locator("a[rel=next]").first.click()
        page.wait_for_load_state()
        seen += _column(page, 2)
    assert seen == [f"GEN{n:04d}" for n in range(GENERATED)]
    assert "Studies 401\N{EN DASH}500 of 500" in page.inner_text(".pager .count")
    assert page.locator("a[rel=next]").count() == 0
    page.screenshot(path=str(tmp_path / "worklist.png"), full_page=True)
    assert (tmp_path / "worklist.png").stat().st_size > 10_000


def test_open_a_study_a_report_and_a_dose_report(browser, server, archive, tmp_path: Path):
    page = _logged_in(browser, server)
    page.fill("input[name=patient_id]", "SRK0001")
    page.click("form.search button[type=submit]")
    page.wait_for_load_state()
    page.click("#worklist tbody tr:first-child td:first-child a")
    page.wait_for_load_state()
    assert page.title() == "Lovelace, Ada - 2025-01-06 - CT sample study - srkit"
    assert page.inner_text("h1") == "Lovelace, Ada - 2025-01-06 - CT sample study"
    study_url = page.url
    assert archive["study"]["StudyInstanceUID"] in study_url
    assert page.locator("#series img").count() == 1  # the CT series' preview
    page.screenshot(path=str(tmp_path / "study.png"), full_page=True)

    # the CT series: its slice preview (drawn by srkit.web.image_pages) and instances
    page.click("#series tbody tr:first-child td:nth-child(2) a")
    page.wait_for_load_state()
    assert page.inner_text("h1") == "CT series 2: Axial 5 mm - Lovelace, Ada 2025-01-06"
    assert "/preview.png?slice=3&size=512" in page.get_attribute("#slice", "src")
    assert page.locator("#instances tbody tr").count() == 6
    page.goto(study_url)

    # the TID 1500 report: its measurement with units, its images linked with the report
    page.click("#reports a:has-text('Imaging Measurement Report')")
    page.wait_for_load_state()
    m = archive["long_axis"]
    report = page.frame_locator("iframe[title=report]")
    text = report.locator("body").inner_text()
    assert re.search(rf"Long Axis\s+{m['value']:g}\s+(mm|millimeter)", text), text[:2000]
    links = page.locator("#references a").evaluate_all("els => els.map(e => e.href)")
    assert links
    assert all(f"sr={m['sop_instance_uid']}" in link for link in links)
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)

    # the dose report: an irradiation event's DLP
    page.goto(study_url)
    page.click("#reports a:has-text('X-Ray Radiation Dose Report')")
    page.wait_for_load_state()
    text = page.frame_locator("iframe[title=report]").locator("body").inner_text()
    assert f"{archive['event_dlp']:g} mGy.cm" in text
    page.screenshot(path=str(tmp_path / "dose-report.png"), full_page=True)

    # the measurement table, filtered by patient, with its units
    page.goto(f"{server}/measurements?patient=SRK0001")
    row = page.locator("#measurements tbody tr", has_text="Long Axis").first
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[0] == "Lovelace, Ada"
    assert cells[2] == "2025-01-06"
    assert cells[8:10] == [f"{m['value']:g}", "mm"]
    assert page.locator("svg[data-chart=histogram] rect.bin").count() >= 1
    page.screenshot(path=str(tmp_path / "measurements.png"), full_page=True)
