"""Write documents back to pydicom Datasets, files and DICOM JSON (PS3.18 F.2).

Writing is lossless for what the reader kept: attributes the model does not name
(``Document.header`` and each item's ``extra``) are laid under the modelled ones,
and a header attribute whose modelled value did not change is copied as read.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from srkit.atomic import replace_atomically
from srkit.codec import tags as T
from srkit.codec.fastparse import LightDataset
from srkit.codec.header import read_references
from srkit.codec.policy import ReadPolicy
from srkit.codec.reader import read_dataset
from srkit.codec.values import elements, python_encoding, value_reader
from srkit.errors import SrkitError
from srkit.model.code import Code, CodeValueKind
from srkit.model.document import Document, StudyReference, VerifyingObserver
from srkit.model.items import (
    CodeContentItem,
    CompositeContentItem,
    ContainerContentItem,
    ContentItem,
    DateContentItem,
    DateTimeContentItem,
    ImageContentItem,
    NumContentItem,
    PNameContentItem,
    ReferenceContentItem,
    Scoord3DContentItem,
    ScoordContentItem,
    SopReference,
    TableContentItem,
    TcoordContentItem,
    TextContentItem,
    TimeContentItem,
    UidRefContentItem,
    UnknownContentItem,
    WaveformContentItem,
)

if TYPE_CHECKING:
    from srkit.codec.values import ValueReader

__all__ = ["to_dataset", "write", "to_json", "from_json", "code_dataset"]

_KEEP_TS = {ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian}


def _underlay(extra: object | None, skip: frozenset[int]) -> Dataset:
    """A new dataset holding the kept attributes of ``extra`` (a pydicom or light item)."""
    ds = Dataset()
    if isinstance(extra, Dataset | LightDataset):
        for tag in list(elements(extra)):
            if tag not in skip:
                ds.add(extra[tag])
    return ds


def code_dataset(code: Code) -> Dataset:
    """One item of a code sequence."""
    ds = _underlay(code.extra, T.CODE_TAGS)
    if code.kind is CodeValueKind.LONG:
        ds.add_new(T.LONG_CODE_VALUE, "UC", code.value)
    elif code.kind is CodeValueKind.URN:
        ds.add_new(T.URN_CODE_VALUE, "UR", code.value)
    else:
        ds.add_new(T.CODE_VALUE, "SH", code.value)
    ds.add_new(T.CODING_SCHEME_DESIGNATOR, "SH", code.scheme)
    if code.scheme_version is not None:
        ds.add_new(T.CODING_SCHEME_VERSION, "SH", code.scheme_version)
    ds.add_new(T.CODE_MEANING, "LO", code.meaning)
    return ds


def _code_seq(ds: Dataset, tag: int, code: Code | None) -> None:
    ds.add_new(tag, "SQ", Sequence([code_dataset(code)] if code is not None else []))


def _first_item(extra: object | None, tag: int) -> Dataset | None:
    if isinstance(extra, Dataset | LightDataset) and tag in elements(extra):
        seq = extra[tag].value
        if seq and isinstance(seq[0], Dataset):
            return seq[0]
    return None


def _sop_item(ref: SopReference | None, underlay: Dataset | None) -> Dataset:
    ds = _underlay(underlay, T.REF_SOP_TAGS)
    if ref is not None:
        ds.add_new(T.REFERENCED_SOP_CLASS_UID, "UI", ref.sop_class_uid)
        ds.add_new(T.REFERENCED_SOP_INSTANCE_UID, "UI", ref.sop_instance_uid)
    return ds


def _ref_seq(ds: Dataset, item: ContentItem, ref: SopReference | None) -> Dataset:
    underlay = _first_item(item.extra, T.REFERENCED_SOP_SEQUENCE)
    sop = _sop_item(ref, underlay)
    ds.add_new(T.REFERENCED_SOP_SEQUENCE, "SQ", Sequence([sop]))
    return sop


def _set_value(ds: Dataset, item: ContentItem) -> None:
    if isinstance(item, ContainerContentItem):
        ds.add_new(T.CONTINUITY_OF_CONTENT, "CS", item.continuity)
        if item.template is not None:
            tmpl = Dataset()
            tmpl.add_new(T.MAPPING_RESOURCE, "CS", item.template.mapping_resource)
            if item.template.mapping_resource_uid:
                tmpl.add_new(T.MAPPING_RESOURCE_UID, "UI", item.template.mapping_resource_uid)
            if item.template.version:
                tmpl.add_new(T.TEMPLATE_VERSION, "DT", item.template.version)
            tmpl.add_new(T.TEMPLATE_IDENTIFIER, "CS", item.template.identifier)
            ds.add_new(T.CONTENT_TEMPLATE_SEQUENCE, "SQ", Sequence([tmpl]))
    elif isinstance(item, TextContentItem):
        ds.add_new(T.TEXT_VALUE, "UT", item.value)
    elif isinstance(item, CodeContentItem):
        _code_seq(ds, T.CONCEPT_CODE_SEQUENCE, item.value)
    elif isinstance(item, NumContentItem):
        _set_num(ds, item)
    elif type(item) in _STRING_ITEMS:
        tag, vr = _STRING_ITEMS[type(item)]
        ds.add_new(tag, vr, item.value)  # type: ignore[attr-defined]
    elif isinstance(item, CompositeContentItem):
        _ref_seq(ds, item, item.referenced)
    elif isinstance(item, ImageContentItem):
        sop = _ref_seq(ds, item, item.referenced)
        if item.frames is not None:
            sop.add_new(T.REFERENCED_FRAME_NUMBER, "IS", [str(f) for f in item.frames])
        if item.segments is not None:
            sop.add_new(T.REFERENCED_SEGMENT_NUMBER, "US", list(item.segments))
        if item.presentation_state is not None:
            sop.add_new(
                T.REFERENCED_SOP_SEQUENCE,
                "SQ",
                Sequence([_sop_item(item.presentation_state, None)]),
            )
    elif isinstance(item, WaveformContentItem):
        sop = _ref_seq(ds, item, item.referenced)
        if item.channels is not None:
            sop.add_new(T.REFERENCED_WAVEFORM_CHANNELS, "US", list(item.channels))
    elif isinstance(item, ScoordContentItem | Scoord3DContentItem):
        if isinstance(item, Scoord3DContentItem):
            ds.add_new(T.REFERENCED_FRAME_OF_REFERENCE_UID, "UI", item.frame_of_reference_uid)
        ds.add_new(T.GRAPHIC_DATA, "FL", list(item.data))
        ds.add_new(T.GRAPHIC_TYPE, "CS", item.graphic_type)
        if isinstance(item, ScoordContentItem) and item.pixel_origin_interpretation:
            ds.add_new(T.PIXEL_ORIGIN_INTERPRETATION, "CS", item.pixel_origin_interpretation)
        if item.fiducial_uid:
            ds.add_new(T.FIDUCIAL_UID, "UI", item.fiducial_uid)
    elif isinstance(item, TcoordContentItem):
        ds.add_new(T.TEMPORAL_RANGE_TYPE, "CS", item.range_type)
        if item.sample_positions is not None:
            ds.add_new(T.REFERENCED_SAMPLE_POSITIONS, "UL", list(item.sample_positions))
        if item.time_offsets is not None:
            ds.add_new(T.REFERENCED_TIME_OFFSETS, "DS", [_ds_str(x) for x in item.time_offsets])
        if item.datetimes is not None:
            ds.add_new(T.REFERENCED_DATETIME, "DT", list(item.datetimes))
    elif isinstance(item, ReferenceContentItem):
        ds.add_new(T.REFERENCED_CONTENT_ITEM_IDENTIFIER, "UL", list(item.ref))


def _ds_str(x: float) -> str:
    text = repr(float(x))
    if len(text) > 16:
        text = f"{x:.10g}"
    return text.removesuffix(".0") if text.endswith(".0") else text


_STRING_ITEMS: dict[type[ContentItem], tuple[int, str]] = {
    DateTimeContentItem: (T.DATETIME, "DT"),
    DateContentItem: (T.DATE, "DA"),
    TimeContentItem: (T.TIME, "TM"),
    UidRefContentItem: (T.UID, "UI"),
    PNameContentItem: (T.PERSON_NAME, "PN"),
}


def _set_num(ds: Dataset, item: NumContentItem) -> None:
    values = []
    if item.number is not None or item.float_value is not None or item.units is not None:
        mv = _underlay(_first_item(item.extra, T.MEASURED_VALUE_SEQUENCE), T.MEASURED_VALUE_TAGS)
        if item.units is not None:
            _code_seq(mv, T.MEASUREMENT_UNITS_CODE_SEQUENCE, item.units)
        number = item.number
        if number is None and item.float_value is not None:
            number = _ds_str(item.float_value)
        if number is not None:
            mv.add_new(T.NUMERIC_VALUE, "DS", number)
        if item.float_value is not None:
            mv.add_new(T.FLOATING_POINT_VALUE, "FD", item.float_value)
        if item.rational is not None:
            mv.add_new(T.RATIONAL_NUMERATOR_VALUE, "SL", item.rational[0])
            mv.add_new(T.RATIONAL_DENOMINATOR_VALUE, "UL", item.rational[1])
        values.append(mv)
    ds.add_new(T.MEASURED_VALUE_SEQUENCE, "SQ", Sequence(values))
    if item.qualifier is not None:
        _code_seq(ds, T.NUMERIC_VALUE_QUALIFIER_CODE_SEQUENCE, item.qualifier)


def item_dataset(item: ContentItem, *, root: bool = False) -> Dataset:
    """The dataset of one content item and its subtree."""
    if isinstance(item, UnknownContentItem | TableContentItem) and item.extra is not None:
        ds = _underlay(item.extra, frozenset({T.CONTENT_SEQUENCE, T.RELATIONSHIP_TYPE}))
    else:
        ds = _underlay(item.extra, T.ITEM_TAGS)
    if not root and item.relationship is not None:
        ds.add_new(T.RELATIONSHIP_TYPE, "CS", item.relationship)
    if not isinstance(item, ReferenceContentItem | UnknownContentItem | TableContentItem):
        ds.add_new(T.VALUE_TYPE, "CS", item.value_type)
    if isinstance(item, TableContentItem) and T.VALUE_TYPE not in elements(ds):
        ds.add_new(T.VALUE_TYPE, "CS", "TABLE")
    if (
        not isinstance(item, ReferenceContentItem)
        and (item.concept is not None or T.CONCEPT_NAME_CODE_SEQUENCE not in elements(ds))
        and item.concept is not None
    ):
        _code_seq(ds, T.CONCEPT_NAME_CODE_SEQUENCE, item.concept)
    if item.observation_datetime is not None:
        ds.add_new(T.OBSERVATION_DATETIME, "DT", item.observation_datetime)
    if item.observation_uid is not None:
        ds.add_new(T.OBSERVATION_UID, "UI", item.observation_uid)
    _set_value(ds, item)
    if item.children:
        ds.add_new(
            T.CONTENT_SEQUENCE, "SQ", Sequence([item_dataset(child) for child in item.children])
        )
    return ds


_HEADER_STRINGS: list[tuple[int, str, Callable[[Document], str | None]]] = [
    (T.SOP_CLASS_UID, "UI", lambda d: d.sop_class_uid),
    (T.SOP_INSTANCE_UID, "UI", lambda d: d.sop_instance_uid),
    (T.PATIENT_NAME, "PN", lambda d: d.patient.name),
    (T.PATIENT_ID, "LO", lambda d: d.patient.id),
    (T.PATIENT_BIRTH_DATE, "DA", lambda d: d.patient.birth_date),
    (T.PATIENT_SEX, "CS", lambda d: d.patient.sex),
    (T.STUDY_INSTANCE_UID, "UI", lambda d: d.study.instance_uid),
    (T.STUDY_DATE, "DA", lambda d: d.study.date),
    (T.STUDY_TIME, "TM", lambda d: d.study.time),
    (T.STUDY_ID, "SH", lambda d: d.study.id),
    (T.ACCESSION_NUMBER, "SH", lambda d: d.study.accession_number),
    (T.STUDY_DESCRIPTION, "LO", lambda d: d.study.description),
    (T.REFERRING_PHYSICIAN_NAME, "PN", lambda d: d.study.referring_physician_name),
    (T.SERIES_INSTANCE_UID, "UI", lambda d: d.series.instance_uid),
    (T.SERIES_NUMBER, "IS", lambda d: d.series.number),
    (T.MODALITY, "CS", lambda d: d.series.modality),
    (T.SERIES_DESCRIPTION, "LO", lambda d: d.series.description),
    (T.MANUFACTURER, "LO", lambda d: d.equipment.manufacturer),
    (T.MANUFACTURER_MODEL_NAME, "LO", lambda d: d.equipment.model_name),
    (T.STATION_NAME, "SH", lambda d: d.equipment.station_name),
    (T.DEVICE_SERIAL_NUMBER, "LO", lambda d: d.equipment.device_serial_number),
    (T.SOFTWARE_VERSIONS, "LO", lambda d: d.equipment.software_versions),
    (T.INSTITUTION_NAME, "LO", lambda d: d.equipment.institution_name),
    (T.INSTANCE_NUMBER, "IS", lambda d: d.instance_number),
    (T.CONTENT_DATE, "DA", lambda d: d.content_date),
    (T.CONTENT_TIME, "TM", lambda d: d.content_time),
    (T.COMPLETION_FLAG, "CS", lambda d: d.completion_flag),
    (T.COMPLETION_FLAG_DESCRIPTION, "LO", lambda d: d.completion_flag_description),
    (T.VERIFICATION_FLAG, "CS", lambda d: d.verification_flag),
]

# Type 2 attributes written empty in a new document when the model has no value
_TYPE2 = frozenset(
    {
        T.PATIENT_NAME,
        T.PATIENT_ID,
        T.PATIENT_BIRTH_DATE,
        T.PATIENT_SEX,
        T.STUDY_DATE,
        T.STUDY_TIME,
        T.STUDY_ID,
        T.ACCESSION_NUMBER,
        T.REFERRING_PHYSICIAN_NAME,
        T.SERIES_NUMBER,
        T.MANUFACTURER,
        T.INSTANCE_NUMBER,
    }
)


class _Quiet:
    """Reader stand-in for re-reading header sequences without recording problems."""

    def __init__(self, values: ValueReader) -> None:
        self.values = values

    def problem(self, *args: Any, **kwargs: Any) -> None:
        return None

    def safe_string(self, ds: Dataset, tag: int, vr: str, path: str) -> str | None:
        try:
            return self.values.string(ds, tag, vr)
        except Exception:
            return None

    def sequence(self, ds: Dataset, tag: int, path: str) -> Any:
        try:
            return ds[tag].value if tag in elements(ds) else ()
        except Exception:
            return ()


def _observer_item(obs: VerifyingObserver) -> Dataset:
    ds = Dataset()
    ds.add_new(T.VERIFYING_ORGANIZATION, "LO", obs.organization)
    ds.add_new(T.VERIFICATION_DATETIME, "DT", obs.datetime)
    ds.add_new(T.VERIFYING_OBSERVER_NAME, "PN", obs.name)
    ds.add_new(
        T.VERIFYING_OBSERVER_IDENTIFICATION_CODE_SEQUENCE,
        "SQ",
        Sequence([code_dataset(obs.identification)] if obs.identification else []),
    )
    return ds


def _references(refs: tuple[StudyReference, ...]) -> Sequence:
    studies = []
    for study in refs:
        sds = Dataset()
        series_items = []
        for series in study.series:
            ser = Dataset()
            if series.retrieve_ae_title:
                ser.add_new(T.RETRIEVE_AE_TITLE, "AE", series.retrieve_ae_title)
            ser.add_new(
                T.REFERENCED_SOP_SEQUENCE,
                "SQ",
                Sequence([_sop_item(i, None) for i in series.instances]),
            )
            if series.retrieve_url:
                ser.add_new(T.RETRIEVE_URL, "UR", series.retrieve_url)
            ser.add_new(T.SERIES_INSTANCE_UID, "UI", series.series_instance_uid)
            series_items.append(ser)
        sds.add_new(T.REFERENCED_SERIES_SEQUENCE, "SQ", Sequence(series_items))
        sds.add_new(T.STUDY_INSTANCE_UID, "UI", study.study_instance_uid)
        studies.append(sds)
    return Sequence(studies)


def to_dataset(doc: Document) -> Dataset:
    """The document as a pydicom Dataset (with file meta information)."""
    source = doc.header if isinstance(doc.header, Dataset) else None
    out = Dataset()
    if source is not None:
        for tag in elements(source):
            if tag not in T.ROOT_CONTENT_TAGS and tag < 0xFFFE0000:
                elements(out)[tag] = elements(source)[tag]
    charset = doc.specific_character_set
    if source is None and charset is None:
        charset = "ISO_IR 192"
    values = value_reader(python_encoding(charset))
    if charset is not None:
        out.add_new(T.SPECIFIC_CHARACTER_SET, "CS", charset.split("\\"))
    for tag, vr, get in _HEADER_STRINGS:
        value = get(doc)
        if source is not None and tag in elements(source):
            try:
                original = values.string(source, tag, vr)
            except Exception:
                original = None
            if (original or None) == (value or None):
                continue
        if value is None:
            if source is None and tag in _TYPE2:
                out.add_new(tag, vr, "")
            elif tag in elements(out):
                del out[tag]
            continue
        out.add_new(tag, vr, value)
    quiet = _Quiet(values)
    if (
        source is None
        or tuple(
            VerifyingObserver(
                name=quiet.safe_string(o, T.VERIFYING_OBSERVER_NAME, "PN", "") or "",
                organization=quiet.safe_string(o, T.VERIFYING_ORGANIZATION, "LO", "") or "",
                datetime=quiet.safe_string(o, T.VERIFICATION_DATETIME, "DT", "") or "",
                identification=doc.verifying_observers[n].identification
                if n < len(doc.verifying_observers)
                else None,
            )
            for n, o in enumerate(quiet.sequence(source, T.VERIFYING_OBSERVER_SEQUENCE, ""))
        )
        != doc.verifying_observers
    ):
        if doc.verifying_observers:
            out.add_new(
                T.VERIFYING_OBSERVER_SEQUENCE,
                "SQ",
                Sequence([_observer_item(o) for o in doc.verifying_observers]),
            )
        elif T.VERIFYING_OBSERVER_SEQUENCE in elements(out):
            del out[T.VERIFYING_OBSERVER_SEQUENCE]
    for tag, refs in (
        (T.PREDECESSOR_DOCUMENTS_SEQUENCE, doc.predecessors),
        (T.CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE, doc.evidence),
        (T.PERTINENT_OTHER_EVIDENCE_SEQUENCE, doc.pertinent_other_evidence),
    ):
        if source is not None and read_references(source, tag, quiet) == refs:
            continue
        if refs:
            out.add_new(tag, "SQ", _references(refs))
        elif tag in elements(out):
            del out[tag]
    if source is None:
        out.add_new(0x00081111, "SQ", Sequence())  # Referenced Performed Procedure Step
        if doc.sop_class_uid != "1.2.840.10008.5.1.4.1.1.88.59":
            out.add_new(0x0040A372, "SQ", Sequence())  # Performed Procedure Code
    root = item_dataset(doc.root, root=True)
    for tag in elements(root):
        elements(out)[tag] = elements(root)[tag]
    if T.FINDINGS_SEQUENCE_TRIAL in elements(out) and doc.root.concept is None:
        # a repaired trial document: its content now lives in the root item
        del out[T.FINDINGS_SEQUENCE_TRIAL]
    out.file_meta = _file_meta(doc, source)
    return out


def _file_meta(doc: Document, source: Dataset | None) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(doc.sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(doc.sop_instance_uid)
    ts = ExplicitVRLittleEndian
    original = getattr(source, "file_meta", None)
    if original is not None:
        found = original.get("TransferSyntaxUID")
        if found in _KEEP_TS:
            ts = found
    meta.TransferSyntaxUID = ts
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "SRKIT_010"
    return meta


def write(doc: Document, target: str | os.PathLike[str] | IO[bytes]) -> None:
    """Write the document as a DICOM file (Part 10, with preamble).

    A path is written through a temporary file in the same folder and renamed,
    so a failure never leaves a half-written file.
    """
    ds = to_dataset(doc)
    if isinstance(target, str | os.PathLike):
        path = os.fspath(target)
        try:
            replace_atomically(path, lambda tmp: ds.save_as(tmp, enforce_file_format=True))
        except SrkitError:
            raise
        except Exception as exc:  # a value pydicom cannot encode
            raise SrkitError(f"cannot write: {exc}", source=path) from exc
    else:
        ds.save_as(target, enforce_file_format=True)


def to_json(doc: Document) -> dict[str, Any]:
    """The document as DICOM JSON (PS3.18 F.2), binary values inline.

    Decimal and integer strings (DS, IS) are written as JSON strings, as CP 1861
    allows, so that a number keeps the digits it was stored with.
    """
    return dataset_json(to_dataset(doc))


def _number_strings(elem: Any) -> list[str]:
    raw = elem.value
    values = raw if isinstance(raw, list | tuple) or type(raw).__name__ == "MultiValue" else [raw]
    out = []
    for v in values:
        text = getattr(v, "original_string", None)
        out.append(text.strip() if isinstance(text, str) else str(v))
    return out


def dataset_json(ds: Dataset) -> dict[str, Any]:
    """DICOM JSON of a dataset, DS and IS as strings."""
    out: dict[str, Any] = {}
    for elem in ds:
        key = f"{elem.tag:08X}"
        if elem.VR == "SQ":
            items = [dataset_json(item) for item in elem.value]
            out[key] = {"vr": "SQ", "Value": items} if items else {"vr": "SQ"}
        elif elem.VR in ("DS", "IS"):
            values = [v for v in _number_strings(elem) if v != ""] if not elem.is_empty else []
            out[key] = {"vr": elem.VR, "Value": values} if values else {"vr": elem.VR}
        else:
            out[key] = elem.to_json_dict(bulk_data_element_handler=None, bulk_data_threshold=2**31)
    return out


def from_json(
    data: dict[str, Any] | str, *, policy: ReadPolicy | str = ReadPolicy.TOLERANT
) -> Document:
    """Read a document from DICOM JSON (a mapping or its text)."""

    def no_bulk(*args: Any) -> Any:
        raise SrkitError("DICOM JSON with BulkDataURI values is not supported")

    try:
        mapping = json.loads(data) if isinstance(data, str) else data
        ds = Dataset.from_json(mapping, bulk_data_uri_handler=no_bulk)
        _restore_number_strings(ds, mapping)
    except SrkitError:
        raise
    except Exception as exc:
        raise SrkitError(f"not valid DICOM JSON ({exc})") from None
    return read_dataset(ds, policy=policy)


def _restore_number_strings(ds: Dataset, mapping: dict[str, Any]) -> None:
    """pydicom turns DS/IS strings into floats; put back the digits as written."""
    for key, entry in mapping.items():
        if not isinstance(entry, dict):
            continue
        vr = entry.get("vr")
        values = entry.get("Value")
        if not values:
            continue
        if vr == "SQ":
            tag = int(key, 16)
            for item, sub in zip(ds[tag].value, values):
                if isinstance(sub, dict):
                    _restore_number_strings(item, sub)
        elif vr in ("DS", "IS") and all(isinstance(v, str) for v in values):
            tag = int(key, 16)
            ds[tag].value = values if len(values) > 1 else values[0]
