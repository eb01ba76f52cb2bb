"""One measurement of a measurement group: TID 1419 "ROI Measurements" and its
TID 300 "Measurement" rows, with TID 4019 "Algorithm Identification".

See PS3.16 `TID 300 <https://dicom.nema.org/medical/dicom/current/output/chtml/part16/
sect_TID_300.html>`_ and TID 1419. A measurement is a ``NUM`` item; its children carry
the derivation, the measurement method, a finding site, the algorithm, derivation
parameters (``INFERRED FROM NUM``), measurement properties and, for planar ROIs written
by some tools, the region it was taken in (``INFERRED FROM SCOORD`` selected from an
image).
"""

from __future__ import annotations

from dataclasses import dataclass

from srkit.diagnostics import Diagnostic, Severity
from srkit.model.code import Code
from srkit.model.concepts import (
    ALGORITHM_NAME,
    ALGORITHM_PARAMETERS,
    ALGORITHM_VERSION,
    DERIVATION,
    FINDING_SITE,
    LATERALITY,
    MEASUREMENT_METHOD,
    POPULATION_DESCRIPTION,
    TOPOGRAPHICAL_MODIFIER,
    TRACKING_UNIQUE_IDENTIFIER,
)
from srkit.model.items import (
    CodeContentItem,
    ContentItem,
    ImageContentItem,
    NumContentItem,
    TextContentItem,
    UidRefContentItem,
)
from srkit.model.navigation import walk

__all__ = [
    "DERIVATION",
    "MEASUREMENT_METHOD",
    "FINDING_SITE",
    "LATERALITY",
    "TOPOGRAPHICAL_MODIFIER",
    "ALGORITHM_NAME",
    "ALGORITHM_VERSION",
    "ALGORITHM_PARAMETERS",
    "TRACKING_UNIQUE_IDENTIFIER",
    "POPULATION_DESCRIPTION",
    "AlgorithmIdentification",
    "NumericValue",
    "Measurement",
    "read_algorithm",
    "read_measurement",
    "source_images_under",
]


_MOD = "HAS CONCEPT MOD"


@dataclass(frozen=True, slots=True, kw_only=True)
class AlgorithmIdentification:
    """TID 4019 Algorithm Identification.

    Parameters
    ----------
    name : str
        Algorithm Name (111001, DCM).
    version : str
        Algorithm Version (111003, DCM).
    parameters : tuple of str
        Algorithm Parameters (111002, DCM), in order.
    """

    name: str
    version: str = ""
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class NumericValue:
    """A coded name with a number and units: a derivation parameter or a property.

    Parameters
    ----------
    name : Code
        The concept name.
    number : str or None
        The decimal string as stored.
    units : Code or None
        Measurement units.
    """

    name: Code
    number: str | None
    units: Code | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Measurement:
    """One quantitative measurement (TID 300 as used by TID 1419 and TID 1501).

    Parameters
    ----------
    quantity : Code or None
        The NUM item's concept name.
    number : str or None
        Numeric Value as stored (``None`` for an empty Measured Value Sequence).
    value : float or None
        The number as a float (the Floating Point Value when present).
    units : Code or None
        Measurement Units Code Sequence.
    qualifier : Code or None
        Numeric Value Qualifier (for a measurement without a number).
    derivation, measurement_method, finding_site, laterality : Code or None
        Concept modifiers on the measurement itself (TID 300 rows 2-4, TID 1419).
    modifiers : tuple of (Code, Code)
        Other coded concept modifiers (name, value), in order.
    algorithm : AlgorithmIdentification or None
        TID 4019 on the measurement.
    derivation_parameters : tuple of NumericValue
        ``INFERRED FROM`` NUM items (TID 300 row 12).
    population_description : str or None
        Population description (121405, DCM).
    properties : tuple of NumericValue
        ``HAS PROPERTIES`` NUM items.
    coded_properties : tuple of (Code, Code)
        ``HAS PROPERTIES`` CODE items (normality, level of significance, ...).
    tracking_unique_identifier : str or None
        A UID identifying the measurement itself.
    source_sop_instance_uids : tuple of str
        Images the measurement was inferred from (below the NUM item).
    path : str
        Position id of the NUM item.
    """

    quantity: Code | None
    number: str | None
    value: float | None
    units: Code | None
    qualifier: Code | None = None
    derivation: Code | None = None
    measurement_method: Code | None = None
    finding_site: Code | None = None
    laterality: Code | None = None
    modifiers: tuple[tuple[Code, Code], ...] = ()
    algorithm: AlgorithmIdentification | None = None
    derivation_parameters: tuple[NumericValue, ...] = ()
    population_description: str | None = None
    properties: tuple[NumericValue, ...] = ()
    coded_properties: tuple[tuple[Code, Code], ...] = ()
    tracking_unique_identifier: str | None = None
    source_sop_instance_uids: tuple[str, ...] = ()
    path: str = ""


def read_algorithm(items: tuple[ContentItem, ...]) -> AlgorithmIdentification | None:
    """TID 4019 among ``items`` (concept modifiers of a group or a measurement).

    Parameters
    ----------
    items : tuple of ContentItem
        The children of a measurement group or a NUM item.
    """
    name: str | None = None
    version = ""
    params: list[str] = []
    for item in items:
        if not isinstance(item, TextContentItem) or item.concept is None:
            continue
        if item.concept == ALGORITHM_NAME:
            name = item.value
        elif item.concept == ALGORITHM_VERSION:
            version = item.value
        elif item.concept == ALGORITHM_PARAMETERS:
            params.append(item.value)
    if name is None:
        return None
    return AlgorithmIdentification(name=name, version=version, parameters=tuple(params))


def source_images_under(item: ContentItem) -> tuple[str, ...]:
    """SOP Instance UIDs of every IMAGE below ``item`` (not ``item`` itself), in order."""
    out: list[str] = []
    for pos in walk(item):
        if pos.item is item:
            continue
        found = pos.item
        if isinstance(found, ImageContentItem) and found.referenced is not None:
            uid = found.referenced.sop_instance_uid
            if uid not in out:
                out.append(uid)
    return tuple(out)


class _Acc:
    """Mutable collector of a NUM item's children while reading."""

    def __init__(self) -> None:
        self.fields: dict[str, object] = {}
        self.modifiers: list[tuple[Code, Code]] = []
        self.derivation_parameters: list[NumericValue] = []
        self.properties: list[NumericValue] = []
        self.coded_properties: list[tuple[Code, Code]] = []

    def modifier(self, item: CodeContentItem) -> None:
        concept = item.concept
        if concept is None or item.value is None:
            return
        if concept == DERIVATION:
            self.fields["derivation"] = item.value
        elif concept == MEASUREMENT_METHOD:
            self.fields["measurement_method"] = item.value
        elif concept == FINDING_SITE:
            self.fields["finding_site"] = item.value
            for child in item.children:
                if isinstance(child, CodeContentItem) and child.concept == LATERALITY:
                    self.fields["laterality"] = child.value
        elif concept == LATERALITY:
            self.fields["laterality"] = item.value
        else:
            self.modifiers.append((concept, item.value))

    def child(self, item: ContentItem) -> None:
        rel = item.relationship
        if rel == _MOD and isinstance(item, CodeContentItem):
            self.modifier(item)
        elif isinstance(item, NumContentItem) and item.concept is not None:
            value = NumericValue(name=item.concept, number=item.number, units=item.units)
            if rel == "INFERRED FROM":
                self.derivation_parameters.append(value)
            elif rel == "HAS PROPERTIES":
                self.properties.append(value)
        elif rel == "HAS PROPERTIES" and isinstance(item, CodeContentItem):
            if item.concept is not None and item.value is not None:
                self.coded_properties.append((item.concept, item.value))
        elif isinstance(item, TextContentItem) and item.concept == POPULATION_DESCRIPTION:
            self.fields["population_description"] = item.value
        elif isinstance(item, UidRefContentItem) and item.concept == TRACKING_UNIQUE_IDENTIFIER:
            self.fields["tracking_unique_identifier"] = item.value


def read_measurement(item: NumContentItem, path: str, diagnostics: list[Diagnostic]) -> Measurement:
    """Read one NUM item of a measurement group (TID 300 / TID 1419).

    Parameters
    ----------
    item : NumContentItem
        The measurement.
    path : str
        Its position id, for diagnostics.
    diagnostics : list of Diagnostic
        Problems are appended here (a missing concept name or units).

    Returns
    -------
    Measurement
        The record; problems never stop it from being built.
    """
    if item.concept is None:
        diagnostics.append(
            Diagnostic(path=path, severity=Severity.ERROR, message="NUM has no concept name")
        )
    if item.number is not None and item.units is None:
        diagnostics.append(
            Diagnostic(
                path=path,
                severity=Severity.ERROR,
                message="NUM has a value but no Measurement Units Code Sequence (TID 300 row 1)",
            )
        )
    acc = _Acc()
    for child in item.children:
        acc.child(child)
    return Measurement(
        quantity=item.concept,
        number=item.number,
        value=item.value,
        units=item.units,
        qualifier=item.qualifier,
        algorithm=read_algorithm(item.children),
        source_sop_instance_uids=source_images_under(item),
        modifiers=tuple(acc.modifiers),
        derivation_parameters=tuple(acc.derivation_parameters),
        properties=tuple(acc.properties),
        coded_properties=tuple(acc.coded_properties),
        path=path,
        **acc.fields,  # type: ignore[arg-type]
    )
