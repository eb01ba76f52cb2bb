"""The rules of the content tree walk that need no code: how deep it goes, which value
types need a Concept Name, which relationship types exist (PS3.3 C.17.3).

Kept apart from the tree builder (:mod:`srkit.codec._tree`) so that the compiled
reader's users do not import the pure-Python builder for three constants.
"""

from __future__ import annotations

__all__ = ["DEPTH_LIMIT", "NAMED_VALUE_TYPES", "RELATIONSHIPS"]

DEPTH_LIMIT = 200
"""Deepest content tree the reader follows; deeper subtrees are cut with a diagnostic."""

NAMED_VALUE_TYPES = frozenset(
    {"TEXT", "NUM", "CODE", "DATETIME", "DATE", "TIME", "UIDREF", "PNAME", "TABLE"}
)
"""Value types whose items need a Concept Name (PS3.3 C.17.3.2.1)."""

RELATIONSHIPS = frozenset(
    {
        "CONTAINS",
        "HAS PROPERTIES",
        "HAS OBS CONTEXT",
        "HAS ACQ CONTEXT",
        "INFERRED FROM",
        "SELECTED FROM",
        "HAS CONCEPT MOD",
    }
)
"""The Relationship Types of PS3.3 C.17.3.2.4."""
