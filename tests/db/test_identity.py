# ruff: noqa: F811  (pytest fixtures imported from tests.db.fixtures)
"""Patient identity and hierarchy conflicts (issue 11): every write path files an
instance under its own patient, study and series, and records what clashes.

The corpora are made from the real files of ``../shared/data``: SRs of other software
with their Patient ID emptied and names changed (DCMTK's and dicomscope's test reports
have empty IDs), and the four-file clash set: one Study Instance UID for two patients,
one Series Instance UID in two studies.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from srkit.db import Database, DuplicateInstanceError
from tests.conftest import data_path
from tests.db.fixtures import fresh_db, fresh_url  # noqa: F401

CT = "ct/pydicom_CT_small.dcm"
SRS = [
    "sr-tid1500/highdicom_sr_document.dcm",
    "sr-tid1500/dcmjs_sample-sr.dcm",
    "sr-other/pydicom_test-SR.dcm",
    "sr-other/pydicom_reportsi.dcm",
    "sr-other/orthanc_StructuredReports_IM0.dcm",
    "sr-tid1500/dcmqi_sr-example_sr.dcm",
]
NAMES = ["Osterman^Olle", "Nilsson^Nils", "Berg^Birgitta", "Lind^Lars", "Ek^Eva", "Holm^Hans"]


def _read(name: str) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(data_path(name))


def _uid(seed: str) -> str:
    return generate_uid(prefix="1.2.826.0.1.3680043.10.511.9.", entropy_srcs=[seed])


def _write(ds: pydicom.Dataset, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)
    return path


def empty_id_corpus(folder: Path) -> list[Path]:
    """Six real SRs with an empty Patient ID and six names; files 5 and 6 share one
    study (the second spells the name otherwise), the others have studies of their own."""
    paths = []
    for i, (name, patient) in enumerate(zip(SRS, NAMES)):
        ds = _read(name)
        ds.PatientID = ""
        ds.PatientName = patient
        ds.StudyInstanceUID = _uid(f"empty-study-{min(i, 4)}")
        ds.SeriesInstanceUID = _uid(f"empty-series-{i}")
        ds.SOPInstanceUID = _uid(f"empty-sop-{i}")
        paths.append(_write(ds, folder, f"empty{i}.dcm"))
    return paths


def clash_set(folder: Path) -> dict[str, Path]:
    """A, B: one Study Instance UID, two patients; C, D: one Series Instance UID, two
    studies (and two patients). All from the real CT of pydicom."""
    plan = {
        "A": ("P1", "Alpha^Ann", "S1", "X1"),
        "B": ("P2", "Beta^Bob", "S1", "X2"),
        "C": ("P1", "Alpha^Ann", "S2", "X3"),
        "D": ("P3", "Gamma^Gus", "S3", "X3"),
    }
    out = {}
    for key, (pid, patient, study, series) in plan.items():
        ds = _read(CT)
        ds.PatientID = pid
        ds.PatientName = patient
        ds.StudyInstanceUID = _uid(f"clash-{study}")
        ds.SeriesInstanceUID = _uid(f"clash-{series}")
        ds.SOPInstanceUID = _uid(f"clash-sop-{key}")
        out[key] = _write(ds, folder, f"{key}.dcm")
    return out


def _header(path: Path) -> pydicom.Dataset:
    return pydicom.dcmread(path, stop_before_pixels=True)


# -- empty Patient ID ------------------------------------------------------------------


def check_empty_id_corpus(query, paths: list[Path]) -> None:
    """What any front end must show for :func:`empty_id_corpus` (``query(level,
    filters)`` returns rows keyed by DICOM keyword)."""
    heads = [_header(p) for p in paths]
    uids = "\\".join(sorted({str(h.StudyInstanceUID) for h in heads}))
    studies = query("STUDY", {"StudyInstanceUID": uids})
    assert len(studies) == 5
    by_study = {r["StudyInstanceUID"]: r for r in studies}
    for head in heads[:5]:  # each study lists the name its own (first) file has
        assert by_study[str(head.StudyInstanceUID)]["PatientName"] == str(head.PatientName)
    hits = query("STUDY", {"PatientName": "Osterman*"})
    assert [r["StudyInstanceUID"] for r in hits] == [str(heads[0].StudyInstanceUID)]
    assert hits[0]["PatientID"] in (None, "")
    # the instance is found under its own name at every level
    for level, key in (("SERIES", "SeriesInstanceUID"), ("IMAGE", "SOPInstanceUID")):
        [row] = query(level, {"PatientName": "Nilsson^Nils"})
        assert row[key] == str(heads[1][key].value)


def test_empty_patient_ids_are_never_merged(fresh_db, tmp_path):
    paths = empty_id_corpus(tmp_path / "in")
    report = fresh_db.import_paths([tmp_path / "in"], workers=1)
    assert (report.imported, report.rejected, report.conflicts) == (6, [], [])
    check_empty_id_corpus(fresh_db.query, paths)
    patients = fresh_db.patients()
    assert len(patients) == 5  # one per study: an empty ID identifies nobody
    assert sorted(p["PatientName"] for p in patients) == sorted(NAMES[:5])
    # files 5 and 6 share a study: one patient, the second name is a recorded conflict
    [conflict] = fresh_db.conflicts()
    assert conflict["kind"] == "patient-attributes"
    assert conflict["sop_instance_uid"] == str(_header(paths[5]).SOPInstanceUID)
    assert conflict["detail"]["differences"] == {"patient_name": ["Ek^Eva", "Holm^Hans"]}
    assert [w[0] for w in report.warnings] == [str(paths[5])]


def test_same_id_other_name_is_a_conflict_and_each_study_keeps_its_name(fresh_db, tmp_path):
    first, second = _read(CT), _read(CT)
    for i, (ds, name) in enumerate(((first, "First^Fay"), (second, "Other^Otto"))):
        ds.PatientID = "SAME-1"
        ds.PatientName = name
        ds.PatientBirthDate = "19700101" if i == 0 else "19800202"
        ds.StudyInstanceUID = _uid(f"same-study-{i}")
        ds.SeriesInstanceUID = _uid(f"same-series-{i}")
        ds.SOPInstanceUID = _uid(f"same-sop-{i}")
    outcome_a = fresh_db.store(first)
    outcome_b = fresh_db.store(second, calling_ae="MODALITY", source="c-store")
    assert (outcome_a.status, outcome_a.conflicts) == ("stored", ())
    assert outcome_b.status == "stored"
    [conflict] = outcome_b.conflicts
    assert conflict.kind == "patient-attributes"
    assert conflict.detail["differences"] == {
        "patient_name": ["First^Fay", "Other^Otto"],
        "patient_birth_date": ["19700101", "19800202"],
    }
    [patient] = fresh_db.patients()  # one patient (ID and issuer), its first name
    assert (patient["PatientName"], patient["NumberOfPatientRelatedStudies"]) == ("First^Fay", 2)
    # a study lists what its own files say; each is found by its own name
    [row] = fresh_db.studies(PatientName="Other*")
    assert (row["StudyInstanceUID"], row["PatientName"]) == (second.StudyInstanceUID, "Other^Otto")
    assert row["PatientBirthDate"] == "19800202"
    assert [p["PatientID"] for p in fresh_db.patients(PatientName="Other^Otto")] == ["SAME-1"]
    [listed] = fresh_db.conflicts()
    assert (listed["calling_ae"], listed["source"]) == ("MODALITY", "c-store")
    assert fresh_db.check_integrity() == [
        "1 conflicts of kind patient-attributes recorded (srkit ls conflicts)"
    ]


def test_issuer_qualifies_the_patient_id(fresh_db):
    a, b = _read(CT), _read(CT)
    for i, (ds, issuer) in enumerate(((a, "HOSPITAL-A"), (b, "HOSPITAL-B"))):
        ds.PatientID = "12345"
        ds.IssuerOfPatientID = issuer
        ds.PatientName = f"Person^{i}"
        ds.StudyInstanceUID = _uid(f"issuer-study-{i}")
        ds.SeriesInstanceUID = _uid(f"issuer-series-{i}")
        ds.SOPInstanceUID = _uid(f"issuer-sop-{i}")
        assert fresh_db.store(ds).conflicts == ()
    patients = fresh_db.patients(PatientID="12345")
    assert sorted((p["IssuerOfPatientID"], p["PatientName"]) for p in patients) == [
        ("HOSPITAL-A", "Person^0"),
        ("HOSPITAL-B", "Person^1"),
    ]


# -- UID clashes -----------------------------------------------------------------------


def check_clash_set(query, files: dict[str, Path]) -> None:
    """What any front end must show for :func:`clash_set`."""
    heads = {k: _header(p) for k, p in files.items()}
    s1 = str(heads["A"].StudyInstanceUID)
    rows = query("STUDY", {"StudyInstanceUID": s1})
    assert sorted((r["PatientID"], r["PatientName"]) for r in rows) == [
        ("P1", "Alpha^Ann"),
        ("P2", "Beta^Bob"),
    ]
    for key in "ABCD":  # each instance under its own patient, study and series
        head = heads[key]
        [row] = query("IMAGE", {"SOPInstanceUID": str(head.SOPInstanceUID)})
        assert row["PatientID"] == head.PatientID
        assert row["PatientName"] == str(head.PatientName)
        assert row["StudyInstanceUID"] == head.StudyInstanceUID
        assert row["SeriesInstanceUID"] == head.SeriesInstanceUID
    [p2] = query("STUDY", {"PatientID": "P2"})
    assert (p2["StudyInstanceUID"], p2["NumberOfStudyRelatedInstances"]) == (s1, 1)
    x3 = query("SERIES", {"SeriesInstanceUID": str(heads["C"].SeriesInstanceUID)})
    assert sorted(r["PatientID"] for r in x3) == ["P1", "P3"]
    [p3] = query("SERIES", {"PatientID": "P3"})
    assert p3["StudyInstanceUID"] == heads["D"].StudyInstanceUID


def test_clash_set_through_import(fresh_db, tmp_path):
    files = clash_set(tmp_path / "in")
    report = fresh_db.import_paths([tmp_path / "in"], workers=1)
    assert report.imported == 4
    check_clash_set(fresh_db.query, files)
    counts = fresh_db.counts()
    assert (counts["patients"], counts["studies"], counts["series"]) == (3, 4, 4)
    kinds = {c["sop_instance_uid"]: c["kind"] for c in fresh_db.conflicts()}
    heads = {k: _header(p) for k, p in files.items()}
    assert kinds == {
        heads["B"].SOPInstanceUID: "study-other-patient",
        heads["D"].SOPInstanceUID: "series-other-study",
    }
    problems = fresh_db.check_integrity()
    assert "1 study instance uids filed under more than one patient " in problems[0]
    assert "1 series instance uids filed under more than one study " in problems[1]
    assert problems[2:] == [
        "1 conflicts of kind series-other-study recorded (srkit ls conflicts)",
        "1 conflicts of kind study-other-patient recorded (srkit ls conflicts)",
    ]
    assert len(report.warnings) == 2


def test_clash_set_through_store_in_any_order(fresh_db, tmp_path):
    files = clash_set(tmp_path / "in")
    for key in "DCBA":  # the other way round: the clash is found on the later file
        fresh_db.store(files[key].read_bytes(), source="c-store")
    check_clash_set(fresh_db.query, files)
    kinds = sorted(c["kind"] for c in fresh_db.conflicts())
    assert kinds == ["series-other-study", "study-other-patient"]


def test_removing_one_side_of_a_clash_keeps_the_other(fresh_db, tmp_path):
    files = clash_set(tmp_path / "in")
    fresh_db.import_paths([tmp_path / "in"], workers=1)
    b = _header(files["B"])
    assert fresh_db.remove("IMAGE", str(b.SOPInstanceUID)) == 1
    assert [r["PatientID"] for r in fresh_db.studies(StudyInstanceUID=b.StudyInstanceUID)] == ["P1"]
    assert fresh_db.counts()["patients"] == 2  # P2 had nothing else: no empty row left
    assert not any("without any" in p for p in fresh_db.check_integrity())


# -- a SOP Instance UID with other bytes -----------------------------------------------


def _changed(folder: Path) -> tuple[Path, Path]:
    ds = _read(CT)
    ds.SOPInstanceUID = _uid("policy-sop")
    first = _write(ds, folder, "first.dcm")
    ds.SeriesDescription = "edited after sending"
    second = _write(ds, folder / "later", "second.dcm")
    return first, second


def test_policy_keep_first_refuses_and_records(fresh_db, tmp_path):
    first, second = _changed(tmp_path)
    assert fresh_db.store(first.read_bytes()).status == "stored"
    with pytest.raises(DuplicateInstanceError) as caught:
        fresh_db.store_bytes(second.read_bytes())
    assert caught.value.outcome is not None
    assert caught.value.outcome.status == "refused"
    [row] = fresh_db.series()
    assert row["SeriesDescription"] is None  # the first file has none
    [conflict] = fresh_db.conflicts()
    assert (conflict["kind"], conflict["resolution"], conflict["path"]) == (
        "instance-content",
        "refused",
        None,
    )
    # the same bytes again are a duplicate, not a conflict
    assert fresh_db.store(first.read_bytes()).status == "duplicate"
    assert len(fresh_db.conflicts()) == 1


def test_policy_keep_last_replaces(fresh_url, tmp_path):
    first, second = _changed(tmp_path)
    with Database(fresh_url, storage=tmp_path / "st", conflict_policy="keep-last") as db:
        db.store(first.read_bytes())
        outcome = db.store(second.read_bytes())
        assert outcome.status == "replaced"
        [row] = db.series()
        assert row["SeriesDescription"] == "edited after sending"
        path = db.instance_path(str(_header(first).SOPInstanceUID))
        assert path is not None
        assert path.read_bytes() == second.read_bytes()
        assert [p.name for p in (tmp_path / "st").rglob("*") if p.is_file()] == [path.name]
        [conflict] = db.conflicts()
        assert conflict["resolution"] == "replaced"


def test_policy_keep_both_keeps_the_new_copy_beside_the_index(fresh_url, tmp_path):
    first, second = _changed(tmp_path)
    with Database(
        fresh_url, storage=tmp_path / "st", conflict_policy="keep-both-as-conflict"
    ) as db:
        db.store(first.read_bytes())
        outcome = db.store(second.read_bytes())
        assert outcome.status == "kept-as-conflict"
        [row] = db.series()
        assert row["SeriesDescription"] is None  # the first file has none
        [conflict] = db.conflicts()
        kept = Path(conflict["path"])
        assert kept.parent.parent == tmp_path / "st" / "conflicts"
        assert kept.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("policy", ["keep-first", "keep-last", "keep-both-as-conflict"])
def test_policies_through_import(fresh_url, tmp_path, policy):
    first, second = _changed(tmp_path / "in")
    with Database(fresh_url, storage=tmp_path / "st", conflict_policy=policy) as db:
        assert db.import_paths([first], workers=1).imported == 1
        report = db.import_paths([second], workers=1)
        [row] = db.series()
        [conflict] = db.conflicts()
        assert conflict["kind"] == "instance-content"
        if policy == "keep-first":
            assert [p for p, _ in report.conflicts] == [str(second)]
            assert row["SeriesDescription"] != "edited after sending"
        elif policy == "keep-last":
            assert (report.imported, report.conflicts) == (1, [])
            assert row["SeriesDescription"] == "edited after sending"
            assert db.instance_path(str(_header(first).SOPInstanceUID)) == second
        else:
            assert report.conflicts == []
            assert len(report.warnings) == 1
            assert conflict["path"] == str(second)
            assert row["SeriesDescription"] != "edited after sending"


def test_bad_policy_is_a_clear_error(tmp_path):
    from srkit.errors import SrkitError

    with pytest.raises(SrkitError, match="keep-first, keep-last, keep-both-as-conflict"):
        Database(tmp_path / "x.sqlite", conflict_policy="newest")


# -- migrating a database that revision 0001 filled ------------------------------------


def _old_database(url: str, files: list[Path]) -> None:
    """A database at revision 0001 filled as srkit 0.1 did: patients keyed by Patient
    ID alone (every empty ID one patient), studies and series by their UID alone."""
    import hashlib

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    import srkit.db.engine as E

    _reader, writer = E.make_engines(E.resolve_url(url))
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(E.__file__).with_name("migrations")))
    with writer.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        keys: dict[str, dict[str, int]] = {"patient": {}, "study": {}, "series": {}}

        def parent(table: str, key: str, row: dict) -> int:
            if key not in keys[table]:
                names = ", ".join(row)
                marks = ", ".join(f":{k}" for k in row)
                pk = conn.execute(
                    text(f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING pk"), row
                ).scalar_one()
                keys[table][key] = int(pk)
            return keys[table][key]

        for path in files:
            ds = _header(path)
            pid = str(ds.get("PatientID") or "")
            patient = parent(
                "patient",
                pid,
                {"patient_key": pid, "patient_id": pid, "patient_name": str(ds.PatientName)},
            )
            study = parent(
                "study",
                ds.StudyInstanceUID,
                {"patient_pk": patient, "study_instance_uid": ds.StudyInstanceUID},
            )
            series = parent(
                "series",
                ds.SeriesInstanceUID,
                {"study_pk": study, "series_instance_uid": ds.SeriesInstanceUID, "modality": "CT"},
            )
            conn.execute(
                text(
                    "INSERT INTO instance (series_pk, sop_instance_uid, sop_class_uid, path, "
                    "copied, size, content_hash, imported_at) VALUES (:s, :u, :c, :p, false, "
                    ":n, :h, '2026-01-01')"
                ),
                {
                    "s": series,
                    "u": ds.SOPInstanceUID,
                    "c": ds.SOPClassUID,
                    "p": str(path),
                    "n": path.stat().st_size,
                    "h": hashlib.sha256(path.read_bytes()).hexdigest(),
                },
            )
    writer.dispose()


def test_migration_rederives_patients_from_the_stored_headers(fresh_url, tmp_path):
    empty = empty_id_corpus(tmp_path / "empty")
    clash = clash_set(tmp_path / "clash")
    _old_database(fresh_url, [*empty, *clash.values()])
    with Database(fresh_url, storage=tmp_path / "st") as db:
        # 0.1 filed the six empty-ID files under one patient and B, D under A's and C's
        # study or series; the migration files each under its own
        check_empty_id_corpus(db.query, empty)
        check_clash_set(db.query, clash)
        counts = db.counts()
        assert (counts["patients"], counts["studies"], counts["instances"]) == (5 + 3, 9, 10)
        found = sorted((c["kind"], c["source"]) for c in db.conflicts())
        assert found == [
            ("patient-attributes", "migration"),
            ("series-other-study", "migration"),
            ("study-other-patient", "migration"),
        ]
        assert not any("without" in p for p in db.check_integrity())
        # and the migrated database goes on filing as a new one does
        again = db.import_paths([tmp_path / "clash"], workers=1)
        assert (again.imported, again.skipped) == (0, 4)


def test_migration_keeps_instances_whose_file_is_gone(fresh_url, tmp_path):
    clash = clash_set(tmp_path / "clash")
    _old_database(fresh_url, list(clash.values()))
    clash["B"].unlink()  # B's own header is lost: it stays where the index had it
    with Database(fresh_url, storage=tmp_path / "st") as db:
        assert db.counts()["instances"] == 4
        [b] = db.instances(SOPInstanceUID=_uid("clash-sop-B"))
        assert b["PatientID"] == "P1"  # 0.1 had filed it in P1's study
        [d] = db.instances(SOPInstanceUID=_uid("clash-sop-D"))
        assert d["PatientID"] == "P3"


# -- review findings: empty first values, concurrent writers, keep-last rollback ---------


def test_an_empty_first_name_does_not_hide_later_differences(fresh_db):
    names = ["", "Alpha^Ann", "Beta^Bob"]
    outcomes = []
    for i, name in enumerate(names):
        ds = _read(CT)
        ds.PatientID = "SAMEID"
        ds.PatientName = name
        ds.StudyInstanceUID = _uid("emptyname-study")
        ds.SeriesInstanceUID = _uid("emptyname-series")
        ds.SOPInstanceUID = _uid(f"emptyname-{i}")
        outcomes.append(fresh_db.store(ds))
    assert [o.conflicts for o in outcomes[:2]] == [(), ()]
    [conflict] = outcomes[2].conflicts
    assert conflict.detail["differences"] == {"patient_name": ["Alpha^Ann", "Beta^Bob"]}
    [study] = fresh_db.studies(PatientName="Alpha*")
    assert study["PatientID"] == "SAMEID"
    assert [p["PatientName"] for p in fresh_db.patients(PatientID="SAMEID")] == ["Alpha^Ann"]


def _store_in_child(url: str, storage: str, payloads: list[bytes], start, out) -> None:
    start.wait()
    try:
        with Database(url, storage=Path(storage)) as db:
            out.put([db.store(p).status for p in payloads])
    except Exception as exc:  # reported to the parent, which fails the test
        out.put([f"{type(exc).__name__}: {exc}"])


def _payload(pid: str, name: str, study: str, series: str, sop: str) -> bytes:
    import io

    ds = _read(CT)
    ds.PatientID, ds.PatientName = pid, name
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = (
        _uid(study),
        _uid(series),
        _uid(sop),
    )
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _race(url: str, storage: Path, jobs: list[list[bytes]]) -> list[list[str]]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_store_in_child, args=(url, str(storage), job, start, out))
        for job in jobs
    ]
    for proc in procs:
        proc.start()
    start.set()
    results = [out.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    return results


def test_concurrent_writers_of_one_new_study(fresh_url, tmp_path):
    """Review defect 5: four processes filing into one new study (two series) all
    succeed on both backends; one study row, two series rows."""
    Database(fresh_url, storage=tmp_path / "st").close()  # the schema, once
    jobs = [
        [
            _payload("RACE", "Race^Rex", "race-study", f"race-series-{i % 2}", f"race-sop-{i}-{j}")
            for j in range(3)
        ]
        for i in range(4)
    ]
    results = _race(fresh_url, tmp_path / "st", jobs)
    assert sorted(s for r in results for s in r) == ["stored"] * 12, results
    with Database(fresh_url, storage=tmp_path / "st") as db:
        counts = db.counts()
        assert (counts["patients"], counts["studies"], counts["series"]) == (1, 1, 2)
        assert db.conflicts() == []


def test_concurrent_clash_is_always_recorded(fresh_url, tmp_path):
    """Review defect 6: two processes storing the two sides of a study UID clash at
    the same moment: every clash is recorded, on both backends."""
    Database(fresh_url, storage=tmp_path / "st").close()
    pairs = 8
    side = lambda who: [  # noqa: E731
        _payload(
            f"P-{who}", f"{who}^X", f"clash-race-{k}", f"clash-race-{who}-{k}", f"cr-{who}-{k}"
        )
        for k in range(pairs)
    ]
    results = _race(fresh_url, tmp_path / "st", [side("A"), side("B")])
    assert sorted(s for r in results for s in r) == ["stored"] * (2 * pairs), results
    with Database(fresh_url, storage=tmp_path / "st") as db:
        clashes = db.conflicts(kind="study-other-patient")
        assert sorted(c["study_instance_uid"] for c in clashes) == sorted(
            _uid(f"clash-race-{k}") for k in range(pairs)
        )


def test_keep_last_import_rolled_back_leaves_the_stored_file(fresh_url, tmp_path, monkeypatch):
    """Review defect 4: the new bytes of keep-last reach the stored copy only after the
    batch commits; a batch that fails and is retried still ends with file and index in
    agreement, the conflict recorded."""
    import hashlib

    from sqlalchemy.exc import IntegrityError

    import srkit.db.batch as batch

    first, second = _changed(tmp_path / "in")
    with Database(fresh_url, storage=tmp_path / "st", conflict_policy="keep-last") as db:
        db.import_paths([first], copy=True, workers=1)
        real, calls = batch.file_instance, []

        def flaky(*args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise IntegrityError("INSERT", {}, Exception("lost a race"))
            return real(*args, **kwargs)

        monkeypatch.setattr(batch, "file_instance", flaky)
        report = db.import_paths([second], copy=True, workers=1)
        assert report.imported == 1
        path = db.instance_path(_uid("policy-sop"))
        assert path is not None
        [row] = db.series()
        assert row["SeriesDescription"] == "edited after sending"
        assert (
            hashlib.sha256(path.read_bytes()).hexdigest()
            == hashlib.sha256(second.read_bytes()).hexdigest()
        )
        assert [c["resolution"] for c in db.conflicts(kind="instance-content")] == ["replaced"]
        assert not list(path.parent.glob(".*.replacing"))
