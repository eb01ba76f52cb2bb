"""patient identity, hierarchy conflicts

Patients become (Patient ID, Issuer of Patient ID), never merged on an empty ID; a
study is unique per (patient, Study Instance UID), a series per (study, Series
Instance UID); studies keep their own patient attributes; a ``conflict`` table. The
patient, study and series rows are derived again from the stored files' headers (the
index's own values where a file is gone), so instances misfiled by revision 0001
(one patient for every empty Patient ID, a study or series UID reused elsewhere) are
filed under their own patient, study and series, the clashes recorded as conflicts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 23:10:00
"""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PATIENT_COLUMNS = (
    "patient_id",
    "issuer_of_patient_id",
    "patient_name",
    "patient_birth_date",
    "patient_sex",
)
_STUDY_COLUMNS = (
    "study_date",
    "study_time",
    "accession_number",
    "study_id",
    "study_description",
    "referring_physician_name",
    "institution_name",
)
_SERIES_COLUMNS = (
    "modality",
    "series_number",
    "series_description",
    "series_date",
    "series_time",
    "body_part_examined",
    "manufacturer",
    "manufacturer_model_name",
    "station_name",
)
_HEADER = {
    "patient_id": "PatientID",
    "issuer_of_patient_id": "IssuerOfPatientID",
    "patient_name": "PatientName",
    "patient_birth_date": "PatientBirthDate",
    "patient_sex": "PatientSex",
    "study_instance_uid": "StudyInstanceUID",
    "series_instance_uid": "SeriesInstanceUID",
}


def upgrade() -> None:
    with op.batch_alter_table("patient") as b:
        b.add_column(sa.Column("issuer_of_patient_id", sa.Text(), nullable=True))
        b.create_index("ix_patient_patient_id", ["patient_id"], unique=False)
    with op.batch_alter_table("study") as b:
        for name in _PATIENT_COLUMNS:
            b.add_column(sa.Column(name, sa.Text(), nullable=True))
        b.drop_constraint("uq_study_study_instance_uid", type_="unique")
        b.create_unique_constraint("uq_study_patient_uid", ["patient_pk", "study_instance_uid"])
        b.create_index("ix_study_study_instance_uid", ["study_instance_uid"], unique=False)
    with op.batch_alter_table("series") as b:
        b.drop_constraint("uq_series_series_instance_uid", type_="unique")
        b.create_unique_constraint("uq_series_study_uid", ["study_pk", "series_instance_uid"])
        b.create_index("ix_series_series_instance_uid", ["series_instance_uid"], unique=False)
    op.create_table(
        "conflict",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=True),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=True),
        sa.Column("patient_id", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("calling_ae", sa.Text(), nullable=True),
        sa.Column("detected_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_conflict")),
    )
    with op.batch_alter_table("conflict") as b:
        b.create_index("ix_conflict_kind", ["kind"], unique=False)
        b.create_index("ix_conflict_sop_instance_uid", ["sop_instance_uid"], unique=False)
    rederive(op.get_bind())


def downgrade() -> None:  # pragma: no cover - srkit never downgrades
    raise NotImplementedError("revision 0002 cannot be undone (patients were re-derived)")


# -- re-deriving the hierarchy from the stored headers ---------------------------------------


def _key(patient_id: Any, issuer: Any, study_uid: Any) -> str:
    # the same rule as srkit.db.hierarchy.patient_key (kept here: a migration must not
    # change when the library does)
    pid = str(patient_id or "").strip()
    if pid:
        return f"id:{str(issuer or '').strip()}\\{pid}"
    return f"study:{str(study_uid or '').strip()}"


def _header(path: str) -> dict[str, Any] | None:
    """The identifying attributes of a stored file, or None when it cannot be read."""
    try:
        from pydicom import dcmread

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(path, stop_before_pixels=True, specific_tags=list(_HEADER.values()))
        out: dict[str, Any] = {}
        for column, keyword in _HEADER.items():
            value = ds.get(keyword)
            text = "" if value is None else str(value).strip().rstrip("\x00")
            out[column] = text or None
        return out
    except Exception:
        return None


def _same(column: str, a: Any, b: Any) -> bool:
    x, y = str(a or "").strip(), str(b or "").strip()
    if column == "patient_name":
        x, y = x.rstrip("^ ").casefold(), y.rstrip("^ ").casefold()
    return not x or not y or x == y


def rederive(conn: Any) -> None:
    """File every indexed instance again under the patient, study and series its own
    header names (see the module docstring)."""
    t = sa.text
    rows = conn.execute(
        t(
            "SELECT i.pk, i.path, i.sop_instance_uid, se.pk, se.series_instance_uid, st.pk, "
            "st.study_instance_uid, p.patient_id, p.patient_name, p.patient_birth_date, "
            "p.patient_sex FROM instance i JOIN series se ON i.series_pk = se.pk "
            "JOIN study st ON se.study_pk = st.pk JOIN patient p ON st.patient_pk = p.pk "
            "ORDER BY i.pk"
        )
    ).all()
    if not rows:
        return
    studies = {
        r[0]: r[1:]
        for r in conn.execute(t(f"SELECT pk, {', '.join(_STUDY_COLUMNS)} FROM study")).all()
    }
    series = {
        r[0]: r[1:]
        for r in conn.execute(t(f"SELECT pk, {', '.join(_SERIES_COLUMNS)} FROM series")).all()
    }
    old = {
        "patient": [r[0] for r in conn.execute(t("SELECT pk FROM patient"))],
        "study": list(studies),
        "series": list(series),
    }
    conn.execute(t("UPDATE patient SET patient_key = 'rederive:' || pk"))
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    patient_pks: dict[str, tuple[int, dict[str, Any]]] = {}
    study_pks: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    series_pks: dict[tuple[int, str], int] = {}
    study_keys: dict[str, list[str]] = {}
    moves: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    for pk, path, sop, se_pk, se_uid, st_pk, st_uid, pid, name, birth, sex in rows:
        head = _header(str(path)) or {}
        patient = {
            "patient_id": head.get("patient_id", pid) if head else pid,
            "issuer_of_patient_id": head.get("issuer_of_patient_id"),
            "patient_name": head.get("patient_name", name) if head else name,
            "patient_birth_date": head.get("patient_birth_date", birth) if head else birth,
            "patient_sex": head.get("patient_sex", sex) if head else sex,
        }
        study_uid = head.get("study_instance_uid") or st_uid
        series_uid = head.get("series_instance_uid") or se_uid
        key = _key(patient["patient_id"], patient["issuer_of_patient_id"], study_uid)

        where = {
            "sop_instance_uid": sop,
            "study_instance_uid": study_uid,
            "series_instance_uid": series_uid,
            "patient_id": patient["patient_id"],
            "path": path,
        }

        def note(
            kind: str,
            message: str,
            detail: dict[str, Any],
            resolution: str,
            where: dict[str, Any] = where,
        ) -> None:
            conflicts.append(
                {
                    "kind": kind,
                    **where,
                    "message": message,
                    "detail": json.dumps(detail, sort_keys=True, default=str),
                    "resolution": resolution,
                    "source": "migration",
                    "calling_ae": None,
                    "detected_at": now,
                }
            )

        if key not in patient_pks:
            values = {"patient_key": key, **patient}
            new_pk = conn.execute(
                t(
                    "INSERT INTO patient (patient_key, "
                    + ", ".join(_PATIENT_COLUMNS)
                    + ") VALUES (:patient_key, "
                    + ", ".join(f":{c}" for c in _PATIENT_COLUMNS)
                    + ") RETURNING pk"
                ),
                values,
            ).scalar_one()
            patient_pks[key] = (int(new_pk), patient)
        patient_pk, first = patient_pks[key]
        if (key, study_uid) not in study_pks:
            others = study_keys.setdefault(study_uid, [])
            if others:
                note(
                    "study-other-patient",
                    f"Study Instance UID {study_uid} is filed already under another patient; "
                    "filed separately under this instance's patient",
                    {"study_instance_uid": study_uid, "other_patient_keys": list(others)},
                    "filed-separately",
                )
            others.append(key)
            diffs = {
                c: [first[c], patient[c]]
                for c in ("patient_name", "patient_birth_date", "patient_sex")
                if not _same(c, first[c], patient[c])
            }
            if diffs:
                note(
                    "patient-attributes",
                    "patient attributes differ from the patient's other studies",
                    {"patient_key": key, "differences": diffs},
                    "filed",
                )
            values = dict(zip(_STUDY_COLUMNS, studies[st_pk]))
            values.update(patient, patient_pk=patient_pk, study_instance_uid=study_uid)
            names = ["patient_pk", "study_instance_uid", *_PATIENT_COLUMNS, *_STUDY_COLUMNS]
            new_pk = conn.execute(
                t(
                    f"INSERT INTO study ({', '.join(names)}) VALUES "
                    f"({', '.join(':' + n for n in names)}) RETURNING pk"
                ),
                values,
            ).scalar_one()
            study_pks[(key, study_uid)] = (int(new_pk), patient)
        else:
            own = study_pks[(key, study_uid)][1]
            diffs = {
                c: [own[c], patient[c]]
                for c in ("patient_name", "patient_birth_date", "patient_sex")
                if not _same(c, own[c], patient[c])
            }
            if diffs:
                note(
                    "patient-attributes",
                    f"patient attributes differ from the other files of study {study_uid}",
                    {"study_instance_uid": study_uid, "differences": diffs},
                    "filed",
                )
        study_pk = study_pks[(key, study_uid)][0]
        if (study_pk, series_uid) not in series_pks:
            clash = [s for (sp, u) in series_pks if u == series_uid for s in [sp]]
            if clash:
                note(
                    "series-other-study",
                    f"Series Instance UID {series_uid} is filed already under another study "
                    "or patient; filed separately",
                    {"series_instance_uid": series_uid},
                    "filed-separately",
                )
            values = dict(zip(_SERIES_COLUMNS, series[se_pk]))
            values.update(study_pk=study_pk, series_instance_uid=series_uid)
            names = ["study_pk", "series_instance_uid", *_SERIES_COLUMNS]
            new_pk = conn.execute(
                t(
                    f"INSERT INTO series ({', '.join(names)}) VALUES "
                    f"({', '.join(':' + n for n in names)}) RETURNING pk"
                ),
                values,
            ).scalar_one()
            series_pks[(study_pk, series_uid)] = int(new_pk)
        moves.append({"pk": pk, "series_pk": series_pks[(study_pk, series_uid)]})
    conn.execute(t("UPDATE instance SET series_pk = :series_pk WHERE pk = :pk"), moves)
    for table in ("series", "study", "patient"):
        pks = old[table]
        for i in range(0, len(pks), 500):
            conn.execute(
                t(f"DELETE FROM {table} WHERE pk IN :pks").bindparams(
                    sa.bindparam("pks", expanding=True)
                ),
                {"pks": pks[i : i + 500]},
            )
    if conflicts:
        names = list(conflicts[0])
        conn.execute(
            t(
                f"INSERT INTO conflict ({', '.join(names)}) VALUES "
                f"({', '.join(':' + n for n in names)})"
            ),
            conflicts,
        )
