"""Which matching keys the archive's index supports, for C-FIND and QIDO-RS alike
(PS3.4 Section C.2.2.1; PS3.18 Section 8.3.4.1): the others are matched universally.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["LIST_KEYS", "split_filters"]

LIST_KEYS = ("ModalitiesInStudy", "SOPClassesInStudy")


def split_filters(filters: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Matching keys the index supports, and the others (matched universally, as
    PS3.4 Section C.2.2.1 lets an SCP treat optional keys it cannot match).

    The SR instance keys (PS3.4 Table C.6-5: ``ConceptNameCodeSequence``,
    ``ContentTemplateSequence``, ``CompletionFlag``, ``VerificationFlag``) are
    supported; any other sequence is not (it is returned empty).
    """
    from srkit.db.query import ATTRIBUTES, SR_KEYS

    kept = {k: v for k, v in filters.items() if k in ATTRIBUTES or k in LIST_KEYS or k in SR_KEYS}
    return kept, [k for k in filters if k not in kept]
