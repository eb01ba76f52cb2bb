"""srkit: a toolkit and local archive for DICOM Structured Reports."""

from srkit.codec import ReadPolicy, from_json, read, to_dataset, to_json, write
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
}
"""The main verbs, imported when first used (Jinja2, SQLAlchemy and the template readers
are not loaded by ``import srkit``)."""


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'srkit' has no attribute {name!r}")
