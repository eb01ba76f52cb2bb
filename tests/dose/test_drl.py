"""Issue 12, parts 2 and 3: DRLs and alerts on a generated archive of 2,000 exams.

The archive (``tests/dose_corpus.py``): 1,400 CT exams (four standard protocols spelt
per station, three stations, a localizer each, some with a scanner Dose Check alert)
and 600 fluoroscopy exams (40 patients with many procedures). Every figure srkit
gives is checked against DuckDB over what the generator put into the files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.db import Database
from tests.conftest import require_module
from tests.dose.corpus import MAPPING_CSV, NATIONAL_CSV, Corpus, make_corpus

duckdb = require_module("duckdb")

pytestmark = pytest.mark.slow

UNMAPPED = {"AP portal venous", "PE protocol"}
NATIONAL = {  # NATIONAL_CSV, by hand: (modality, name) -> {quantity: level}
    ("CT", "Head"): {"ctdivol": 60.0, "dlp": 970.0},
    ("CT", "Chest"): {"ctdivol": 10.0, "dlp": 350.0},
    ("CT", "Abdomen and pelvis"): {"ctdivol": 15.0},
    ("XR", "Coronary angiography"): {"dap": 150e-4},
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Corpus, Path, Path]:
    folder = tmp_path_factory.mktemp("dose-archive")
    corpus = make_corpus(folder / "files")
    db_path = folder / "dose.sqlite"
    with Database(str(db_path)) as db:
        report = db.import_paths([corpus.folder], workers=1)
    assert report.imported == corpus.ct + corpus.xr == 2000
    (folder / "map.csv").write_text(MAPPING_CSV)
    (folder / "national.csv").write_text(NATIONAL_CSV)
    return corpus, db_path, folder


def _truth(corpus: Corpus) -> Any:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE exam (uid TEXT, modality TEXT, station TEXT, protocol TEXT, "
        "name TEXT, region TEXT, dlp DOUBLE, ctdivol DOUBLE, dap DOUBLE, rp DOUBLE, "
        "day DATE, patient TEXT, dose_check BOOLEAN)"
    )
    rows = []
    for t in corpus.truth:
        protocol = t.get("protocol")
        name = protocol if protocol in UNMAPPED else t.get("standard", protocol)
        if t["modality"] == "XR":
            protocol = name = "FL - High Con."  # the Artis file's protocol, kept
        rows.append(
            (
                t["sop_instance_uid"],
                t["modality"],
                t["station"],
                protocol,
                name,
                t.get("body_region", "Entire body"),
                t.get("dlp"),
                t.get("ctdivol"),
                t.get("dap"),
                t.get("dose_rp"),
                t["date"],
                t["patient_id"],
                bool(t.get("dose_check")),
            )
        )
    con.executemany("INSERT INTO exam VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    return con


def _run(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_local_drls_match_duckdb(archive: tuple[Corpus, Path, Path]) -> None:
    corpus, db, folder = archive
    out = _run(
        "dose", "drl", "--db", str(db), "--mapping", str(folder / "map.csv"), "--format", "json"
    )
    got = {
        (r["modality"], r["name"], r["body_region"], r["station"]): r
        for r in json.loads(out.stdout)
    }
    expected = (
        _truth(corpus)
        .execute(
            "SELECT modality, name, region, station, count(*), "
            "count(dlp), median(dlp), quantile_cont(dlp, 0.75), "
            "count(ctdivol), median(ctdivol), quantile_cont(ctdivol, 0.75), "
            "count(dap), quantile_cont(dap, 0.5), quantile_cont(dap, 0.75), "
            "quantile_cont(rp, 0.75) FROM exam GROUP BY ALL"
        )
        .fetchall()
    )
    assert len(got) == len(expected) == 12 * 1 + 2  # 4 names x 3 stations (+2 unmapped) +XR
    for (
        mod,
        name,
        region,
        station,
        n,
        ndlp,
        dlp50,
        dlp75,
        nct,
        ct50,
        ct75,
        ndap,
        dap50,
        dap75,
        rp75,
    ) in expected:
        row = got[(mod, name, region, station)]
        assert row["exams"] == n
        assert row["dlp_count"] == ndlp
        assert row["ctdivol_count"] == nct
        assert row["dap_count"] == ndap
        for key, value in (
            ("dlp_median", dlp50),
            ("dlp_p75", dlp75),
            ("ctdivol_median", ct50),
            ("ctdivol_p75", ct75),
            ("dap_median", dap50),
            ("dap_p75", dap75),
            ("dose_rp_p75", rp75),
        ):
            if value is None:
                assert row[key] is None
            else:
                assert row[key] == pytest.approx(value, rel=1e-12), (key, name, station)
    assert sum(r["exams"] for r in got.values()) == 2000


def test_national_drls_beside_local(archive: tuple[Corpus, Path, Path]) -> None:
    _corpus, db, folder = archive
    out = _run(
        "dose",
        "drl",
        "--db",
        str(db),
        "--mapping",
        str(folder / "map.csv"),
        "--national",
        str(folder / "national.csv"),
        "--by",
        "name",
        "--format",
        "json",
    )
    rows = {(r["modality"], r["name"]): r for r in json.loads(out.stdout)}
    head = rows[("CT", "Head")]
    assert head["national_dlp"] == 970.0
    assert head["national_ctdivol"] == 60.0
    assert head["dlp_p75_ratio"] == pytest.approx(head["dlp_p75"] / 970.0, rel=1e-5)
    assert rows[("CT", "Abdomen and pelvis")]["national_dlp"] is None
    assert rows[("CT", "PE protocol")]["national_source"] is None


def test_unmapped(archive: tuple[Corpus, Path, Path]) -> None:
    corpus, db, folder = archive
    out = _run(
        "dose",
        "unmapped",
        "--db",
        str(db),
        "--mapping",
        str(folder / "map.csv"),
        "--format",
        "json",
    )
    rows = json.loads(out.stdout)
    counts = dict(
        _truth(corpus)
        .execute(
            "SELECT protocol, count(*) FROM exam WHERE protocol IN ('AP portal venous', "
            "'PE protocol') OR modality = 'XR' GROUP BY protocol"
        )
        .fetchall()
    )
    assert {r["protocol"]: r["exams"] for r in rows} == counts
    assert [r["exams"] for r in rows] == sorted((r["exams"] for r in rows), reverse=True)
    assert {r["stations"] for r in rows if r["modality"] == "CT"} == {"CT3"}


def _expected_alerts(corpus: Corpus) -> set[tuple[str, str]]:
    con = _truth(corpus)
    out: set[tuple[str, str]] = set()
    for (uid,) in con.execute("SELECT uid FROM exam WHERE modality='XR' AND dap > 0.02").fetchall():
        out.add(("exam-dap", uid))
    for (uid,) in con.execute("SELECT uid FROM exam WHERE modality='XR' AND rp > 2").fetchall():
        out.add(("exam-dose-rp", uid))
    for code, column, limit in (("cumulative-dap", "dap", 0.02), ("cumulative-dose-rp", "rp", 2)):
        rows = con.execute(
            f"SELECT uid FROM (SELECT uid, sum({column}) OVER w AS total, count({column}) OVER w "
            "AS n FROM exam WHERE modality='XR' WINDOW w AS (PARTITION BY patient ORDER BY day "
            f"RANGE BETWEEN INTERVAL 83 DAYS PRECEDING AND CURRENT ROW)) WHERE total > {limit} "
            "AND n > 1"
        ).fetchall()
        out |= {(code, uid) for (uid,) in rows}
    # CT: the national DRL of the name where there is one, else the local 75th percentile
    local = {
        (name, q): v
        for name, q, v in con.execute(
            "SELECT name, 'dlp', quantile_cont(dlp, 0.75) FROM exam WHERE modality='CT' "
            "GROUP BY name UNION ALL SELECT name, 'ctdivol', quantile_cont(ctdivol, 0.75) "
            "FROM exam WHERE modality='CT' GROUP BY name"
        ).fetchall()
    }
    for uid, name, dlp, ctdivol, check in con.execute(
        "SELECT uid, name, dlp, ctdivol, dose_check FROM exam WHERE modality='CT'"
    ).fetchall():
        for code, q, value in (("ct-dlp-drl", "dlp", dlp), ("ct-ctdivol-drl", "ctdivol", ctdivol)):
            level = NATIONAL.get(("CT", name), {}).get(q, local[(name, q)])
            if value > level:
                out.add((code, uid))
        if check:
            out.add(("ct-dose-check-alert", uid))
    return out


def test_alerts_fire_exactly_above_threshold(archive: tuple[Corpus, Path, Path]) -> None:
    corpus, db, folder = archive
    out = _run(
        "dose",
        "alerts",
        "--db",
        str(db),
        "--mapping",
        str(folder / "map.csv"),
        "--national",
        str(folder / "national.csv"),
        "--format",
        "json",
    )
    alerts = json.loads(out.stdout)
    got = {(a["code"], a["sop_instance_uid"]) for a in alerts}
    expected = _expected_alerts(corpus)
    assert got == expected
    kinds = {code for code, _ in expected}
    assert kinds == {
        "exam-dap",
        "exam-dose-rp",
        "cumulative-dap",
        "cumulative-dose-rp",
        "ct-dlp-drl",
        "ct-ctdivol-drl",
        "ct-dose-check-alert",
    }
    check = next(a for a in alerts if a["code"] == "ct-dose-check-alert")
    assert check["details"]["reason_for_proceeding"] == "clinical need"
    assert check["threshold"] == 1000.0
    assert check["value"] > 1000.0
    # --since keeps the later ones; csv has one line per alert
    since = _run(
        "dose",
        "alerts",
        "--db",
        str(db),
        "--since",
        "2025-07-01",
        "--format",
        "csv",
        "--mapping",
        str(folder / "map.csv"),
        "--national",
        str(folder / "national.csv"),
    )
    lines = since.stdout.splitlines()
    assert len(lines) - 1 == sum(1 for a in alerts if a["date"] >= "2025-07-01")
    assert lines[0].startswith("code,sop_instance_uid,patient_id,date")


def test_query_dose_against_drl(archive: tuple[Corpus, Path, Path]) -> None:
    corpus, db, folder = archive
    out = _run(
        "query",
        "dose",
        "--db",
        str(db),
        "--drl",
        str(folder / "national.csv"),
        "--mapping",
        str(folder / "map.csv"),
        "--local-drl",
        "--format",
        "json",
    )
    rows = {r["sop_instance_uid"]: r for r in json.loads(out.stdout)}
    assert len(rows) == 2000
    truth = {t["sop_instance_uid"]: t for t in corpus.truth}
    checked = 0
    for uid, row in rows.items():
        t = truth[uid]
        if t["modality"] != "CT" or row["standard_name"] != "Head":
            continue
        assert row["drl_dlp"] == 970.0
        assert row["drl_dlp_source"] == "national"
        assert row["dlp_ratio"] == pytest.approx(t["dlp"] / 970.0, rel=1e-5)
        assert row["dlp_above"] is (t["dlp"] > 970.0)
        checked += 1
    assert checked > 200
    pe = next(r for r in rows.values() if r.get("protocol") == "PE protocol")
    assert pe["drl_dlp_source"] == "local"


# -- part 5: exports and charts ----------------------------------------------------------------


def test_export_xlsx_one_sheet_per_modality(archive: tuple[Corpus, Path, Path]) -> None:
    openpyxl = require_module("openpyxl")
    corpus, db, folder = archive
    out = folder / "audit.xlsx"
    _run(
        "dose",
        "export",
        "--db",
        str(db),
        "--mapping",
        str(folder / "map.csv"),
        "--national",
        str(folder / "national.csv"),
        "--dap-unit",
        "Gy.cm2",
        "-o",
        str(out),
    )
    book = openpyxl.load_workbook(out, read_only=True)
    assert book.sheetnames == ["CT", "XR"]
    truth = {t["sop_instance_uid"]: t for t in corpus.truth}
    for name, count in (("CT", corpus.ct), ("XR", corpus.xr)):
        rows = list(book[name].iter_rows(values_only=True))
        header, body = rows[0], rows[1:]
        assert len(body) == count
        col = {h: i for i, h in enumerate(header)}
        assert "dap_total_Gy.cm2" in col
        for row in body:
            t = truth[row[col["sop_instance_uid"]]]
            if name == "CT":
                assert row[col["dlp_total"]] == t["dlp"]
                assert row[col["ctdivol"]] == t["ctdivol"]
                if t["standard"] == "Head" and t["protocol"] not in UNMAPPED:
                    assert row[col["drl_dlp"]] == 970.0
                    assert row[col["dlp_above"]] is (t["dlp"] > 970.0)
            else:
                assert row[col["dap_total_Gy.cm2"]] == pytest.approx(t["dap"] * 1e4, rel=1e-12)
    csv_out = folder / "audit.csv"
    _run("dose", "export", "--db", str(db), "-o", str(csv_out))
    assert len(csv_out.read_text().splitlines()) == 2001
    png = folder / "drl.png"
    _run(
        "dose",
        "drl",
        "--db",
        str(db),
        "--mapping",
        str(folder / "map.csv"),
        "--plot",
        str(png),
        "-o",
        str(folder / "drl.jsonl"),
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _serve(db: Path) -> tuple[Any, str]:
    import threading

    import uvicorn

    from srkit.web.app import create_app
    from tests.peers import free_port, wait_for_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Database(str(db))), host="127.0.0.1", port=port, log_level="error"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    return server, f"http://127.0.0.1:{port}"


@pytest.mark.peers
def test_charts_in_chromium(
    archive: tuple[Corpus, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import require_tool, skip_or_fail

    chromium = require_tool("chromium", "/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install playwright)")
    corpus, db, folder = archive
    (folder / "alerts.toml").write_text('[alerts]\ndrl = "national.csv"\nmapping = "map.csv"\n')
    monkeypatch.setenv("SRKIT_DOSE_ALERTS", str(folder / "alerts.toml"))
    con = _truth(corpus)
    expected = {
        name: (n, lo, q1, med, q3, hi)
        for name, n, lo, q1, med, q3, hi in con.execute(
            "SELECT name, count(*), min(dlp), quantile_cont(dlp, 0.25), median(dlp), "
            "quantile_cont(dlp, 0.75), max(dlp) FROM exam WHERE modality='CT' GROUP BY name"
        ).fetchall()
    }
    server, base = _serve(db)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                ],
            )
            page = browser.new_page()
            page.goto(f"{base}/dose/charts?dap_unit=Gy.cm2")
            boxes = page.eval_on_selector_all(
                'svg[data-chart="dlp"] g.box',
                "els => els.map(e => Object.assign({}, e.dataset))",
            )
            assert {b["protocol"] for b in boxes} == set(expected)
            for box in boxes:
                n, lo, q1, med, q3, hi = expected[box["protocol"]]
                assert int(box["exams"]) == n
                for key, value in (
                    ("min", lo),
                    ("p25", q1),
                    ("median", med),
                    ("p75", q3),
                    ("max", hi),
                ):
                    assert float(box[key]) == pytest.approx(value, rel=1e-5)
                drl = NATIONAL.get(("CT", box["protocol"]), {}).get("dlp")
                if drl is not None:
                    assert float(box["drl"]) == drl
                    assert (
                        page.locator(
                            f'svg[data-chart="dlp"] g.box[data-protocol="{box["protocol"]}"] line.drl'
                        ).count()
                        == 1
                    )
            bars = page.eval_on_selector_all(
                'svg[data-chart="dap-procedure"] rect.bar',
                "els => els.map(e => [e.dataset.uid, Number(e.dataset.value)])",
            )
            truth = {t["sop_instance_uid"]: t for t in corpus.truth}
            assert len(bars) == corpus.xr
            for uid, value in bars:
                assert value == pytest.approx(truth[uid]["dap"] * 1e4, rel=1e-5)
            events = page.eval_on_selector_all(
                'svg[data-chart="events"] g.bar',
                "els => els.map(e => Object.assign({}, e.dataset))",
            )
            assert {(e["modality"], e["events"]): int(e["value"]) for e in events} == {
                ("CT", "2"): corpus.ct,
                ("XR", "1"): corpus.xr,
            }
            # the table behind the chart, downloaded, is what was drawn
            link = page.get_attribute("#chart-dlp a.download", "href")
            text = page.request.get(f"{base}{link}").text()
            lines = text.splitlines()
            assert lines[0] == "protocol,exams,min,p25,median,p75,max,drl,unit"
            assert len(lines) - 1 == len(boxes)
            # the other pages show the figures too
            page.goto(f"{base}/dose/alerts")
            count = page.locator("#alerts tbody tr").count()
            assert count == len(_expected_alerts(corpus))
            page.goto(f"{base}/dose/exams")
            above = page.locator("#exams tbody tr.above").count()
            browser.close()
    finally:
        server.should_exit = True
    ct_above = {
        uid for code, uid in _expected_alerts(corpus) if code in ("ct-dlp-drl", "ct-ctdivol-drl")
    }
    (xr_above,) = con.execute(
        "SELECT count(*) FROM exam, (SELECT quantile_cont(dap, 0.75) AS d, "
        "quantile_cont(rp, 0.75) AS r FROM exam WHERE modality='XR') AS q "
        "WHERE modality='XR' AND (dap > q.d OR rp > q.r)"
    ).fetchone()
    assert above == len(ct_above) + xr_above
