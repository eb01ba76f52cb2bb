"""What CT (TID 10011) and projection X-ray (TID 10001) dose reports share.

The report-level rows of both templates (procedure reported, TID 1002 device
observer, start and end of irradiation, scope of accumulation, source of dose
information) and the generic turning of a container into a record: every child
becomes a key (:func:`srkit.templates.concepts.concept_key`), numbers become floats
in the unit the template prescribes (:mod:`srkit.templates.units`), codes become code
objects, nested containers nested objects, repeated items lists, and the children of
a non-container item (HAS PROPERTIES, HAS CONCEPT MOD) keys beside it, as the
contract does for ``procedure_reported`` and ``has_intent``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from srkit.diagnostics import Diagnostic, Severity
from srkit.model.code import Code
from srkit.model.document import Document
from srkit.model.items import (
    CodeContentItem,
    CompositeContentItem,
    ContainerContentItem,
    ContentItem,
    DateTimeContentItem,
    ImageContentItem,
    NumContentItem,
    ReferenceContentItem,
    TextContentItem,
)
from srkit.templates import vendor
from srkit.templates.concepts import concept_key, meaning_differs, standard_meaning
from srkit.templates.context import read_observer_context
from srkit.templates.units import UnitError, convert, parse_ucum, prescribed_unit, standard_unit

__all__ = [
    "DoseReport",
    "RecordReader",
    "REPORT_KEYS",
    "OBSERVER_KEYS",
    "dt_to_iso",
    "iso_to_dt",
    "dcm",
    "unnormalised_value",
    "is_unnormalised",
    "ucum_scheme_misspelt",
    "UNIT_UNKNOWN",
    "UNIT_NOT_CONVERTIBLE",
    "UNIT_MISSING",
]


def dcm(value: str, meaning: str) -> Code:
    """A DCM code."""
    return Code.make(value, "DCM", meaning)


XRAY_DOSE_REPORT = dcm("113701", "X-Ray Radiation Dose Report")
PROCEDURE_REPORTED = dcm("121058", "Procedure reported")
START = dcm("113809", "Start of X-Ray Irradiation")
END = dcm("113810", "End of X-Ray Irradiation")
SCOPE = dcm("113705", "Scope of Accumulation")
SOURCE_OF_DOSE = dcm("113854", "Source of Dose Information")

OBSERVER_KEYS = (
    "observer_type",
    "device_observer_uid",
    "device_observer_name",
    "device_observer_manufacturer",
    "device_observer_model_name",
    "device_observer_serial_number",
    "device_observer_physical_location_during_observation",
)
"""Keys of the contract's ``observer`` object (TID 1002 / TID 1004)."""

REPORT_KEYS = (
    "sop_instance_uid",
    "study_instance_uid",
    "template",
    "manufacturer",
    "manufacturer_model_name",
    "station_name",
    "procedure_reported",
    "has_intent",
    "scope_of_accumulation",
    "start_of_xray_irradiation",
    "end_of_xray_irradiation",
    "source_of_dose_information",
    "observer",
    "accumulated",
    "events",
)
"""Keys of the contract's report object, in order."""

_DT = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,6})?([+-]\d{4})?$")
_ISO = re.compile(
    r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?:T(\d{2})(?::(\d{2}))?(?::(\d{2}))?(\.\d{1,6})?)?"
    r"(?:([+-])(\d{2}):(\d{2}))?$"
)


def dt_to_iso(value: str) -> str:
    """A DICOM DT (``20130611140817.965005``) as ISO 8601 (``2013-06-11T14:08:17.965005``).

    Partial values stay partial; a value that is not a DT is returned unchanged.
    """
    m = _DT.match(value.strip())
    if m is None:
        return value.strip()
    year, month, day, hour, minute, second, frac, offset = m.groups()
    out = year
    if month:
        out += f"-{month}"
    if day:
        out += f"-{day}"
    if hour:
        out += f"T{hour}"
        if minute:
            out += f":{minute}"
        if second:
            out += f":{second}"
        if frac:
            out += frac
    if offset:
        out += f"{offset[:3]}:{offset[3:]}"
    return out


def iso_to_dt(value: str) -> str:
    """Inverse of :func:`dt_to_iso`."""
    m = _ISO.match(value.strip())
    if m is None:
        return value
    year, month, day, hour, minute, second, frac, sign, oh, om = m.groups()
    out = "".join(p for p in (year, month, day, hour, minute, second) if p) + (frac or "")
    if sign:
        out += f"{sign}{oh}{om}"
    return out


class _Repair(NamedTuple):
    """A repair a record key is made with: the fix-up's name and the message."""

    fixup: str
    message: str


@lru_cache(maxsize=8192)
def _record_key(scheme: str, value: str, meaning: str) -> tuple[str, _Repair | None]:
    """The record key of the concept (``value``, ``scheme``, ``meaning``) and the repair
    it is keyed with, or None: private concepts of a maker's scheme get its prefix, a
    standard code written with another meaning keeps the standard's key. A report
    names the same few concepts thousands of times: worked out once."""
    code = Code.make(value, scheme, meaning)
    if scheme.startswith("99") and standard_meaning(code) is None:
        prefix = vendor.private_key_prefix(code)
        repair = None
        if prefix != "private":
            fixup = f"{prefix}_private_concepts"
            repair = _Repair(
                fixup=fixup if fixup in vendor.FIXUPS else "private_report_content",
                message=f"private concepts of {scheme} keyed with prefix '{prefix}_'",
            )
        return f"{prefix}_{concept_key(code)}", repair
    differs = meaning_differs(code)
    if differs is None:
        return concept_key(code), None
    return concept_key(code), _Repair(
        fixup="wrong_code_meaning",
        message=f"({value}, {scheme}) is written {meaning!r}; "
        f"the standard's meaning is {differs!r}",
    )


@dataclass(slots=True)
class DoseReport:
    """A radiation dose report read into the contract's record.

    Parameters
    ----------
    data : dict
        The contract's JSON object (see ``contract.md``, "Radiation dose").
    diagnostics : list of Diagnostic
        What the reader found wrong or repaired (fix-ups named).
    extra : dict
        Report-level items that the contract's object has no key for (a vendor's
        private containers, a device role written as observer context), keyed
        like the rest.
    """

    data: dict[str, Any]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def template(self) -> str:
        """``"10011"`` or ``"10001"``."""
        return str(self.data["template"])

    @property
    def events(self) -> list[dict[str, Any]]:
        """The irradiation events, in document order."""
        events: list[dict[str, Any]] = self.data["events"]
        return events

    @property
    def accumulated(self) -> list[dict[str, Any]]:
        """The accumulated dose containers (one per plane for TID 10001)."""
        accumulated: list[dict[str, Any]] = self.data["accumulated"]
        return accumulated

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object."""
        return self.data


class RecordReader:
    """Turns containers of a dose report into records, collecting diagnostics.

    Parameters
    ----------
    doc : Document
        The report (its manufacturer picks the vendor fix-ups tried first).
    list_keys : frozenset of str
        Keys that are always lists because their template rows repeat (1-n).
    template : str, optional
        ``"10001"`` or ``"10011"``: whose prescribed units numbers are converted to.
    strict_units : bool
        A number whose unit cannot be understood becomes ``None`` instead of being
        kept unnormalised.
    """

    def __init__(
        self,
        doc: Document,
        list_keys: frozenset[str],
        *,
        template: str | None = None,
        strict_units: bool = False,
    ) -> None:
        self.doc = doc
        self.list_keys = list_keys
        self.template = template
        self.strict_units = strict_units
        self.maker = vendor.maker_of(doc.equipment.manufacturer)
        self.diagnostics: list[Diagnostic] = []
        self._fixed: Counter[tuple[str, str, str]] = Counter()
        self._first: dict[tuple[str, str, str], str] = {}

    # -- diagnostics -------------------------------------------------------------
    def problem(
        self, path: str, severity: Severity, message: str, fixup: str | None = None
    ) -> None:
        """Record one diagnostic."""
        self.diagnostics.append(
            Diagnostic(path=path, severity=severity, message=message, fixup=fixup)
        )

    def repaired(self, path: str, fixup: str, message: str) -> None:
        """Count one repair; :meth:`finish` reports each kind once, with its count."""
        key = (fixup, message, "")
        self._fixed[key] += 1
        self._first.setdefault(key, path)

    def finish(self) -> list[Diagnostic]:
        """The diagnostics, repairs summarised (one per kind, first position, count)."""
        for key, count in self._fixed.items():
            fixup, message, _ = key
            times = f" ({count} items)" if count > 1 else ""
            self.problem(self._first[key], Severity.WARNING, f"{message}{times}", fixup)
        self._fixed.clear()
        return self.diagnostics

    # -- records -----------------------------------------------------------------
    def key(self, code: Code | None, path: str) -> str:
        """The record key of a concept name (standard meaning; private ones prefixed)."""
        if code is None:
            return "unnamed"
        key, repair = _record_key(code.scheme, code.value, code.meaning)
        if repair is not None:
            self.repaired(path, repair.fixup, repair.message)
        return key

    def record(self, container: ContentItem, path: str) -> dict[str, Any]:
        """Every child of ``container`` as a key of one record."""
        out: dict[str, Any] = {}
        self.add_children(out, container.children, path)
        return out

    def add_children(self, out: dict[str, Any], children: Iterable[ContentItem], path: str) -> None:
        """Add ``children`` (numbered from 1 under ``path``) to the record ``out``."""
        for n, child in enumerate(children, 1):
            self.add(out, child, f"{path}.{n}")

    def add(self, out: dict[str, Any], item: ContentItem, path: str) -> None:
        """Add one item (and, for a non-container, its children beside it) to ``out``."""
        if isinstance(item, ReferenceContentItem):
            return
        key = self.key(item.concept, path)
        if isinstance(item, ContainerContentItem):
            self.put(out, key, self.record(item, path))
            return
        self.put(out, key, self.value(item, path))
        self.add_children(out, item.children, path)

    def put(self, out: dict[str, Any], key: str, value: Any) -> None:
        """Set ``key``; list keys and repeated keys collect their values in a list."""
        if key in self.list_keys:
            out.setdefault(key, []).append(value)
        elif key in out:
            previous = out[key]
            if isinstance(previous, _Repeated):
                previous.append(value)
            else:
                out[key] = _Repeated([previous, value])
        else:
            out[key] = value

    def value(self, item: ContentItem, path: str) -> Any:
        """The JSON value of a non-container item."""
        if isinstance(item, NumContentItem):
            return self.number(item, path)
        if isinstance(item, CodeContentItem):
            return item.value.to_dict() if item.value is not None else None
        if isinstance(item, DateTimeContentItem):
            return dt_to_iso(item.value) if item.value else None
        if isinstance(item, TextContentItem) and not item.value:
            self.repaired(path, "empty_text_value", "TEXT items with an empty value read as null")
            return None
        if isinstance(item, ImageContentItem | CompositeContentItem):
            ref = item.referenced
            if ref is None:
                return None
            if not ref.sop_instance_uid:
                self.repaired(
                    path, "empty_image_reference", "references with an empty SOP Instance UID"
                )
            return {
                "sop_class_uid": ref.sop_class_uid or None,
                "sop_instance_uid": ref.sop_instance_uid or None,
            }
        value = getattr(item, "value", None)
        if isinstance(value, str):
            return value
        self.problem(path, Severity.INFO, f"{item.value_type} item not tabulated")
        return None

    def number(self, item: NumContentItem, path: str) -> float | dict[str, Any] | None:
        """The item's number in its prescribed unit.

        A number whose unit cannot be understood or converted keeps its value and
        original unit as :func:`unnormalised` (``{"value", "unit", "scheme",
        "normalised": false}``) with an ERROR diagnostic naming the item and the
        reason; with ``strict_units`` it becomes ``None`` instead.
        """
        value = item.value
        if value is None:
            return None
        concept = item.concept
        target = prescribed_unit(concept.scheme, concept.value, self.template) if concept else None
        if item.units is None:
            if target is not None and parse_ucum(target).dimensionless:
                return value
            expected = f"; expected {target}" if target else ""
            return self.unnormalised(
                value, None, path, UNIT_MISSING, f"{_name(concept)}: number without units{expected}"
            )
        if target is None:
            return value  # a concept without a prescribed unit keeps the vendor's
        unit = self.ucum(item.units, path)
        if unit is None:
            return self.unnormalised(
                value,
                item.units,
                path,
                UNIT_UNKNOWN,
                f"{_name(concept)}: unknown unit {item.units.value!r} "
                f"({item.units.scheme or 'no scheme'}); expected {target}",
            )
        try:
            return convert(value, unit, target)
        except UnitError:
            return self.unnormalised(
                value,
                item.units,
                path,
                UNIT_NOT_CONVERTIBLE,
                f"{_name(concept)}: unit {item.units.value!r} cannot be converted to {target}",
            )

    def unnormalised(
        self, value: float, units: Code | None, path: str, code: str, message: str
    ) -> dict[str, Any] | None:
        """Keep a number srkit could not bring to its template unit, and say so."""
        if self.strict_units:
            self.problem(path, Severity.ERROR, f"[{code}] {message}; null (--strict-units)")
            return None
        self.problem(
            path, Severity.ERROR, f"[{code}] {message}; kept in its own unit, not normalised"
        )
        return unnormalised_value(value, units)

    def ucum(self, units: Code, path: str) -> str | None:
        """The UCUM unit of a units code, vendor spellings repaired; ``None`` if unknown.

        A code whose value is valid UCUM under a misspelt, padded or missing scheme
        (``UCM``, ``"UCUM "``, empty) is read as UCUM by fix-up ``ucum_scheme_misspelt``.
        """
        text = standard_unit(units.value.strip())
        scheme = units.scheme or ""
        if scheme in ("UCUM", "UCUM4"):
            if _is_ucum(text):
                return text
        elif ucum_scheme_misspelt(scheme):
            for candidate in (text, standard_unit(units.meaning.strip())):
                if candidate and _is_ucum(candidate):
                    self.repaired(
                        path,
                        "ucum_scheme_misspelt",
                        f"unit {units.value!r} has coding scheme {scheme!r}, not UCUM; "
                        f"read as UCUM {candidate!r}",
                    )
                    return candidate
        found = vendor.unit_spelling(units, self.maker)
        if found is None:
            return None
        unit, fixup = found
        self.repaired(path, fixup, f"unit {units.value!r} is not UCUM; read as {unit!r}")
        return unit

    # -- report level --------------------------------------------------------------
    def report(
        self,
        template: str,
        accumulated: list[dict[str, Any]],
        events: list[dict[str, Any]],
        consumed: set[int],
    ) -> DoseReport:
        """The contract's report object with the report-level rows of the root."""
        doc = self.doc
        root = doc.root
        data: dict[str, Any] = dict.fromkeys(REPORT_KEYS)
        data.update(
            sop_instance_uid=doc.sop_instance_uid,
            study_instance_uid=doc.study.instance_uid or None,
            template=template,
            manufacturer=doc.equipment.manufacturer,
            manufacturer_model_name=doc.equipment.model_name,
            station_name=doc.equipment.station_name,
            accumulated=accumulated,
            events=events,
        )
        extra: dict[str, Any] = {}
        for n, child in enumerate(root.children, 1):
            if n in consumed or (child.relationship == "HAS OBS CONTEXT" and child.concept in _OBS):
                continue
            path = f"1.{n}"
            concept = child.concept
            if concept == PROCEDURE_REPORTED and isinstance(child, CodeContentItem):
                data["procedure_reported"] = self.value(child, path)
                intent: dict[str, Any] = {}
                self.add_children(intent, child.children, path)
                data["has_intent"] = intent.get("has_intent")
            elif concept in _ROOT_VALUES and data[_ROOT_VALUES[concept]] is None:
                data[_ROOT_VALUES[concept]] = self.value(child, path)
            else:
                self.add(extra, child, path)
        data["observer"] = self.observer(root.children)
        if extra:
            self.problem(
                "1",
                Severity.INFO,
                "report-level items outside the dose record kept in DoseReport.extra: "
                + ", ".join(sorted(extra)),
                "private_report_content" if any(k.startswith(_PRIVATE) for k in extra) else None,
            )
        return DoseReport(data=plain(data), diagnostics=self.finish(), extra=plain(extra))

    def observer(self, items: tuple[ContentItem, ...]) -> dict[str, Any]:
        """The device observer (TID 1004) of the report, as the contract's object."""
        observers = read_observer_context(items)
        chosen = next((o for o in observers if o.is_device), observers[0] if observers else None)
        out: dict[str, Any] = dict.fromkeys(OBSERVER_KEYS)
        if chosen is None:
            self.problem("1", Severity.WARNING, "no observer context (TID 1002) in the report")
            return out
        for key in OBSERVER_KEYS:
            value = getattr(chosen, key)
            out[key] = value.to_dict() if isinstance(value, Code) else value
        return out


_PRIVATE = (*(f"{p}_" for p in set(vendor.PRIVATE_SCHEME_PREFIXES.values())), "private_")

_ROOT_VALUES: dict[Code, str] = {
    START: "start_of_xray_irradiation",
    END: "end_of_xray_irradiation",
    SCOPE: "scope_of_accumulation",
    SOURCE_OF_DOSE: "source_of_dose_information",
}

_OBS = frozenset(
    dcm(v, "")
    for v in ("121005", "121012", "121013", "121014", "121015", "121016", "121017", "113876")
)


class _Repeated(list[Any]):
    """A list made from a key that repeats where the template has one row."""


def plain(value: Any) -> Any:
    """Repeated-value lists as plain lists, recursively. A dict is changed in place
    (the records are the extractor's own, just made): only lists are new."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)):
                value[key] = plain(item)  # an existing key: the dict keeps its size
        return value
    if isinstance(value, list):
        return [plain(item) if isinstance(item, (dict, list)) else item for item in value]
    return value


UNIT_UNKNOWN = "dose-unit-unknown"
"""Diagnostic code: a unit that is neither UCUM nor a known vendor spelling."""
UNIT_NOT_CONVERTIBLE = "dose-unit-not-convertible"
"""Diagnostic code: a UCUM unit of another dimension than the template's."""
UNIT_MISSING = "dose-unit-missing"
"""Diagnostic code: a number without units where the template prescribes one."""

_UCUM = "UCUM"


def ucum_scheme_misspelt(scheme: str) -> bool:
    """True for a scheme that meant UCUM: empty, padded, other case, one letter off."""
    text = scheme.strip().upper()
    if text in ("", _UCUM, "UCUM4"):
        return True
    if abs(len(text) - len(_UCUM)) > 1:
        return False
    # one edit (insertion, deletion or substitution) away from UCUM: UCM, UCUN, UCMU
    if len(text) == len(_UCUM):
        diff = sum(a != b for a, b in zip(text, _UCUM))
        swapped = any(
            text[:i] + text[i + 1] + text[i] + text[i + 2 :] == _UCUM for i in range(len(text) - 1)
        )
        return diff <= 1 or swapped
    short, long_ = sorted((text, _UCUM), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _is_ucum(text: str) -> bool:
    try:
        parse_ucum(text)
    except UnitError:
        return False
    return True


def unnormalised_value(value: float, units: Code | None) -> dict[str, Any]:
    """The record form of a number kept in its own unit: ``{"value": 12.5, "unit":
    "mGycm2", "scheme": "99X", "normalised": false}`` (``unit``/``scheme`` null when
    the item had no units)."""
    return {
        "value": value,
        "unit": units.value if units is not None else None,
        "scheme": units.scheme if units is not None else None,
        "normalised": False,
    }


def is_unnormalised(value: Any) -> bool:
    """True for a value in the form :func:`unnormalised_value` writes."""
    return isinstance(value, dict) and value.get("normalised") is False and "value" in value


def _name(code: Code | None) -> str:
    if code is None:
        return "unnamed item"
    return f"{code.meaning or code.value} ({code.value}, {code.scheme})"
