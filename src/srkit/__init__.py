"""srkit: a toolkit and local archive for DICOM Structured Reports."""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from srkit.diagnostics import Diagnostic, Severity
from srkit.errors import (
    InvalidDocumentError,
    NonConformanceWarning,
    NotDicomError,
    NotStructuredReportError,
    SrkitError,
    SrkitWarning,
    VendorQuirkWarning,
)

if _TYPE_CHECKING:
    from srkit.codec import ReadPolicy, from_json, read, to_dataset, to_json, write
    from srkit.model import (
        Code,
        CodeContentItem,
        CompositeContentItem,
        ContainerContentItem,
        ContentItem,
        DateContentItem,
        DateTimeContentItem,
        Document,
        ImageContentItem,
        NumContentItem,
        PNameContentItem,
        ReferenceContentItem,
        RelationshipType,
        Scoord3DContentItem,
        ScoordContentItem,
        SopReference,
        TableContentItem,
        TcoordContentItem,
        TextContentItem,
        TimeContentItem,
        UidRefContentItem,
        UnknownContentItem,
        ValueType,
        WaveformContentItem,
    )

__version__ = "0.1.0"

__all__ = [
    "read",
    "write",
    "to_json",
    "from_json",
    "to_dataset",
    "ReadPolicy",
    "Document",
    "Code",
    "ContentItem",
    "ContainerContentItem",
    "TextContentItem",
    "CodeContentItem",
    "NumContentItem",
    "DateTimeContentItem",
    "DateContentItem",
    "TimeContentItem",
    "UidRefContentItem",
    "PNameContentItem",
    "CompositeContentItem",
    "ImageContentItem",
    "WaveformContentItem",
    "ScoordContentItem",
    "Scoord3DContentItem",
    "TcoordContentItem",
    "TableContentItem",
    "ReferenceContentItem",
    "UnknownContentItem",
    "SopReference",
    "ValueType",
    "RelationshipType",
    "Diagnostic",
    "Severity",
    "SrkitError",
    "NotDicomError",
    "NotStructuredReportError",
    "InvalidDocumentError",
    "SrkitWarning",
    "NonConformanceWarning",
    "VendorQuirkWarning",
    "render_html",
    "measurement_rows",
    "dose_report",
    "extract_rows",
    "dose_reports",
    "validate_files",
    "Database",
    "__version__",
]

_LAZY = {
    "render_html": ("srkit.render.html", "render_html"),
    "measurement_rows": ("srkit.templates.tid1500", "measurement_rows"),
    "dose_report": ("srkit.templates.dose", "dose_report"),
    "extract_rows": ("srkit.extract", "extract_rows"),
    "dose_reports": ("srkit.extract", "dose_reports"),
    "validate_files": ("srkit.validate.report", "validate_files"),
    "Database": ("srkit.db", "Database"),
    "ReadPolicy": ("srkit.codec", "ReadPolicy"),
    "from_json": ("srkit.codec", "from_json"),
    "read": ("srkit.codec", "read"),
    "to_dataset": ("srkit.codec", "to_dataset"),
    "to_json": ("srkit.codec", "to_json"),
    "write": ("srkit.codec", "write"),
    "Code": ("srkit.model", "Code"),
    "CodeContentItem": ("srkit.model", "CodeContentItem"),
    "CompositeContentItem": ("srkit.model", "CompositeContentItem"),
    "ContainerContentItem": ("srkit.model", "ContainerContentItem"),
    "ContentItem": ("srkit.model", "ContentItem"),
    "DateContentItem": ("srkit.model", "DateContentItem"),
    "DateTimeContentItem": ("srkit.model", "DateTimeContentItem"),
    "Document": ("srkit.model", "Document"),
    "ImageContentItem": ("srkit.model", "ImageContentItem"),
    "NumContentItem": ("srkit.model", "NumContentItem"),
    "PNameContentItem": ("srkit.model", "PNameContentItem"),
    "ReferenceContentItem": ("srkit.model", "ReferenceContentItem"),
    "RelationshipType": ("srkit.model", "RelationshipType"),
    "Scoord3DContentItem": ("srkit.model", "Scoord3DContentItem"),
    "ScoordContentItem": ("srkit.model", "ScoordContentItem"),
    "SopReference": ("srkit.model", "SopReference"),
    "TableContentItem": ("srkit.model", "TableContentItem"),
    "TcoordContentItem": ("srkit.model", "TcoordContentItem"),
    "TextContentItem": ("srkit.model", "TextContentItem"),
    "TimeContentItem": ("srkit.model", "TimeContentItem"),
    "UidRefContentItem": ("srkit.model", "UidRefContentItem"),
    "UnknownContentItem": ("srkit.model", "UnknownContentItem"),
    "ValueType": ("srkit.model", "ValueType"),
    "WaveformContentItem": ("srkit.model", "WaveformContentItem"),
}
"""The main verbs, imported when first used (Jinja2, SQLAlchemy and the template readers
are not loaded by ``import srkit``); the codec and the model too, so that a user of
another layer (``srkit.load``) does not pay for the SR reader and writer."""


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'srkit' has no attribute {name!r}")
