"""TID 2000 Basic Diagnostic Imaging Report and TID 2010 Key Object Selection
(PS3.16 Annex A)."""

from __future__ import annotations

from srkit.model.concepts import LANGUAGE
from srkit.validate.templates.engine import Row, Template, code

__all__ = ["BASIC_DIAGNOSTIC_REPORT", "KEY_OBJECT_SELECTION", "ROOT_CIDS"]

SECTION = Template(
    "2001",
    "Basic Diagnostic Imaging Report Observations",
    (
        Row(None, "TEXT CODE NUM", "CONTAINS", max=None, cid=7002),
        Row(None, "CONTAINER", "CONTAINS", max=None, cid=7001),
    ),
)

BASIC_DIAGNOSTIC_REPORT = Template(
    "2000",
    "Basic Diagnostic Imaging Report",
    (
        Row(LANGUAGE, "CODE", "HAS CONCEPT MOD"),
        Row(None, "CONTAINER", "CONTAINS", min=1, max=None, cid=7001, template=SECTION),
    ),
)
"""TID 2000 (root concept from DCID 7000, sections from DCID 7001, observations
named from DCID 7002)."""

KEY_OBJECT_SELECTION = Template(
    "2010",
    "Key Object Selection",
    (
        Row(LANGUAGE, "CODE", "HAS CONCEPT MOD"),
        Row(code("113011", "DCM", "Document Title Modifier"), "CODE", "HAS CONCEPT MOD", max=None),
        Row(code("113012", "DCM", "Key Object Description"), "TEXT", "CONTAINS"),
        Row(None, "IMAGE WAVEFORM COMPOSITE", "CONTAINS", min=1, max=None),
    ),
)
"""TID 2010 (root concept from DCID 7010)."""

ROOT_CIDS = {"2000": 7000, "2010": 7010, "1500": 7021}
"""Context group of the document title (root concept name) by template."""
