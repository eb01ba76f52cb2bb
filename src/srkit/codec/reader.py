"""Read SR documents from files and pydicom Datasets into the model (PS3.3 A.35, C.17).

The public entry points: :func:`read` (a path, a binary file or a Dataset),
:func:`read_loaded` (what :func:`srkit.codec.loader.load` returned) and
:func:`read_dataset`. Here the document is assembled: SR Document General and
the other header modules (:mod:`srkit.codec.header`), the root content item (PS3.3
C.17.3: a CONTAINER with a Concept Name, the document title) with its tree
(:mod:`srkit.codec.content`), and the checks that need the whole tree
(:mod:`srkit.codec.references`).

The reader never loops forever and never lets a pydicom exception escape: a
broken element becomes a :class:`~srkit.diagnostics.Diagnostic` with a stable code
(tolerant and permissive policies) or an :class:`~srkit.errors.InvalidDocumentError`
(strict).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from srkit.codec import tags as T
from srkit.codec.content import content_reader
from srkit.codec.diagnostic_codes import DAMAGE_CODES as DAMAGE_CODES
from srkit.codec.diagnostic_codes import ReadCode
from srkit.codec.diagnostic_codes import damage as damage
from srkit.codec.fixups import trial_findings_content
from srkit.codec.gcpause import paused
from srkit.codec.header import read_header
from srkit.codec.light import LightDataset, LightFile, PydicomHeader
from srkit.codec.loader import Loaded as Loaded
from srkit.codec.loader import Source, remembered_sequences
from srkit.codec.loader import load as load
from srkit.codec.loader import load_dataset as load_dataset
from srkit.codec.loader import prune_children as prune_children
from srkit.codec.policy import ReadPolicy as ReadPolicy
from srkit.codec.references import REFERENCE_CYCLE as REFERENCE_CYCLE
from srkit.codec.references import check_references
from srkit.codec.sopclass import is_sr_sop_class
from srkit.codec.values import elements
from srkit.diagnostics import Severity
from srkit.errors import (
    InvalidDocumentError,
    NonConformanceWarning,
    NotStructuredReportError,
    SrkitError,
)
from srkit.model.document import Document
from srkit.model.items import ContainerContentItem

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from srkit.codec.content import ContentReader

__all__ = ["read", "read_dataset", "read_loaded"]
# ``damage``, ``DAMAGE_CODES``, ``Loaded``, ``load``, ``load_dataset``, ``prune_children``,
# ``ReadPolicy`` and ``REFERENCE_CYCLE`` lived here before the codec was split by job;
# they stay importable from this module (``X as X`` re-exports) for code written against
# that layout. New code imports them from ``srkit.codec``.


def read(source: Source | Dataset, *, policy: ReadPolicy | str = ReadPolicy.TOLERANT) -> Document:
    """Read an SR document.

    Parameters
    ----------
    source : path, binary file or pydicom.Dataset
        The SR to read. Any SR storage SOP class is accepted, retired ones included.
    policy : ReadPolicy or str
        ``"strict"``, ``"tolerant"`` (default) or ``"permissive"``.

    Returns
    -------
    Document
        With ``diagnostics`` listing every problem found, each with its code
        (:mod:`srkit.codec.diagnostic_codes`). A tolerant read that found errors
        emits one :class:`~srkit.errors.NonConformanceWarning`.

    Raises
    ------
    NotDicomError, NotStructuredReportError, InvalidDocumentError
    """
    if _is_dataset(source):
        return read_dataset(source, policy=policy)  # type: ignore[arg-type]
    with paused():  # the whole read: parsing and the tree (one pause, one collection after)
        return read_loaded(load(source), policy=policy)


def _is_dataset(source: object) -> bool:
    # a Dataset exists only once pydicom is imported: a path is read without it
    module = sys.modules.get("pydicom.dataset")
    return module is not None and isinstance(source, module.Dataset)


def read_loaded(loaded: Loaded, *, policy: ReadPolicy | str = ReadPolicy.TOLERANT) -> Document:
    """Read an SR document from what :func:`srkit.codec.loader.load` returned; see :func:`read`.

    The fast parser's items of the top-level sequences (``loaded.sequences``) are
    walked as they are, and kept on the document (``Document.header_sequences``) for
    later passes over the header.
    """
    return read_dataset(
        loaded.top, policy=policy, source_name=loaded.name, sequences=loaded.sequences
    )


def read_dataset(
    ds: Dataset | LightFile,
    *,
    policy: ReadPolicy | str = ReadPolicy.TOLERANT,
    source_name: str | None = None,
    sequences: Mapping[int, Sequence[LightDataset]] | None = None,
) -> Document:
    """Read an SR document from a parsed dataset; see :func:`read`.

    Parameters
    ----------
    ds : pydicom.Dataset or LightFile
        The top-level dataset (a :class:`~srkit.codec.light.LightFile` from the fast
        parser: the document's ``header`` is then its pydicom Dataset, made on first use).
    policy : ReadPolicy or str
        ``"strict"``, ``"tolerant"`` (default) or ``"permissive"``.
    source_name : str or None
        The file it came from, for messages.
    sequences : mapping of int to list of LightDataset, optional
        The fast parser's items of the top-level sequences of ``ds``
        (:attr:`Loaded.sequences`). Without them, those :func:`load_dataset`
        remembered for ``ds`` are used, else sequences are parsed on demand.
    """
    if sequences is None:
        sequences = remembered_sequences(ds) or {}
    reader = content_reader(ReadPolicy(policy), ds, sequences, source_name)
    try:
        with paused():
            doc = _document(reader)
    except SrkitError as exc:
        if exc.source is None:
            exc.source = source_name
        raise
    except RecursionError:
        raise InvalidDocumentError("content tree too deep", source=source_name) from None
    errors = [d for d in doc.diagnostics if d.severity is Severity.ERROR]
    if errors:
        where = f"{source_name}: " if source_name else ""
        warnings.warn(
            f"{where}{len(errors)} error(s) in the SR content, first: {errors[0]}",
            NonConformanceWarning,
            stacklevel=2,
        )
    return doc


def _document(r: ContentReader) -> Document:
    ds = r.ds
    r.check_truncated(ds, "")
    sop_class = r.safe_string(ds, T.SOP_CLASS_UID, "UI", "") or ""
    value_type = r.safe_string(ds, T.VALUE_TYPE, "CS", "")
    has_trial = T.FINDINGS_SEQUENCE_TRIAL in elements(ds)
    if not is_sr_sop_class(sop_class) and value_type is None and not has_trial:
        what = f"SOP class {sop_class}" if sop_class else "no SOP Class UID"
        raise NotStructuredReportError(
            f"not an SR document ({what})", source=r.source, code=ReadCode.NOT_STRUCTURED_REPORT
        )
    if sop_class and not is_sr_sop_class(sop_class):
        r.problem(
            "", ReadCode.SOP_CLASS_NOT_SR, f"SOP class {sop_class} is not an SR storage class"
        )
    header = read_header(ds, r)
    root = _root_item(r)
    if root.concept is None and not has_trial:
        r.problem(
            "1", ReadCode.ROOT_NO_TITLE, "root CONTAINER has no Concept Name (document title)"
        )
    for where, code, message in check_references(root):
        # a loop through several references breaks no rule (PS3.3 C.17.3.1 leaves
        # references to ancestors to the IOD; see check_references): worth knowing only
        cycle = code is ReadCode.REFERENCE_CYCLE
        r.problem(where, code, message, Severity.INFO if cycle else Severity.ERROR)
    if r.values.undeclared_8bit:
        r.problem(
            "",
            ReadCode.CHARSET_UNDECLARED_8BIT,
            "8-bit characters used but no Specific Character Set declared; read as ISO_IR 100",
            Severity.WARNING,
            fixup="assume_latin1_charset",
        )
    for tag, expected, found in r.values.wrong_vr:
        r.problem(
            "",
            ReadCode.VR_MISMATCH,
            f"element ({tag >> 16:04X},{tag & 0xFFFF:04X}) has VR {found}, should be {expected}",
        )
    return Document(
        sop_class_uid=sop_class,
        root=root,
        diagnostics=tuple(r.diagnostics),
        header=PydicomHeader(ds) if isinstance(ds, LightFile) else ds,
        header_sequences=r.parsed or None,
        **header,
    )


def _root_item(r: ContentReader) -> ContainerContentItem:
    ds = r.ds
    value_type = r.safe_string(ds, T.VALUE_TYPE, "CS", "")
    if value_type is None and T.FINDINGS_SEQUENCE_TRIAL in elements(ds):
        r.problem(
            "1",
            ReadCode.TRIAL_FINDINGS_SEQUENCE,
            "no root content item: content is in the retired Findings Sequence (Trial)",
            Severity.WARNING,
            fixup="trial_findings_sequence",
        )
        children = trial_findings_content(ds, r)
        return ContainerContentItem(concept=None, children=children)
    item = r.item(ds, "1", root=True)
    if isinstance(item, ContainerContentItem):
        return item
    if item is None:
        r.problem("1", ReadCode.ROOT_UNREADABLE, "root content item could not be read")
        return ContainerContentItem()
    r.problem(
        "1",
        ReadCode.ROOT_NOT_CONTAINER,
        f"root content item is {item.value_type}, must be CONTAINER",
    )
    return ContainerContentItem(
        concept=item.concept, children=(item,), observation_datetime=item.observation_datetime
    )
