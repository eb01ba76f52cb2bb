"""The local DICOM database: import, index SR content, query, remove.

Like 3D Slicer's DICOM database and Orthanc's index: files become a Patient / Study /
Series / Instance index (PS3.4 C.6.1 Patient Root model); SR content becomes
queryable rows. SQLite by default (WAL mode), PostgreSQL by URL.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from srkit.db import engine as E
from srkit.db import schema as S
from srkit.db.batch import ImportReport, write_batch
from srkit.db.query import COUNTS, TABLES, finish_rows, level_query
from srkit.db.sql import chunks
from srkit.db.staging import StagedFile
from srkit.db.storage import check_uid, is_inside, remove_file, storage_path
from srkit.db.store import DuplicateInstanceError, Store
from srkit.db.writer import StoreOutcome, check_policy
from srkit.errors import SrkitError
from srkit.model.levels import LEVELS, normalise_level

__all__ = [
    "AmbiguousUidError",
    "Database",
    "ImportReport",
    "DuplicateInstanceError",
    "StoreOutcome",
]


_WITHIN = {
    "PatientID": ("patient", "patient_id"),
    "IssuerOfPatientID": ("patient", "issuer_of_patient_id"),
    "StudyInstanceUID": ("study", "study_instance_uid"),
    "SeriesInstanceUID": ("series", "series_instance_uid"),
}
"""Parent keys that narrow a retrieval (PS3.4 C.4.2.2.1: the unique keys of the levels
above the Query/Retrieve Level)."""


class AmbiguousUidError(SrkitError):
    """A UID to retrieve or remove is filed under several patients (or studies)."""


class Database:
    """A DICOM database with SR content indexed.

    Parameters
    ----------
    url : str or None
        An SQLite path, ``sqlite:///...``, or ``postgresql://...``; None means
        ``$SRKIT_DB`` or ``srkit.sqlite`` in the user's data folder.
    storage : Path or None
        Folder for copies (``--copy``, C-STORE, STOW-RS); default beside the SQLite
        file (``<name>-storage``) or in the user's data folder.
    conflict_policy : str
        What a second instance with a stored SOP Instance UID and other bytes does
        (:data:`srkit.db.hierarchy.POLICIES`): ``keep-first`` (default),
        ``keep-last`` or ``keep-both-as-conflict``; every write path follows it.
    """

    def __init__(
        self,
        url: str | os.PathLike[str] | None = None,
        *,
        storage: Path | None = None,
        conflict_policy: str = "keep-first",
    ):
        self.conflict_policy = check_policy(conflict_policy)
        self.url = E.resolve_url(url)
        self.storage = Path(storage) if storage is not None else E.default_storage(self.url)
        self._reader, self._writer = E.make_engines(self.url)
        self._store = Store(self._writer, self.storage)
        try:
            E.upgrade(self._writer)
        except BaseException:
            self._reader.dispose()
            raise

    # -- lifetime ---------------------------------------------------------------------

    def close(self) -> None:
        """Release the connections (both engines' pools)."""
        self._store.close()
        self._reader.dispose()
        if self._writer is not self._reader:
            self._writer.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({self.url!r})"

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return str(self._reader.dialect.name)

    def _write(self) -> Any:
        from sqlalchemy.exc import OperationalError

        try:
            return self._writer.begin()
        except OperationalError as exc:  # pragma: no cover - locked for a minute
            raise SrkitError(f"database busy: {E._short(exc)}") from None

    # -- import -----------------------------------------------------------------------

    def import_paths(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        copy: bool = False,
        workers: int | None = None,
        on_error: str = "collect",
        progress: bool | Callable[[int, int], None] = False,
    ) -> ImportReport:
        """Index DICOM files: folders recursively, DICOMDIRs, single files.

        Parameters
        ----------
        paths : iterable of path
            Files, folders and DICOMDIR files.
        copy : bool
            Copy each file into the storage layout (else reference it in place).
        workers : int or None
            Parsing processes (default: the CPU count; 1 parses in this process).
        on_error : {"collect", "skip", "raise"}
            Collect rejected files in the report, skip them silently, or raise
            :class:`SrkitError` at the first one (batches before it stay imported).
        progress : bool or callable
            A progress bar on a terminal, or ``callback(done, total)``.

        Returns
        -------
        ImportReport
        """
        from srkit.db.importer import run_import

        if on_error not in ("collect", "skip", "raise"):
            raise SrkitError(f"on_error must be collect, skip or raise, not {on_error!r}")
        return run_import(
            self, paths, copy=copy, workers=workers, on_error=on_error, progress=progress
        )

    def _write_records(self, records: Sequence[dict[str, Any]], report: ImportReport) -> None:
        """Index one batch in one transaction (retried when a concurrent writer won a
        race for a parent row, or the database broke a deadlock)."""
        from srkit.db.store import ATTEMPTS, _is_retryable

        for attempt in range(1, ATTEMPTS + 1):
            trial = ImportReport()
            try:
                with self._write() as conn:
                    write_batch(conn, records, trial, policy=self.conflict_policy)
            except BaseException as exc:
                for tmp, _target in trial.after_commit_moves:  # nothing was committed
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                if isinstance(exc, Exception) and _is_retryable(exc) and attempt < ATTEMPTS:
                    continue
                raise
            for tmp, target in trial.after_commit_moves:  # keep-last: the new bytes
                os.replace(tmp, target)
            report.imported += trial.imported
            report.skipped += trial.skipped
            report.updated += trial.updated
            report.conflicts.extend(trial.conflicts)
            report.warnings.extend(trial.warnings)
            report.uids.extend(trial.uids)
            for path in trial.after_commit:  # replaced or refused copies of srkit's own
                remove_file(Path(path), self.storage)
            return

    def store_dataset(
        self, ds: Dataset, *, calling_ae: str | None = None, encoded: bytes | None = None
    ) -> str:
        """Store a dataset (C-STORE, STOW-RS) in the storage layout and index it.

        The file is written atomically under names made from validated UIDs; the
        index rows (SR content included) are written in one transaction. On failure
        the file is removed and nothing stays behind.

        Parameters
        ----------
        ds : Dataset
            The instance (with its File Meta Information, PS3.10 7.1, if known).
        calling_ae : str or None
            The AE title that sent it, kept in the index.
        encoded : bytes or None
            The Part 10 bytes of ``ds`` as received; stored as they are instead of
            encoding ``ds`` again.

        Returns
        -------
        str
            The SOP Instance UID.

        Raises
        ------
        SrkitError
            Invalid or unsafe UIDs, unreadable content.
        DuplicateInstanceError
            The SOP Instance UID is stored already with different content.
        """
        rec, data = self._dataset_record(ds, encoded)
        return self.store_record(rec, data, calling_ae=calling_ae)

    def _dataset_record(self, ds: Dataset, encoded: bytes | None) -> tuple[dict[str, Any], bytes]:
        """The index record of a dataset and its Part 10 bytes (``encoded`` when given,
        else the dataset encoded); unsafe UIDs are refused before anything is written."""
        from srkit.db.ingest import record_from_dataset

        uids = [
            str(getattr(ds, kw, "") or "")
            for kw in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
        ]
        storage_path(self.storage, *uids)  # unsafe UIDs first
        data = _encode(ds) if encoded is None else encoded
        try:
            return record_from_dataset(ds), data
        except SrkitError as exc:
            raise SrkitError(exc.message, source=uids[2] or None, code=exc.code) from None
        except Exception as exc:
            raise SrkitError(f"cannot index dataset ({type(exc).__name__}: {exc})") from None

    def store_bytes(self, data: bytes, *, calling_ae: str | None = None) -> str:
        """Store Part 10 file bytes (C-STORE, STOW-RS) as they are, and index them.

        The bytes are parsed once for the index (srkit's fast parser) and written
        unchanged; see :meth:`store_dataset` for the guarantees and errors.
        """
        from srkit.db.ingest import parse_received

        _ds, rec = parse_received(data)
        return self.store_record(rec, data, calling_ae=calling_ae)

    def store_record(
        self,
        rec: dict[str, Any],
        data: bytes | StagedFile,
        *,
        calling_ae: str | None = None,
        policy: str | None = None,
        source: str = "store",
    ) -> str:
        """Write ``data`` (bytes, or a :class:`~srkit.db.staging.StagedFile`) into the
        storage layout and index ``rec`` (its parsed record, see
        :func:`srkit.db.ingest.parse_received`) in one transaction.

        The SOP Instance UID is looked up, the file renamed into place and the rows
        inserted inside one write transaction, so concurrent stores of one UID
        (threads or processes) cannot both write; the call returns after the commit.
        A failure removes the file it staged. An instance stored already with the
        same data set is left as it is; with another the conflict policy decides, and
        under ``keep-first`` :class:`DuplicateInstanceError` is raised (after the
        conflict was recorded). A staged file is renamed into place or discarded by
        the call. See :meth:`store_outcome` for the full outcome.
        """
        outcome = self.store_outcome(rec, data, calling_ae=calling_ae, policy=policy, source=source)
        if outcome.status == "refused":
            raise DuplicateInstanceError(outcome.conflicts[0].message, outcome=outcome)
        return outcome.sop_instance_uid

    def store_outcome(
        self,
        rec: dict[str, Any],
        data: bytes | StagedFile,
        *,
        calling_ae: str | None = None,
        policy: str | None = None,
        source: str = "store",
        link: bool = False,
    ) -> StoreOutcome:
        """:meth:`store_record`, returning what it did (never raising for a conflict).

        Parameters
        ----------
        policy : str or None
            The conflict policy for this store (default: the database's).
        source : str
            Who stored it, kept with conflicts (``c-store``, ``stow-rs``, ...).
        link : bool
            A staged file keeps its own name until the commit (the deferred index's
            inbox files, see :meth:`Store.store`).
        """
        target, chosen = self._place(rec, data, policy)
        return self._store.store(
            rec, target, data, calling_ae, policy=chosen, source=source, link=link
        )

    def store_outcomes(
        self,
        items: Sequence[tuple[dict[str, Any], StagedFile, str | None]],
        *,
        source: str = "store",
    ) -> list[StoreOutcome] | None:
        """Store staged files (record, staged file, calling AE title) in one
        transaction with the database's conflict policy: the deferred index's files
        pending together (:meth:`Store.store_many`). None when that cannot be done
        (not SQLite, or the transaction failed): nothing is changed, the staged files
        are still held, and the caller stores each one with :meth:`store_outcome`.

        Raises
        ------
        SrkitError
            A record lacks what its place in the storage needs (a bad UID): nothing
            is stored, the staged files are still held.
        """
        from srkit.db.store import Pending

        if not self._store.batches:
            return None
        pending = []
        for rec, staged, calling_ae in items:
            target, chosen = self._place(rec, staged, None, discard=False)
            pending.append(Pending(rec, target, staged, calling_ae, chosen, source))
        return self._store.store_many(pending)

    def _place(
        self,
        rec: dict[str, Any],
        data: bytes | StagedFile,
        policy: str | None,
        *,
        discard: bool = True,
    ) -> tuple[Path, str]:
        """The storage path and conflict policy of a store of ``rec``; sets the
        record's storage columns (path, size, content hash). A staged file is
        discarded (with ``discard``) when the record cannot be placed."""
        import hashlib

        try:
            inst = rec["instance"]
            target = storage_path(
                self.storage,
                str(rec["study"]["study_instance_uid"] or ""),
                str(rec["series"]["series_instance_uid"] or ""),
                str(inst["sop_instance_uid"] or ""),
            )
            check_uid(str(inst["sop_class_uid"] or ""), "SOP Class UID")
            chosen = check_policy(policy or self.conflict_policy)
        except BaseException:
            if discard and isinstance(data, StagedFile):
                data.discard()
            raise
        if isinstance(data, StagedFile):
            data.finish()
            size, digest = data.size, data.sha256
        else:
            size = len(data)
            digest = rec.get("content_hash") or hashlib.sha256(data).hexdigest()
        rec.update(
            path=str(target),
            source_path=None,
            copied=True,
            size=size,
            mtime_ns=None,
            content_hash=digest,
        )
        return target, chosen

    def store(
        self,
        data: bytes | Dataset | StagedFile,
        *,
        calling_ae: str | None = None,
        policy: str | None = None,
        source: str = "store",
        record: dict[str, Any] | None = None,
    ) -> StoreOutcome:
        """Store Part 10 bytes, a staged file (:meth:`stage`) or a dataset, and index
        it; the one verb of the DIMSE and DICOMweb servers. Returns the
        :class:`StoreOutcome` (``stored``, ``duplicate``, ``refused``, ``replaced``,
        ``kept-as-conflict``, with the conflicts recorded). A staged file is renamed
        into place or discarded, whatever happens; ``record`` is its parsed record
        when the caller has it already.

        Raises
        ------
        SrkitError
            Not DICOM, truncated, invalid or unsafe UIDs, a disk or database failure.
        """
        from srkit.db.ingest import parse_received

        if isinstance(data, StagedFile):
            from srkit.db.ingest import parse_staged

            try:
                data.finish()
                if record is None:
                    _ds, record = parse_staged(data.path, size=data.size, sha256=data.sha256)
            except BaseException:
                data.discard()
                raise
            return self.store_outcome(
                record, data, calling_ae=calling_ae, policy=policy, source=source
            )
        if isinstance(data, Dataset):
            rec, encoded = self._dataset_record(data, None)
            return self.store_outcome(
                rec, encoded, calling_ae=calling_ae, policy=policy, source=source
            )
        _ds, rec = parse_received(data)
        return self.store_outcome(rec, data, calling_ae=calling_ae, policy=policy, source=source)

    def conflicts(
        self,
        *,
        kind: str | None = None,
        sop_instance_uid: str | None = None,
        study_instance_uid: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The recorded conflicts (newest first), optionally of one kind or instance.

        Each is a dict of the ``conflict`` row with ``detail`` decoded from JSON.
        """
        import json

        from sqlalchemy import select

        t = S.conflict
        stmt = select(t).order_by(t.c.pk.desc())
        if kind:
            stmt = stmt.where(t.c.kind == kind)
        if sop_instance_uid:
            stmt = stmt.where(t.c.sop_instance_uid == sop_instance_uid)
        if study_instance_uid:
            stmt = stmt.where(t.c.study_instance_uid == study_instance_uid)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._reader.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
        for row in rows:
            row["detail"] = json.loads(row["detail"] or "{}")
        return rows

    def stage(self) -> StagedFile:
        """A new staged file in this database's storage folder, for :meth:`store_staged`
        (write the received bytes to it as they arrive)."""
        return StagedFile(self.storage)

    def store_staged(
        self,
        staged: StagedFile,
        *,
        calling_ae: str | None = None,
        record: dict[str, Any] | None = None,
    ) -> str:
        """Index a staged Part 10 file and rename it into the storage layout.

        Only what the index needs is read (:func:`srkit.db.ingest.parse_staged`: the
        whole file up to 8 MiB, else up to its Pixel Data), so a large instance is
        never held in memory; its SHA-256 and size come from the staged file.
        ``record`` is the file's record when the caller parsed it already. The staged
        file is renamed into place or discarded by the call, whatever happens.

        Returns
        -------
        str
            The SOP Instance UID.

        Raises
        ------
        SrkitError
            Not DICOM, cut short, invalid or unsafe UIDs.
        DuplicateInstanceError
            The SOP Instance UID is stored already with different content.
        """
        outcome = self.store(staged, calling_ae=calling_ae, record=record)
        if outcome.status == "refused":
            raise DuplicateInstanceError(outcome.conflicts[0].message, outcome=outcome)
        return outcome.sop_instance_uid

    # -- queries ----------------------------------------------------------------------

    def query(
        self,
        level: str,
        filters: Mapping[str, Any] | None = None,
        *,
        fields: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        fuzzy: bool = False,
    ) -> list[dict[str, Any]]:
        """Match ``filters`` (DICOM keyword -> match value, PS3.4 C.2.2.2) at ``level``.

        Returns one dict per match keyed by DICOM keyword: the attributes of the
        level and the levels above, and the counts the level implies
        (``NumberOfStudyRelatedInstances``, ``ModalitiesInStudy``, ...). IS and US
        values are ints; the rest strings or None.

        At IMAGE level the SR keys of PS3.4 Table C.6-5 match the instance's SR
        document and are returned when asked for (in ``fields``, or in ``filters``
        when ``fields`` is None): ``CompletionFlag``, ``VerificationFlag`` (strings)
        and the sequences ``ConceptNameCodeSequence`` and ``ContentTemplateSequence``.
        A sequence filter is its query item, item keyword -> match string
        (``{"CodeValue": "126000", "CodeMeaning": ""}``, PS3.4 C.2.2.2.6); its keys
        are the item keys returned. A sequence value is a list of at most one dict
        (``[{"CodeValue": "126000", "CodeMeaning": "Imaging Measurement Report"}]``;
        ``[]`` for a non-SR instance). See :mod:`srkit.db.query`.
        """
        level = normalise_level(level)
        stmt, keys = level_query(
            level, filters or {}, fields=fields, limit=limit, offset=offset, fuzzy=fuzzy
        )
        with self._reader.connect() as conn:
            rows = [dict(zip(keys, row)) for row in conn.execute(stmt)]
            if level == "STUDY" and rows:
                self._study_lists(conn, rows, fields)
        for row in rows:
            del row["_pk"]
        finish_rows(rows, keys)
        return rows

    def _study_lists(
        self, conn: Any, rows: list[dict[str, Any]], fields: Sequence[str] | None
    ) -> None:
        """ModalitiesInStudy and SOPClassesInStudy of the study rows."""
        from sqlalchemy import select

        pks = [r["_pk"] for r in rows]
        want = [n for n in COUNTS["STUDY"][2:] if fields is None or n in fields]
        if not want:
            return
        stmt = (
            select(S.series.c.study_pk, S.series.c.modality, S.instance.c.sop_class_uid)
            .select_from(S.series.join(S.instance, S.instance.c.series_pk == S.series.c.pk))
            .where(S.series.c.study_pk.in_(pks))
            .distinct()
        )
        mods: dict[int, set[str]] = {}
        classes: dict[int, set[str]] = {}
        for study_pk, modality, sop_class in conn.execute(stmt):
            if modality:
                mods.setdefault(study_pk, set()).add(modality)
            classes.setdefault(study_pk, set()).add(sop_class)
        for r in rows:
            if "ModalitiesInStudy" in want:
                r["ModalitiesInStudy"] = "\\".join(sorted(mods.get(r["_pk"], ()))) or None
            if "SOPClassesInStudy" in want:
                r["SOPClassesInStudy"] = "\\".join(sorted(classes.get(r["_pk"], ()))) or None

    def patients(self, **filters: Any) -> list[dict[str, Any]]:
        """PATIENT level :meth:`query` (``limit``, ``offset``, ``fields``, ``fuzzy`` too)."""
        return self._verb("PATIENT", filters)

    def studies(self, **filters: Any) -> list[dict[str, Any]]:
        """STUDY level :meth:`query`."""
        return self._verb("STUDY", filters)

    def series(self, **filters: Any) -> list[dict[str, Any]]:
        """SERIES level :meth:`query`."""
        return self._verb("SERIES", filters)

    def instances(self, **filters: Any) -> list[dict[str, Any]]:
        """IMAGE level :meth:`query`."""
        return self._verb("IMAGE", filters)

    def _verb(self, level: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
        options = {
            k: filters.pop(k) for k in ("fields", "limit", "offset", "fuzzy") if k in filters
        }
        return self.query(level, filters, **options)

    def counts(self) -> dict[str, int]:
        """Rows per table (patients, studies, series, instances, SR tables)."""
        from sqlalchemy import func, select

        tables = {
            "patients": S.patient,
            "studies": S.study,
            "series": S.series,
            "instances": S.instance,
            "sr_documents": S.sr_document,
            "measurements": S.measurement,
            "qualitative": S.qualitative,
            "dose_reports": S.dose_report,
            "dose_events": S.dose_event,
        }
        with self._reader.connect() as conn:
            return {
                name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for name, t in tables.items()
            }

    def query_measurements(self, **filters: Any) -> list[dict[str, Any]]:
        """Measurement rows (``kind="qualitative"`` for evaluations) matching ``filters``.

        See :func:`srkit.db.srquery.measurement_query` for the filters.
        """
        from srkit.db.srquery import measurement_query, run

        with self._reader.connect() as conn:
            return run(conn, *measurement_query(filters))

    def query_dose(self, **filters: Any) -> list[dict[str, Any]]:
        """Dose reports (``level="event"`` for irradiation events) matching ``filters``.

        See :func:`srkit.db.srquery.dose_query` for the filters.
        """
        from srkit.db.srquery import dose_query, run

        with self._reader.connect() as conn:
            return run(conn, *dose_query(filters))

    def sr_documents(self, **filters: Any) -> list[dict[str, Any]]:
        """SR document rows (template, flags, diagnostics) with their study context."""
        from srkit.db.srquery import document_query, run

        with self._reader.connect() as conn:
            return run(conn, *document_query(filters))

    # -- files ------------------------------------------------------------------------

    def _instance_rows(
        self, level: str, uid: str, within: Mapping[str, str] | None = None
    ) -> list[Any]:
        """The instances of a patient (by Patient ID), study, series or instance,
        inside the parents ``within`` names (keyword -> value: PatientID,
        IssuerOfPatientID, StudyInstanceUID, SeriesInstanceUID; empty values and
        value lists are ignored).

        Raises :class:`AmbiguousUidError` when they belong to more than one patient
        (or, below STUDY level, more than one study): a UID filed under several
        parents (a conflict, :mod:`srkit.db.hierarchy`) must never hand one patient
        another's instances.
        """
        from sqlalchemy import select

        level = normalise_level(level)
        if level == "PATIENT":
            key = S.patient.c.patient_id
        else:
            key = TABLES[level].c[
                {
                    "STUDY": "study_instance_uid",
                    "SERIES": "series_instance_uid",
                    "IMAGE": "sop_instance_uid",
                }[level]
            ]
        i = S.instance
        joined = (
            i.join(S.series, i.c.series_pk == S.series.c.pk)
            .join(S.study, S.series.c.study_pk == S.study.c.pk)
            .join(S.patient, S.study.c.patient_pk == S.patient.c.pk)
        )
        stmt = (
            select(
                i.c.pk,
                i.c.path,
                i.c.sop_instance_uid,
                i.c.copied,
                i.c.series_pk,
                S.series.c.study_pk,
                S.study.c.patient_pk,
            )
            .select_from(joined)
            .where(key == uid)
            .order_by(
                S.study.c.pk,
                S.series.c.series_number.asc().nulls_last(),
                S.series.c.pk,
                i.c.instance_number.asc().nulls_last(),
                i.c.pk,
            )
        )
        for keyword, (table, column) in _WITHIN.items():
            value = str((within or {}).get(keyword) or "").strip()
            if value and "\\" not in value and "*" not in value and "?" not in value:
                stmt = stmt.where(S.metadata.tables[table].c[column] == value)
        with self._reader.connect() as conn:
            rows = list(conn.execute(stmt))
        patients = {r.patient_pk for r in rows}
        studies = {r.study_pk for r in rows}
        if len(patients) > 1 or (level in ("SERIES", "IMAGE") and len(studies) > 1):
            what = {"PATIENT": "Patient ID", "STUDY": "Study Instance UID"}.get(
                level, "Series Instance UID"
            )
            parents = (
                f"{len(patients)} patients" if len(patients) > 1 else f"{len(studies)} studies"
            )
            raise AmbiguousUidError(
                f"{what} {uid} is filed under {parents} (a conflict: srkit ls conflicts); "
                "name its parents (Patient ID, Study Instance UID) to choose one"
            )
        return rows

    def instance_paths(
        self, level: str, uid: str, within: Mapping[str, str] | None = None
    ) -> list[Path]:
        """The files of a patient (by Patient ID), study, series or instance (inside
        the parents ``within`` names; :class:`AmbiguousUidError` when they belong to
        several patients)."""
        return [Path(r.path) for r in self._instance_rows(level, uid, within)]

    def instance_files(
        self, level: str, uid: str, within: Mapping[str, str] | None = None
    ) -> list[tuple[str, Path]]:
        """(SOP Instance UID, file) of every instance of a patient (by Patient ID),
        study, series or instance, whether or not the file is still there (inside the
        parents ``within`` names; :class:`AmbiguousUidError` when they belong to
        several patients)."""
        return [
            (str(r.sop_instance_uid), Path(r.path)) for r in self._instance_rows(level, uid, within)
        ]

    def is_stored(self, sop_instance_uid: str) -> bool:
        """Whether an instance of this SOP Instance UID is indexed (a committed row; the
        deferred index's pending files are not, see :mod:`srkit.db.inbox`)."""
        return self._store.is_stored(sop_instance_uid)

    def instance_path(self, sop_instance_uid: str) -> Path | None:
        """The file of one instance, or None when it is not indexed."""
        rows = self._instance_rows("IMAGE", sop_instance_uid)
        return Path(rows[0].path) if rows else None

    def remove(
        self,
        level: str,
        uid: str,
        *,
        delete_files: bool = False,
        within: Mapping[str, str] | None = None,
    ) -> int:
        """Remove a patient, study, series or instance from the index (inside the
        parents ``within`` names: a UID filed under several patients is refused with
        :class:`AmbiguousUidError` unless they choose one).

        The user's files are never deleted; with ``delete_files`` the copies srkit
        made in its storage folder are. Returns the number of instances removed.
        """
        from sqlalchemy import delete, select

        rows = self._instance_rows(level, uid, within)
        if not rows:
            return 0
        pks = [r.pk for r in rows]
        with self._write() as conn:
            for chunk in chunks(pks):
                reports = select(S.dose_report.c.pk).where(S.dose_report.c.instance_pk.in_(chunk))
                conn.execute(delete(S.dose_event).where(S.dose_event.c.dose_report_pk.in_(reports)))
                for table in S.SR_TABLES[1:]:
                    conn.execute(delete(table).where(table.c.instance_pk.in_(chunk)))
                conn.execute(delete(S.instance).where(S.instance.c.pk.in_(chunk)))
            _prune(conn, rows)
        if delete_files:
            for r in rows:
                if r.copied and is_inside(Path(r.path), self.storage):
                    remove_file(Path(r.path), self.storage)
        return len(rows)

    def check_integrity(self, *, repair: bool = False) -> list[str]:
        """Problems found by the database's own check and by orphan checks ([] = fine).

        The storage folder is checked too (:mod:`srkit.db.integrity`): staged files
        no live process holds, files no instance references, instances whose copy is
        missing. With ``repair`` those are mended (leftovers removed, orphans indexed
        or moved to ``<storage>/.lost``, rows of missing copies removed) and each line
        says what was done; a second check then finds none of them.
        """
        from sqlalchemy import text

        from srkit.db.integrity import hierarchy_problems

        problems: list[str] = []
        with self._reader.connect() as conn:
            if self.dialect == "sqlite":
                result = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
                if result != ["ok"]:
                    problems.extend(result)
                problems.extend(
                    str(tuple(r)) for r in conn.exec_driver_sql("PRAGMA foreign_key_check")
                )
            for child, fk, parent in (
                ("study", "patient_pk", "patient"),
                ("series", "study_pk", "study"),
                ("instance", "series_pk", "series"),
                ("sr_document", "instance_pk", "instance"),
            ):
                n = conn.execute(
                    text(
                        f"SELECT count(*) FROM {child} c LEFT JOIN {parent} p ON c.{fk} = p.pk "
                        "WHERE p.pk IS NULL"
                    )
                ).scalar_one()
                if n:
                    problems.append(f"{n} {child} rows without their {parent}")
            problems.extend(hierarchy_problems(conn))
        problems.extend(self.storage_problems(repair=repair))
        return problems

    def storage_problems(self, *, repair: bool = False) -> list[str]:
        """The storage folder's problems, one line each (see :meth:`check_integrity`)."""
        from srkit.db.integrity import storage_problems

        return storage_problems(self, repair=repair)


def _prune(conn: Any, rows: Sequence[Any]) -> None:
    """Delete the series, studies and patients that ``rows`` leave empty."""
    from sqlalchemy import delete, exists, select

    for table, child, fk, pks in (
        (S.series, S.instance, "series_pk", {r.series_pk for r in rows}),
        (S.study, S.series, "study_pk", {r.study_pk for r in rows}),
        (S.patient, S.study, "patient_pk", {r.patient_pk for r in rows}),
    ):
        for chunk in chunks(sorted(pks)):
            empty = ~exists(select(child.c.pk).where(child.c[fk] == table.c.pk))
            conn.execute(delete(table).where(table.c.pk.in_(chunk), empty))


def _encode(ds: Dataset) -> bytes:
    """The Part 10 file bytes of a dataset (File Meta Information completed)."""
    from pydicom import dcmwrite
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    meta = getattr(ds, "file_meta", None)
    if meta is None:
        meta = ds.file_meta = FileMetaDataset()
    if "TransferSyntaxUID" not in meta:
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
    check_uid(str(getattr(ds, "SOPClassUID", "") or ""), "SOP Class UID")
    buf = io.BytesIO()
    try:
        dcmwrite(buf, ds, enforce_file_format=True)
    except Exception as exc:
        raise SrkitError(f"cannot encode the dataset ({type(exc).__name__}: {exc})") from None
    return buf.getvalue()


__all__ += ["LEVELS"]
