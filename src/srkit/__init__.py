"""srkit: a toolkit and local archive for DICOM Structured Reports.

Every name of the API below is imported on first use (``import srkit`` loads nothing
else, so the ``srkit`` command starts fast; the names are the same objects as in the
subpackages).
"""

from typing import Any as _Any

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

_ERRORS = (
    "SrkitError",
    "NotDicomError",
    "NotStructuredReportError",
    "InvalidDocumentError",
    "SrkitWarning",
    "NonConformanceWarning",
    "VendorQuirkWarning",
)
_MODEL = (
    "Code",
    "CodeContentItem",
    "CompositeContentItem",
    "ContainerContentItem",
    "ContentItem",
    "DateContentItem",
    "DateTimeContentItem",
    "Document",
    "ImageContentItem",
    "NumContentItem",
    "PNameContentItem",
    "ReferenceContentItem",
    "RelationshipType",
    "Scoord3DContentItem",
    "ScoordContentItem",
    "SopReference",
    "TableContentItem",
    "TcoordContentItem",
    "TextContentItem",
    "TimeContentItem",
    "UidRefContentItem",
    "UnknownContentItem",
    "ValueType",
    "WaveformContentItem",
)

_LAZY = {
    "read": ("srkit.codec", "read"),
    "ReadPolicy": ("srkit.codec", "ReadPolicy"),
    "Diagnostic": ("srkit.diagnostics", "Diagnostic"),
    "Severity": ("srkit.diagnostics", "Severity"),
    **{name: ("srkit.errors", name) for name in _ERRORS},
    **{name: ("srkit.model", name) for name in _MODEL},
    "write": ("srkit.codec.writer", "write"),
    "to_json": ("srkit.codec.writer", "to_json"),
    "from_json": ("srkit.codec.writer", "from_json"),
    "to_dataset": ("srkit.codec.writer", "to_dataset"),
    "render_html": ("srkit.render.html", "render_html"),
    "measurement_rows": ("srkit.templates.tid1500", "measurement_rows"),
    "dose_report": ("srkit.templates.dose", "dose_report"),
    "extract_rows": ("srkit.extract", "extract_rows"),
    "dose_reports": ("srkit.extract", "dose_reports"),
    "validate_files": ("srkit.validate.report", "validate_files"),
    "Database": ("srkit.db", "Database"),
}
"""name -> (module, attribute) of every name of the API, imported when first used (pydicom,
Jinja2, SQLAlchemy and the template readers are not loaded by ``import srkit``)."""


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def __getattr__(name: str) -> _Any:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'srkit' has no attribute {name!r}")
