"""Filing an instance under its patient, study and series, and the conflicts found doing it.

Identity follows what the standard promises, and nothing more:

- A patient is its Patient ID (0010,0020) qualified by its Issuer of Patient ID
  (0010,0021) (PS3.3 C.7.1.1; PS3.4 C.6.1.1.2 keys the Patient level by Patient ID
  alone only within one issuer's domain). Patient ID is type 2: an empty ID identifies
  nobody, so instances with an empty ID are never merged by it. Each study of such
  instances has a patient of its own (``patient_key`` ``"study:" + Study Instance UID``):
  its instances are matched within their study.
- Study, Series and SOP Instance UIDs are unique by definition (PS3.5 9), yet real
  files break this: a study UID reused for another patient, a series UID reused in
  another study. Like Orthanc (whose study and series identifiers include their
  parents'), a study row is unique per (patient, Study Instance UID) and a series row
  per (study, Series Instance UID): the instance is filed under its *own* patient,
  study and series, so C-FIND, QIDO and WADO by its own UIDs and patient find it, and
  the clash is recorded as a conflict.

Conflict kinds (stable codes, the ``kind`` column of the ``conflict`` table):

``patient-attributes``
    Same patient (ID and issuer), but the Patient's Name, Birth Date or Sex differ from
    those of the other files of its study or, for a new study, of the patient's other
    studies. The instance is filed; the study keeps the attributes its first file had,
    the patient those of its first study.
``study-other-patient``
    The Study Instance UID is filed already under another patient. The instance is
    filed under its own patient in a study row of its own.
``series-other-study``
    The Series Instance UID is filed already under another study (or patient). The
    instance is filed in a series row of its own under its own study.
``instance-content``
    The SOP Instance UID is stored already with other bytes; what happens then is the
    conflict policy's choice (:data:`POLICIES`).

The :class:`Placer` runs inside the caller's write transaction, on either an SQLite
DBAPI cursor (the store fast path) or an SQLAlchemy connection (PostgreSQL, import
batches): one resolver for every write path.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from srkit.db.sql import ConnectionSql, Sql, chunks

__all__ = [
    "KINDS",
    "PATIENT_ATTRIBUTES",
    "POLICIES",
    "Conflict",
    "Placer",
    "conflict_row",
    "patient_key",
    "same_value",
]

KINDS = ("patient-attributes", "study-other-patient", "series-other-study", "instance-content")
"""The conflict kinds, in the order of the filing steps."""

POLICIES = ("keep-first", "keep-last", "keep-both-as-conflict")
"""What happens to a second instance with a known SOP Instance UID and other bytes:
``keep-first`` refuses it (the stored copy stays; C-STORE 0x0111, STOW-RS 409);
``keep-last`` replaces the stored instance with it; ``keep-both-as-conflict`` keeps the
new bytes beside the index (``<storage>/conflicts/``, or the imported file in place)
with the conflict row pointing at them, the stored instance staying indexed."""

PATIENT_ATTRIBUTES = (
    "patient_id",
    "issuer_of_patient_id",
    "patient_name",
    "patient_birth_date",
    "patient_sex",
)
"""Patient columns that a study row keeps as its own files say them."""

_COMPARED = (
    ("patient_name", "Patient's Name"),
    ("patient_birth_date", "Patient's Birth Date"),
    ("patient_sex", "Patient's Sex"),
)


def patient_key(patient_id: str | None, issuer: str | None, study_uid: str | None) -> str:
    """The identity of a patient: ``"id:" issuer "\\\\" id``, or per study when the
    Patient ID is empty (a backslash cannot occur in an LO value, PS3.5 6.2)."""
    pid = (patient_id or "").strip()
    if pid:
        return f"id:{(issuer or '').strip()}\\{pid}"
    return f"study:{(study_uid or '').strip()}"


def _normal(column: str, value: Any) -> str:
    text = str(value or "").strip()
    if column == "patient_name":
        # trailing empty components and padding do not make another name (PS3.5 6.2.1)
        groups = [g.rstrip("^ ") for g in text.split("=")]
        while groups and not groups[-1]:
            groups.pop()
        return "=".join(groups).casefold()
    return text.upper() if column == "patient_sex" else text


def same_value(column: str, a: Any, b: Any) -> bool:
    """Whether two values of a patient column agree; an empty value agrees with any
    (type 2 attributes may be empty in one file and known in another)."""
    x, y = _normal(column, a), _normal(column, b)
    return not x or not y or x == y


@dataclass(frozen=True, slots=True)
class Conflict:
    """A conflict found while filing one instance.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    message : str
        One line for people.
    detail : dict
        What was found (plain values, stored as JSON).
    resolution : str
        What srkit did: ``filed-separately``, ``filed``, ``refused``, ``replaced``,
        ``kept-as-conflict``.
    """

    kind: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)
    resolution: str = "filed"


def conflict_row(
    conflict: Conflict,
    rec: dict[str, Any],
    *,
    path: str | None,
    source: str,
    calling_ae: str | None,
    now: str,
) -> dict[str, Any]:
    """The ``conflict`` table row of ``conflict`` found for record ``rec``."""
    return {
        "kind": conflict.kind,
        "sop_instance_uid": rec["instance"]["sop_instance_uid"],
        "study_instance_uid": rec["study"]["study_instance_uid"],
        "series_instance_uid": rec["series"]["series_instance_uid"],
        "patient_id": rec["patient"].get("patient_id"),
        "message": conflict.message,
        "detail": json.dumps(conflict.detail, ensure_ascii=False, sort_keys=True, default=str),
        "resolution": conflict.resolution,
        "path": path,
        "source": source,
        "calling_ae": calling_ae,
        "detected_at": now,
    }


# -- SQL on either kind of connection -------------------------------------------------------

_SERIES = (
    "SELECT se.pk, se.study_pk, st.study_instance_uid, st.patient_pk, p.patient_key, "
    "p.patient_id, st.patient_name, st.patient_birth_date, st.patient_sex "
    "FROM series se JOIN study st ON se.study_pk = st.pk JOIN patient p ON st.patient_pk = p.pk "
    "WHERE se.series_instance_uid = :uid"
)
_STUDY = (
    "SELECT st.pk, st.patient_pk, p.patient_key, p.patient_id, p.patient_name, "
    "st.patient_name, st.patient_birth_date, st.patient_sex "
    "FROM study st JOIN patient p ON st.patient_pk = p.pk WHERE st.study_instance_uid = :uid"
)
_PATIENT = (
    "SELECT pk, patient_name, patient_birth_date, patient_sex FROM patient WHERE patient_key = :key"
)


def _differences(rec_patient: dict[str, Any], have: Sequence[Any]) -> dict[str, list[Any]]:
    """Compared patient columns whose values disagree: ``{column: [have, new]}``."""
    out: dict[str, list[Any]] = {}
    for (column, _label), old in zip(_COMPARED, have):
        new = rec_patient.get(column)
        if not same_value(column, old, new):
            out[column] = [old, new]
    return out


def _describe(diff: dict[str, list[Any]]) -> str:
    labels = dict(_COMPARED)
    return "; ".join(f"{labels[c]} {new!r} (filed: {old!r})" for c, (old, new) in diff.items())


class Placer:
    """Finds or creates the patient, study and series rows of records inside one write
    transaction, reporting conflicts. Make one per transaction: it caches what it saw.

    Parameters
    ----------
    sql : CursorSql or ConnectionSql
        The transaction's connection.
    """

    def __init__(self, sql: Sql) -> None:
        self.sql = sql
        self._series: dict[str, list[tuple[Any, ...]]] = {}
        self._studies: dict[str, list[tuple[Any, ...]]] = {}
        self._patients: dict[str, tuple[Any, ...] | None] = {}

    # -- look-ups (cached for the transaction) ------------------------------------------

    def _series_rows(self, uid: str) -> list[tuple[Any, ...]]:
        found = self._series.get(uid)
        if found is None:
            found = self._series[uid] = self.sql.rows(_SERIES, {"uid": uid})
        return found

    def _study_rows(self, uid: str) -> list[tuple[Any, ...]]:
        found = self._studies.get(uid)
        if found is None:
            found = self._studies[uid] = self.sql.rows(_STUDY, {"uid": uid})
        return found

    def _patient_row(self, key: str) -> tuple[Any, ...] | None:
        if key not in self._patients:
            rows = self.sql.rows(_PATIENT, {"key": key})
            self._patients[key] = rows[0] if rows else None
        return self._patients[key]

    def prefetch(self, records: Iterable[dict[str, Any]]) -> None:
        """Fill the caches for a batch with a few ``IN`` queries (SQLAlchemy only)."""
        if not isinstance(self.sql, ConnectionSql):
            return
        from sqlalchemy import bindparam, text

        recs = list(records)
        wanted = (
            ("series", _SERIES, self._series, {r["series"]["series_instance_uid"] for r in recs}),
            ("study", _STUDY, self._studies, {r["study"]["study_instance_uid"] for r in recs}),
        )
        for _name, sql, cache, uids in wanted:
            todo = sorted(u for u in uids if u not in cache)
            for u in todo:
                cache[u] = []
            column = "se.series_instance_uid" if sql is _SERIES else "st.study_instance_uid"
            stmt = text(
                sql.replace(f"WHERE {column} = :uid", f"WHERE {column} IN :uids").replace(
                    "SELECT ", f"SELECT {column}, ", 1
                )
            ).bindparams(bindparam("uids", expanding=True))
            for chunk in chunks(todo):
                for row in self.sql.conn.execute(stmt, {"uids": list(chunk)}):
                    cache[row[0]].append(tuple(row[1:]))
        keys = sorted({r["patient"]["patient_key"] for r in recs} - set(self._patients))
        for key in keys:
            self._patients[key] = None
        stmt = text(
            _PATIENT.replace("SELECT pk", "SELECT patient_key, pk").replace("= :key", "IN :keys")
        ).bindparams(bindparam("keys", expanding=True))
        for chunk in chunks(keys):
            for row in self.sql.conn.execute(stmt, {"keys": list(chunk)}):
                self._patients[row[0]] = tuple(row[1:])

    # -- filing ---------------------------------------------------------------------------

    def place(self, rec: dict[str, Any], conflicts: list[Conflict]) -> int:
        """The pk of the series row ``rec`` belongs in (created with its parents when
        missing); conflicts found are appended to ``conflicts``."""
        patient, study, series = rec["patient"], rec["study"], rec["series"]
        key = patient["patient_key"]
        study_uid = study["study_instance_uid"]
        series_uid = series["series_instance_uid"]
        series_rows = self._series_rows(series_uid)
        for row in series_rows:
            if row[2] == study_uid and row[4] == key:
                diff = _differences(patient, row[6:9])
                filled = self._fill("study", int(row[1]), row[6:9], patient)
                if filled:
                    index = series_rows.index(row)
                    row = series_rows[index] = (*row[:6], *filled)
                    self._refresh_study(int(row[1]), filled)
                    self._fill_patient(patient)
                if diff:
                    conflicts.append(
                        Conflict(
                            "patient-attributes",
                            f"{_describe(diff)} differ from the other files of study {study_uid}",
                            {"study_instance_uid": study_uid, "differences": diff},
                        )
                    )
                return int(row[0])
        patient_pk = self._patient(rec, conflicts)
        study_pk, study_patient = self._study(rec, patient_pk, conflicts)
        if series_rows:
            others = sorted({str(r[2]) for r in series_rows})
            conflicts.append(
                Conflict(
                    "series-other-study",
                    f"Series Instance UID {series_uid} is filed already under another "
                    f"study or patient (study {', '.join(others)}); filed separately",
                    {
                        "series_instance_uid": series_uid,
                        "filed_under": [
                            {"study_instance_uid": r[2], "patient_id": r[5]} for r in series_rows
                        ],
                    },
                    "filed-separately",
                )
            )
        series_pk = self.sql.insert("series", {**series, "study_pk": study_pk})
        self._series.setdefault(series_uid, []).append(
            (
                series_pk,
                study_pk,
                study_uid,
                patient_pk,
                key,
                patient.get("patient_id"),
                *study_patient,
            )
        )
        return series_pk

    def _fill(
        self, table: str, pk: int, have: Sequence[Any], patient: dict[str, Any]
    ) -> tuple[Any, ...] | None:
        """Fill the empty patient attributes of a study or patient row from a file
        that has them, so that a later file with other values is a conflict (an empty
        first value must not hide every later difference). Returns the row's values
        after the fill (name, birth date, sex), or None when nothing was empty."""
        values = list(have)
        changed: dict[str, Any] = {}
        for i, (column, _label) in enumerate(_COMPARED):
            new = patient.get(column)
            if not str(values[i] or "").strip() and str(new or "").strip():
                values[i] = changed[column] = new
        if not changed:
            return None
        sets = ", ".join(f"{c} = :{c}" for c in changed)
        self.sql.execute(f"UPDATE {table} SET {sets} WHERE pk = :pk", {**changed, "pk": pk})
        return tuple(values)

    def _fill_patient(self, patient: dict[str, Any]) -> None:
        """:meth:`_fill` on the patient row of ``patient`` (when it exists)."""
        known = self._patient_row(patient["patient_key"])
        if known is not None:
            filled = self._fill("patient", int(known[0]), known[1:4], patient)
            if filled:
                self._patients[patient["patient_key"]] = (known[0], *filled)

    def _refresh_study(self, study_pk: int, values: tuple[Any, ...]) -> None:
        """The cached rows of a study after :meth:`_fill`."""
        for uid, rows in self._series.items():
            self._series[uid] = [(*r[:6], *values) if r[1] == study_pk else r for r in rows]
        for uid, rows in self._studies.items():
            self._studies[uid] = [(*r[:5], *values) if r[0] == study_pk else r for r in rows]

    def _patient(self, rec: dict[str, Any], conflicts: list[Conflict]) -> int:
        patient = rec["patient"]
        key = patient["patient_key"]
        row = self._patient_row(key)
        if row is not None:
            return int(row[0])
        values = {c: patient.get(c) for c in ("patient_key", *PATIENT_ATTRIBUTES)}
        pk = self.sql.insert("patient", values)
        self._patients[key] = (pk, *(patient.get(c) for c, _ in _COMPARED))
        return pk

    def _study(
        self, rec: dict[str, Any], patient_pk: int, conflicts: list[Conflict]
    ) -> tuple[int, tuple[Any, ...]]:
        """The study row's pk and the patient attributes it keeps (name, birth, sex)."""
        patient, study = rec["patient"], rec["study"]
        uid = study["study_instance_uid"]
        rows = self._study_rows(uid)
        for row in rows:
            if row[1] == patient_pk:
                diff = _differences(patient, row[5:8])
                filled = self._fill("study", int(row[0]), row[5:8], patient)
                if filled:
                    self._refresh_study(int(row[0]), filled)
                    row = tuple(row[:5]) + filled
                    self._fill_patient(patient)
                if diff:
                    conflicts.append(
                        Conflict(
                            "patient-attributes",
                            f"{_describe(diff)} differ from the other files of study {uid}",
                            {"study_instance_uid": uid, "differences": diff},
                        )
                    )
                return int(row[0]), tuple(row[5:8])
        if rows:
            conflicts.append(
                Conflict(
                    "study-other-patient",
                    f"Study Instance UID {uid} is filed already under another patient "
                    f"({', '.join(repr(r[4]) + ' ' + repr(r[3]) for r in rows)}); "
                    "filed separately under this instance's patient",
                    {
                        "study_instance_uid": uid,
                        "filed_under": [{"patient_id": r[3], "patient_name": r[4]} for r in rows],
                    },
                    "filed-separately",
                )
            )
        else:
            known = self._patient_row(patient["patient_key"])
            diff = _differences(patient, known[1:4]) if known is not None else {}
            self._fill_patient(patient)
            if diff:
                conflicts.append(
                    Conflict(
                        "patient-attributes",
                        f"{_describe(diff)} differ from the patient's other studies "
                        f"(Patient ID {patient.get('patient_id')!r})",
                        {"patient_key": patient["patient_key"], "differences": diff},
                    )
                )
        values = {**study, **{c: patient.get(c) for c in PATIENT_ATTRIBUTES}}
        values["patient_pk"] = patient_pk
        pk = self.sql.insert("study", values)
        own = tuple(patient.get(c) for c, _ in _COMPARED)
        self._studies.setdefault(uid, []).append(
            (pk, patient_pk, patient["patient_key"], patient.get("patient_id"), own[0], *own)
        )
        return pk, own
