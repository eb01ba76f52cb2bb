"""Diagnostic reference levels: national ones from a user's file, local ones computed.

ICRP Publication 135 sets DRLs at the 75th percentile of the median doses of a
survey; a site's *local* DRL is the 75th percentile (and the typical value the median)
of its own exams per protocol. Here the statistics are computed over exams
(:mod:`srkit.dose.exams`) grouped by standard study name (vendor protocol name when
unmapped), body region and station, per quantity: total DLP (mGy.cm) and CTDIvol
(mGy) for CT, total DAP (Gy.m2) and Dose (RP) (Gy) for projection X-ray. Percentiles
interpolate linearly between order statistics (Hyndman-Fan type 7, what pandas'
``quantile`` and DuckDB's ``quantile_cont`` compute).

A national DRL file is CSV (header ``name,modality,ctdivol,dlp,dap,dose_rp,source``;
lines starting with ``#`` ignored; empty cells allowed) or TOML (an array of tables
``[[drl]]`` with the same keys). Units: CTDIvol mGy, DLP mGy.cm, DAP Gy.cm2 (as DRLs
are published; converted to the template unit Gy.m2), Dose (RP) Gy. ``srkit`` ships
an example, ``srkit/dose/examples/drl-example.toml``, whose numbers are placeholders.
"""

from __future__ import annotations

import csv
import math
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srkit.dose.exams import Exam
from srkit.dose.mapping import ProtocolMap, normalise_name
from srkit.errors import SrkitError

__all__ = [
    "QUANTITIES",
    "NationalDrl",
    "DrlTable",
    "quantile",
    "local_drls",
    "compare",
    "apply_mapping",
    "with_reference_levels",
]

QUANTITIES: dict[str, tuple[str, str]] = {
    "dlp": ("dlp_total", "mGy.cm"),
    "ctdivol": ("ctdivol", "mGy"),
    "dap": ("dap_total", "Gy.m2"),
    "dose_rp": ("dose_rp_total", "Gy"),
}
"""Quantity -> (Exam attribute, template unit)."""

GROUPS = ("name", "body_region", "station")
_GYCM2_TO_GYM2 = 1e-4


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of ``values``, linear between order statistics (type 7)."""
    if not values:
        raise ValueError("no values")
    data = sorted(values)
    h = (len(data) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(data) - 1)
    return float(data[lo] + (h - lo) * (data[hi] - data[lo]))


def apply_mapping(exams: Iterable[Exam], mapping: ProtocolMap | None) -> list[Exam]:
    """Set each exam's ``standard_name`` from ``mapping`` (in place; returns the list)."""
    out = list(exams)
    if mapping is not None:
        for exam in out:
            exam.standard_name = mapping.standard(exam.protocol)
    return out


def local_drls(exams: Iterable[Exam], by: Sequence[str] = GROUPS) -> list[dict[str, Any]]:
    """Median and 75th percentile of each quantity per group, with counts.

    Parameters
    ----------
    exams : iterable of Exam
    by : sequence of str
        Group keys among ``name`` (standard name, else protocol), ``protocol``,
        ``body_region``, ``station``, ``modality``; ``modality`` is always added.
    """
    keys = ["modality", *[k for k in by if k != "modality"]]
    for key in keys:
        if key not in ("name", "protocol", "body_region", "station", "modality"):
            raise SrkitError(f"cannot group DRLs by {key!r}")
    groups: dict[tuple[Any, ...], list[Exam]] = {}
    for exam in exams:
        groups.setdefault(tuple(getattr(exam, k) for k in keys), []).append(exam)
    rows = []
    for group, members in sorted(groups.items(), key=lambda kv: tuple(str(v) for v in kv[0])):
        row: dict[str, Any] = dict(zip(keys, group, strict=True))
        row["exams"] = len(members)
        for quantity, (attr, unit) in QUANTITIES.items():
            values = [v for e in members if (v := getattr(e, attr)) is not None]
            row[f"{quantity}_count"] = len(values)
            row[f"{quantity}_median"] = quantile(values, 0.5) if values else None
            row[f"{quantity}_p75"] = quantile(values, 0.75) if values else None
            row[f"{quantity}_unit"] = unit
        rows.append(row)
    return rows


@dataclass(frozen=True, slots=True)
class NationalDrl:
    """One national DRL entry, in template units (DAP in Gy.m2)."""

    name: str
    modality: str
    ctdivol: float | None = None
    dlp: float | None = None
    dap: float | None = None
    dose_rp: float | None = None
    source: str | None = None


def _number(value: Any, where: str, source: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SrkitError(f"{where}: {value!r} is not a number", source=source) from None
    if not math.isfinite(number) or number <= 0:
        raise SrkitError(f"{where}: {value!r} is not a positive number", source=source)
    return number


class DrlTable:
    """Reference levels by (modality, standard name): national entries, and local
    75th percentiles where no national entry exists."""

    def __init__(self, national: Iterable[NationalDrl] = (), local: Iterable[dict[str, Any]] = ()):
        self.national = {(d.modality.upper(), normalise_name(d.name)): d for d in national}
        self.local = {
            (str(r["modality"]).upper(), normalise_name(str(r["name"]))): r
            for r in local
            if r.get("name")
        }

    @classmethod
    def load(cls, path: str | Path) -> list[NationalDrl]:
        """National DRL entries of a CSV or TOML file (see the module docstring)."""
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise SrkitError(f"cannot read the DRL file: {exc}", source=source) from None
        if source.lower().endswith(".toml"):
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise SrkitError(f"not TOML: {exc}", source=source) from None
            rows = data.get("drl")
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise SrkitError("no [[drl]] tables", source=source)
        else:
            lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
            reader = csv.DictReader(lines)
            if not reader.fieldnames or not {"name", "modality"} <= set(reader.fieldnames):
                raise SrkitError(
                    "expected a header name,modality,ctdivol,dlp,dap,...", source=source
                )
            rows = list(reader)
        out = []
        for n, row in enumerate(rows, 1):
            name, modality = str(row.get("name") or "").strip(), str(row.get("modality") or "")
            if not name or not modality.strip():
                raise SrkitError(f"entry {n}: name and modality are required", source=source)
            dap = _number(row.get("dap"), f"entry {n} dap", source)
            out.append(
                NationalDrl(
                    name=name,
                    modality=modality.strip().upper(),
                    ctdivol=_number(row.get("ctdivol"), f"entry {n} ctdivol", source),
                    dlp=_number(row.get("dlp"), f"entry {n} dlp", source),
                    dap=dap * _GYCM2_TO_GYM2 if dap is not None else None,
                    dose_rp=_number(row.get("dose_rp"), f"entry {n} dose_rp", source),
                    source=str(row.get("source") or "").strip() or None,
                )
            )
        return out

    def level(self, exam: Exam, quantity: str) -> tuple[float | None, str | None]:
        """``(reference level, "national" | "local")`` of ``quantity`` for ``exam``."""
        if exam.name is None:
            return None, None
        key = (exam.modality.upper(), normalise_name(exam.name))
        entry = self.national.get(key)
        if entry is not None and getattr(entry, quantity) is not None:
            return getattr(entry, quantity), "national"
        local = self.local.get(key)
        if local is not None and local.get(f"{quantity}_p75") is not None:
            return float(local[f"{quantity}_p75"]), "local"
        return None, None


def compare(exam: Exam, table: DrlTable) -> dict[str, Any]:
    """The exam against its reference levels: ``drl_<q>``, ``<q>_ratio``, ``<q>_above``
    (``True`` above, ``False`` at or below) and ``drl_<q>_source`` per quantity."""
    out: dict[str, Any] = {}
    for quantity, (attr, _unit) in QUANTITIES.items():
        level, source = table.level(exam, quantity)
        value = getattr(exam, attr)
        if level is None:
            continue
        out[f"drl_{quantity}"] = level
        out[f"drl_{quantity}_source"] = source
        out[f"{quantity}_ratio"] = float(f"{value / level:.6g}") if value is not None else None
        out[f"{quantity}_above"] = value > level if value is not None else None
    return out


def with_reference_levels(
    db: Any,
    rows: list[dict[str, Any]],
    national: str | Path | None,
    mapping: str | Path | None,
    *,
    local: bool = False,
) -> list[dict[str, Any]]:
    """``srkit query dose`` rows (one per report) with each exam's protocol, standard
    name and :func:`compare` columns (national DRLs of ``national``; with ``local``,
    the local 75th percentile per standard name where there is no national one)."""
    from srkit.dose.exams import load_exams

    protocol_map = ProtocolMap.load(mapping) if mapping else None
    entries = DrlTable.load(national) if national else []
    exams = apply_mapping(load_exams(db), protocol_map)
    table = DrlTable(entries, local_drls(exams, by=("name",)) if local else ())
    by_uid = {e.sop_instance_uid: e for e in exams}
    out = []
    for row in rows:
        exam = by_uid.get(str(row.get("sop_instance_uid")))
        extra: dict[str, Any] = {}
        if exam is not None:
            extra = {"protocol": exam.protocol, "standard_name": exam.standard_name,
                     "body_region": exam.body_region, **compare(exam, table)}  # fmt: skip
        out.append({**row, **extra})
    return out
