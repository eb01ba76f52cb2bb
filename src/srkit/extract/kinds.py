"""What one batch of inputs becomes (runs in worker processes): each file read once,
up to the bytes its rows need, into the rows of the dataset's tables, and what became
of it (``ok``, ``skipped``, ``error`` with the stage and reason).

A file that is not DICOM is an error when the user named it (a path, a glob match, a
manifest line, a URL) or when its name ends ``.dcm``; a DICOM file of another SOP
class is an error when named. Found while walking a folder, either is skipped. A damaged SR (truncated content tree) is an error
whose rows read before the damage are kept (as ``srkit measurements`` does).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from srkit.errors import NotDicomError, NotStructuredReportError, SrkitError, SrkitWarning
from srkit.extract.dataset import Batch, FileOutcome, Item

__all__ = [
    "KINDS",
    "Job",
    "open_source",
    "process_file",
    "run_batch",
    "run_batch_into",
    "tables_of",
]

KINDS = ("quantitative", "qualitative", "dose", "instances")
COLUMNS = ("srkit", "idc")


@dataclass(frozen=True, slots=True)
class Job:
    """What to extract: ``kind`` (:data:`KINDS`), ``columns`` (``srkit``, or ``idc``
    for the measurement kinds), the codec's read ``policy`` and fsspec
    ``storage_options`` for URLs (``(key, value)`` pairs)."""

    kind: str
    columns: str = "srkit"
    policy: str = "tolerant"
    storage_options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SrkitError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.columns not in COLUMNS:
            raise SrkitError(f"columns must be srkit or idc, not {self.columns!r}")
        if self.columns == "idc" and self.kind not in ("quantitative", "qualitative"):
            raise SrkitError("--columns idc goes with the measurement kinds")


def _specs(job: Job) -> dict[str, Any]:
    """Table name -> srkit :class:`~srkit.tables.write.Schema` or Arrow schema."""
    if job.kind in ("quantitative", "qualitative") and job.columns == "idc":
        from srkit.extract.idc import idc_schema

        name = f"{job.kind}_measurements"
        return {name: idc_schema(job.kind)}
    if job.kind == "quantitative":
        from srkit.tables.schemas import MEASUREMENTS

        return {"measurements": MEASUREMENTS}
    if job.kind == "qualitative":
        from srkit.tables.schemas import QUALITATIVE

        return {"qualitative": QUALITATIVE}
    if job.kind == "dose":
        from srkit.extract.dose_rows import DOSE_EVENTS, DOSE_REPORTS

        return {"dose_reports": DOSE_REPORTS, "dose_events": DOSE_EVENTS}
    from srkit.extract.instances import INSTANCES

    return {"instances": INSTANCES}


def to_table(spec: Any, rows: Sequence[Mapping[str, Any]]) -> Any:
    """An Arrow table of ``rows`` in the table's fixed schema."""
    import pyarrow as pa

    from srkit.tables.write import Schema, finite, to_arrow

    clean = [finite(dict(r)) for r in rows]
    if isinstance(spec, Schema):
        return to_arrow(clean, spec)
    return pa.Table.from_pylist(clean, schema=spec)


def tables_of(job: Job) -> dict[str, Any]:
    """Table name -> Arrow schema of the tables ``job`` writes."""
    return {name: to_table(spec, []).schema for name, spec in _specs(job).items()}


def is_url(path: str) -> bool:
    """Whether ``path`` is a URL fsspec opens (``s3://``, ``gs://``, ``http(s)://`` ...)."""
    head, sep, _ = path.partition("://")
    return bool(sep) and head.isalnum() and len(head) > 1 and head != "file"


def storage_options(path: str, given: tuple[tuple[str, Any], ...] = ()) -> dict[str, Any]:
    """fsspec options for ``path``: those given, else anonymous access for public
    buckets (``s3://``, ``gs://``)."""
    opts = dict(given)
    scheme = path.partition("://")[0]
    if scheme in ("s3", "s3a") and "anon" not in opts and "key" not in opts:
        opts["anon"] = True
    if scheme in ("gs", "gcs") and "token" not in opts:
        opts["token"] = "anon"
    return opts


def open_source(path: str, options: tuple[tuple[str, Any], ...] = ()) -> Any:
    """A binary file of a local path or URL. Remote files are read in 256 KiB blocks on
    demand, so a reader that stops early fetches only what it read."""
    if not is_url(path):
        return open(path.removeprefix("file://"), "rb")
    from fsspec.core import url_to_fs

    fs, inner = url_to_fs(path, **storage_options(path, options))
    return fs.open(inner, "rb", block_size=2**18)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SrkitError):
        return exc.message if hasattr(exc, "message") else str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, FileNotFoundError):
        return "No such file or directory"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _claimed(item: Item) -> bool:
    return item.named or item.path.lower().endswith(".dcm")


def _read_sr(fh: Any, job: Job, item: Item) -> tuple[Any, Any]:
    """The loaded file and its document; raises NotStructuredReportError for other classes."""
    from srkit.codec import load, prune_children, read_loaded
    from srkit.codec.sopclass import is_sr_sop_class

    loaded = load(fh, stop_before_pixels=True)
    sop_class = str(loaded.dataset.get("SOPClassUID", "") or "")
    if not is_sr_sop_class(sop_class):
        raise NotStructuredReportError(
            f"not an SR document (SOP Class UID {sop_class or 'missing'})"
        )
    if job.kind in ("quantitative", "qualitative"):
        # the rows never use the Image Library (TID 1600): not decoded
        prune_children(loaded, frozenset({("111028", "DCM")}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SrkitWarning)
        doc = read_loaded(loaded, policy=job.policy)
    return loaded, doc


def _rows(
    job: Job, fh: Any, item: Item
) -> tuple[dict[str, list[dict[str, Any]]], list[Any], str | None]:
    """Rows by table, errors ``(stage, reason, codes)``, and a reason to skip."""
    if job.kind == "instances":
        from pydicom.errors import InvalidDicomError

        from srkit.extract.instances import instance_row, read_header

        try:
            ds = read_header(fh)
        except InvalidDicomError:
            raise NotDicomError("not a DICOM file (no DICM prefix)") from None
        if "SOPInstanceUID" not in ds:
            raise NotDicomError("no SOP Instance UID: not a DICOM instance")
        return {"instances": [instance_row(ds)]}, [], None
    from srkit.codec import damage
    from srkit.diagnostics import Severity

    loaded, doc = _read_sr(fh, job, item)
    errors = []
    problem = damage(doc)
    if problem is not None:
        codes = tuple(d.code for d in doc.diagnostics if d.severity is Severity.ERROR and d.code)
        errors.append(("content", f"{problem.message} (rows read before it are kept)", codes))
    if job.kind == "dose":
        from srkit.extract.dose_rows import dose_tables
        from srkit.templates.dose import dose_report

        dose = dose_report(doc)
        if dose is None:
            return {}, errors, "not a radiation dose report"
        return dose_tables(dose), errors, None
    from srkit.templates.tid1500 import is_measurement_report, report_rows

    if not is_measurement_report(doc):
        return {}, errors, "not a TID 1500 measurement report"
    rows, report = report_rows(doc, job.kind)
    if job.columns == "idc":
        from srkit.extract.idc import idc_rows

        patient = loaded.dataset.get("PatientID")
        patient_id = str(patient).strip() if patient not in (None, "") else None
        return (
            {f"{job.kind}_measurements": idc_rows(rows, report, patient_id, job.kind)},
            errors,
            None,
        )
    name = "measurements" if job.kind == "quantitative" else "qualitative"
    return {name: rows}, errors, None


def process_file(job: Job, item: Item) -> tuple[dict[str, list[dict[str, Any]]], FileOutcome]:
    """The rows of one input and its outcome; never raises for a bad file."""
    try:
        with open_source(item.path, job.storage_options) as fh:
            rows, errors, skip = _rows(job, fh, item)
    except NotStructuredReportError as exc:
        if not item.named:
            return {}, FileOutcome(item, "skipped")
        return {}, FileOutcome(item, "error", 0, (("content", _reason(exc), ()),))
    except NotDicomError as exc:
        if not _claimed(item):
            return {}, FileOutcome(item, "skipped")
        return {}, FileOutcome(item, "error", 0, (("read", _reason(exc), ()),))
    except SrkitError as exc:
        return {}, FileOutcome(item, "error", 0, (("read", _reason(exc), ()),))
    except (OSError, ValueError, EOFError, KeyError, TypeError, IndexError) as exc:
        # pydicom and fsspec word their failures as these; the file is named, the run goes on
        return {}, FileOutcome(item, "error", 0, (("read", _reason(exc), ()),))
    count = sum(len(r) for r in rows.values())
    status = "error" if errors else ("skipped" if skip else "ok")
    return rows, FileOutcome(item, status, count, tuple(errors))


def run_batch(job: Job, batch_id: str, items: tuple[Item, ...]) -> Batch:
    """Every input of a batch, as one :class:`Batch` of Arrow tables (a worker's task)."""
    from srkit.codec.gcpause import paused

    specs = _specs(job)
    collected: dict[str, list[dict[str, Any]]] = {name: [] for name in specs}
    outcomes = []
    # The collector is off for the batch, as for a read (srkit.codec.gcpause): its rows
    # stay alive till the batch's tables are built and form no cycles, while each
    # generation-2 collection their allocation triggers walks the whole heap (a Dask
    # worker's is larger): 25-40% of a batch's CPU time with it on.
    with paused():
        for item in items:
            rows, outcome = process_file(job, item)
            for name, table_rows in rows.items():
                collected[name].extend(table_rows)
            outcomes.append(outcome)
        tables = {name: to_table(spec, collected[name]) for name, spec in specs.items()}
    return Batch(batch_id=batch_id, tables=tables, outcomes=tuple(outcomes))


def run_batch_into(job: Job, root: str, batch_id: str, items: tuple[Item, ...]) -> Batch:
    """:func:`run_batch`, its data parts written by the worker straight into the
    dataset folder ``root`` (atomically, named by ``batch_id``, so a task run again
    after a worker died replaces them); returns the outcomes and row counts only."""
    from srkit.extract.dataset import write_parts

    return write_parts(root, run_batch(job, batch_id, items), tables_of(job))
