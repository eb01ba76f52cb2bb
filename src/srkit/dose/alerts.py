"""Dose alerts: per exam, cumulative per patient, and the scanner's CT Dose Check.

Each alert has a stable code:

- ``exam-dap`` / ``exam-dose-rp``: a projection X-ray (fluoroscopy) exam whose total
  DAP or Dose (RP) is above the threshold (defaults 20,000 cGy.cm2 = 0.02 Gy.m2 and
  2 Gy, the levels the field uses for fluoroscopically guided procedures);
- ``cumulative-dap`` / ``cumulative-dose-rp``: the patient's projection X-ray exams
  dated within the window ending on this exam's date (default 84 days, both ends
  included, same-day exams all counted) sum above the same thresholds, the window
  holding more than this one exam (one exam alone is an ``exam-*`` alert);
- ``ct-dlp-drl`` / ``ct-ctdivol-drl``: a CT exam above ``ct_drl_factor`` times its
  reference level (national DRL of its standard name, else the local 75th percentile,
  :mod:`srkit.dose.drl`);
- ``ct-dose-check-alert`` / ``ct-dose-check-notification``: the scanner recorded a
  Dose Check Alert or Notification (PS3.16 TID 10015, NEMA XR 25) whose forward
  estimate exceeded the configured value, or a reason for proceeding; the alert carries
  the configured values, forward estimates, reason and person the report holds.

"Above" is strictly greater. Thresholds come from :class:`AlertConfig` (a TOML file:
``[alerts]`` with ``dap_cgycm2``, ``dose_rp_gy``, ``window_days``, ``ct_drl_factor``,
``drl`` and ``mapping`` paths; ``$SRKIT_DOSE_ALERTS`` names the file the import and
C-STORE hooks read).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from srkit.dose.drl import DrlTable, apply_mapping, local_drls
from srkit.dose.exams import Exam, load_exams
from srkit.dose.mapping import ProtocolMap
from srkit.errors import SrkitError

__all__ = ["AlertConfig", "Alert", "evaluate", "evaluate_new", "after_store", "format_alert"]

LOGGER = logging.getLogger("srkit.dose.alerts")

_CGYCM2_TO_GYM2 = 1e-6


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """Alert thresholds, in template units (DAP Gy.m2, Dose (RP) Gy)."""

    dap: float = 20000 * _CGYCM2_TO_GYM2
    dose_rp: float = 2.0
    window_days: int = 84
    ct_drl_factor: float = 1.0
    national: tuple[Any, ...] = ()
    mapping: ProtocolMap | None = None
    local_drl: bool = True

    @classmethod
    def load(cls, path: str | Path) -> AlertConfig:
        """A configuration from a TOML file (see the module docstring)."""
        from srkit.dose.drl import DrlTable as _Table

        source = str(path)
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise SrkitError(f"cannot read the alert configuration: {exc}", source=source) from None
        except tomllib.TOMLDecodeError as exc:
            raise SrkitError(f"not TOML: {exc}", source=source) from None
        table = data.get("alerts")
        if not isinstance(table, dict):
            raise SrkitError("no [alerts] table", source=source)
        known = {"dap_cgycm2", "dose_rp_gy", "window_days", "ct_drl_factor", "drl", "mapping"}
        unknown = set(table) - known
        if unknown:
            raise SrkitError(f"unknown keys {', '.join(sorted(unknown))}", source=source)
        config = cls()
        try:
            if "dap_cgycm2" in table:
                config = replace(config, dap=float(table["dap_cgycm2"]) * _CGYCM2_TO_GYM2)
            if "dose_rp_gy" in table:
                config = replace(config, dose_rp=float(table["dose_rp_gy"]))
            if "window_days" in table:
                config = replace(config, window_days=int(table["window_days"]))
            if "ct_drl_factor" in table:
                config = replace(config, ct_drl_factor=float(table["ct_drl_factor"]))
        except (TypeError, ValueError) as exc:
            raise SrkitError(f"bad threshold: {exc}", source=source) from None
        base = Path(path).parent
        if "drl" in table:
            config = replace(config, national=tuple(_Table.load(base / str(table["drl"]))))
        if "mapping" in table:
            config = replace(config, mapping=ProtocolMap.load(base / str(table["mapping"])))
        return config

    @classmethod
    def from_environment(cls) -> AlertConfig:
        """The file ``$SRKIT_DOSE_ALERTS`` names, else the defaults."""
        path = os.environ.get("SRKIT_DOSE_ALERTS")
        return cls.load(path) if path else cls()


@dataclass(slots=True)
class Alert:
    """One alert on one exam."""

    code: str
    sop_instance_uid: str
    patient_id: str | None
    date: str | None
    modality: str
    station: str | None
    protocol: str | None
    quantity: str
    value: float | None
    threshold: float | None
    unit: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (JSON, CSV)."""
        return {
            "code": self.code,
            "sop_instance_uid": self.sop_instance_uid,
            "patient_id": self.patient_id,
            "date": self.date,
            "modality": self.modality,
            "station": self.station,
            "protocol": self.protocol,
            "quantity": self.quantity,
            "value": self.value,
            "threshold": self.threshold,
            "unit": self.unit,
            "reason": self.reason,
            "details": self.details or None,
        }


def _alert(exam: Exam, code: str, quantity: str, value: float | None, threshold: float | None,
           unit: str, reason: str, details: dict[str, Any] | None = None) -> Alert:  # fmt: skip
    return Alert(
        code=code,
        sop_instance_uid=exam.sop_instance_uid,
        patient_id=exam.patient_id,
        date=exam.date,
        modality=exam.modality,
        station=exam.station,
        protocol=exam.protocol,
        quantity=quantity,
        value=value,
        threshold=threshold,
        unit=unit,
        reason=reason,
        details=details or {},
    )


def _per_exam(exam: Exam, config: AlertConfig) -> list[Alert]:
    out: list[Alert] = []
    if exam.modality == "CT":
        return out
    if exam.dap_total is not None and exam.dap_total > config.dap:
        out.append(_alert(exam, "exam-dap", "dap", exam.dap_total, config.dap, "Gy.m2",
                          "total DAP of the exam above the threshold"))  # fmt: skip
    if exam.dose_rp_total is not None and exam.dose_rp_total > config.dose_rp:
        out.append(_alert(exam, "exam-dose-rp", "dose_rp", exam.dose_rp_total, config.dose_rp,
                          "Gy", "total Dose (RP) of the exam above the threshold"))  # fmt: skip
    return out


def _day(exam: Exam) -> dt.date | None:
    return dt.date.fromisoformat(exam.date) if exam.date else None


def _cumulative(exams: list[Exam], config: AlertConfig, targets: set[str] | None) -> list[Alert]:
    by_patient: dict[str, list[tuple[dt.date, Exam]]] = {}
    for exam in exams:
        day = _day(exam)
        if exam.modality != "CT" and exam.patient_id and day is not None:
            by_patient.setdefault(exam.patient_id, []).append((day, exam))
    out = []
    span = dt.timedelta(days=config.window_days - 1)
    for items in by_patient.values():
        for day, exam in items:
            if targets is not None and exam.sop_instance_uid not in targets:
                continue
            window = [e for d, e in items if day - span <= d <= day]
            for code, quantity, attr, threshold, unit in (
                ("cumulative-dap", "dap", "dap_total", config.dap, "Gy.m2"),
                ("cumulative-dose-rp", "dose_rp", "dose_rp_total", config.dose_rp, "Gy"),
            ):
                values = [v for e in window if (v := getattr(e, attr)) is not None]
                total = float(f"{sum(values):.15g}")
                if len(values) > 1 and total > threshold:
                    out.append(_alert(
                        exam, code, quantity, total, threshold, unit,
                        f"{len(values)} exams of the patient within {config.window_days} days "
                        "sum above the threshold",
                        {"exams_in_window": [e.sop_instance_uid for e in window]},
                    ))  # fmt: skip
    return out


def _ct_drl(exam: Exam, table: DrlTable, config: AlertConfig) -> list[Alert]:
    out: list[Alert] = []
    if exam.modality != "CT":
        return out
    for code, quantity, attr, unit in (
        ("ct-dlp-drl", "dlp", "dlp_total", "mGy.cm"),
        ("ct-ctdivol-drl", "ctdivol", "ctdivol", "mGy"),
    ):
        level, source = table.level(exam, quantity)
        value = getattr(exam, attr)
        if level is None or value is None:
            continue
        threshold = level * config.ct_drl_factor
        if value > threshold:
            out.append(_alert(
                exam, code, quantity, value, threshold, unit,
                f"above {config.ct_drl_factor:g} x the {source} DRL of {exam.name!r}",
                {"drl": level, "drl_source": source},
            ))  # fmt: skip
    return out


def _exceeded(details: Mapping[str, Any], kind: str) -> bool:
    pairs = (
        ("dlp_alert_value", "accumulated_dlp_forward_estimate"),
        ("ctdivol_alert_value", "accumulated_ctdivol_forward_estimate"),
    ) if kind == "alert" else (
        ("dlp_notification_value", "dlp_forward_estimate"),
        ("ctdivol_notification_value", "ctdivol_forward_estimate"),
    )  # fmt: skip
    for limit_key, estimate_key in pairs:
        limit, estimate = details.get(limit_key), details.get(estimate_key)
        if isinstance(limit, float) and isinstance(estimate, float) and estimate > limit:
            return True
    return bool(details.get("reason_for_proceeding"))


def _dose_check(exam: Exam) -> list[Alert]:
    out = []
    for check in exam.dose_checks:
        kind = check["kind"]
        if not _exceeded(check, kind):
            continue
        is_alert = kind == "alert"
        value_key = "accumulated_dlp_forward_estimate" if is_alert else "dlp_forward_estimate"
        limit_key = "dlp_alert_value" if is_alert else "dlp_notification_value"
        value, limit = check.get(value_key), check.get(limit_key)
        reason = check.get("reason_for_proceeding")
        details = {k: v for k, v in check.items() if k != "kind"}
        out.append(_alert(
            exam, f"ct-dose-check-{kind}", "dlp",
            value if isinstance(value, float) else None,
            limit if isinstance(limit, float) else None, "mGy.cm",
            f"scanner Dose Check {kind} (TID 10015), event {check['event_number']}"
            + (f": reason for proceeding {reason!r}" if reason else ""),
            details,
        ))  # fmt: skip
    return out


def evaluate(
    exams: Iterable[Exam],
    config: AlertConfig | None = None,
    *,
    targets: Iterable[str] | None = None,
    table: DrlTable | None = None,
) -> list[Alert]:
    """Every alert of ``exams`` (or only of the exams whose SOP Instance UID is in
    ``targets``; the others count for the cumulative sums and local DRLs).

    ``table`` defaults to the configuration's national DRLs plus local 75th
    percentiles of ``exams`` (when ``config.local_drl``).
    """
    config = config or AlertConfig()
    exams = apply_mapping(exams, config.mapping)
    wanted = set(targets) if targets is not None else None
    if table is None:
        local = local_drls([e for e in exams if e.modality == "CT"], by=("name",))
        table = DrlTable(config.national, local if config.local_drl else ())
    out: list[Alert] = []
    for exam in exams:
        if wanted is not None and exam.sop_instance_uid not in wanted:
            continue
        out += _per_exam(exam, config)
        out += _ct_drl(exam, table, config)
        out += _dose_check(exam)
    out += _cumulative(exams, config, wanted)
    order = {e.sop_instance_uid: n for n, e in enumerate(exams)}
    out.sort(key=lambda a: (order.get(a.sop_instance_uid, 0), a.code))
    return out


def evaluate_new(
    db: Any, sop_instance_uids: Iterable[str], config: AlertConfig | None = None
) -> list[Alert]:
    """Alerts of newly indexed instances (the import and C-STORE hooks call this).

    Only dose reports among ``sop_instance_uids`` are evaluated; the patients' other
    exams count for the cumulative sums. CT exams are compared with national DRLs
    only (``config.national``), not with local percentiles, so that the hook does not
    read the whole archive.
    """
    config = config or AlertConfig.from_environment()
    new = load_exams(db, sop_instance_uids=sop_instance_uids, cached=True)
    if not new:
        return []
    patients = sorted({e.patient_id for e in new if e.patient_id})
    context = load_exams(db, patient_ids=patients, cached=True) if patients else []
    seen = {e.sop_instance_uid for e in context}
    exams = context + [e for e in new if e.sop_instance_uid not in seen]
    return evaluate(
        exams,
        replace(config, local_drl=False),
        targets=[e.sop_instance_uid for e in new],
    )


def format_alert(alert: Alert) -> str:
    """One line for a log or a terminal."""
    value = f"{alert.value:g}" if alert.value is not None else "?"
    limit = f" > {alert.threshold:g}" if alert.threshold is not None else ""
    return (
        f"dose alert [{alert.code}] {alert.sop_instance_uid} patient {alert.patient_id}: "
        f"{alert.quantity} {value}{limit} {alert.unit} ({alert.reason}; "
        f"station {alert.station}, {alert.date})"
    )


def after_store(db: Any, rec: Mapping[str, Any]) -> list[Alert]:
    """The C-STORE hook: log the alerts of a just stored instance if it is a dose
    report (``rec`` is the parsed record :meth:`Database.store_record` indexed).

    Never raises: a failure is logged, the store has succeeded already.
    """
    sr = rec.get("sr")
    if not isinstance(sr, Mapping) or not sr.get("dose"):
        return []
    uid = str(rec["instance"]["sop_instance_uid"])
    try:
        alerts = evaluate_new(db, [uid])
    except Exception:  # the hook must not turn a stored instance into a failure
        LOGGER.exception("dose alerts of %s not evaluated", uid)
        return []
    for alert in alerts:
        LOGGER.warning("%s", format_alert(alert))
    return alerts
