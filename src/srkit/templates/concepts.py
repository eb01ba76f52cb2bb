"""Standard meanings of concept codes, and record keys derived from them.

Record keys of the dose tables (``mean_ctdivol``, ``dlp``, ``xray_tube_current``) come
from the *standard* meaning of a concept code, looked up by code value and coding
scheme in pydicom's concept dictionary (PS3.16 Annex D, DCM codes; SNOMED CT), never
from the Code Meaning a vendor wrote: Toshiba's "Identification Number of the X-Ray
Source" and Siemens' "Identification of the X-Ray Source" are both (113832, DCM) and
both become ``identification_of_the_xray_source``. Legacy SNOMED RT codes (``SRT``,
PS3.16 Annex O) are mapped to SNOMED CT first.

The concept codes srkit's layers name (Measurement Group, Finding category, CT
Acquisition ...) are constants of :mod:`srkit.model.concepts`; this module only looks up
the standard meaning of any code, which needs pydicom's dictionary.
"""

from __future__ import annotations

import re
from functools import cache

from srkit.model.code import Code

__all__ = ["standard_meaning", "concept_key", "snake_case", "meaning_differs"]

_SEMANTIC_TAG = re.compile(
    r"\s*\((attribute|body structure|procedure|qualifier value|"
    r"physical object|substance|finding|disorder|morphologic abnormality|"
    r"observable entity|regime/therapy|specimen|tumor staging|"
    r"record artifact|situation|environment|organism|person)\)\s*$"
)
_NON_WORD = re.compile(r"[^0-9a-z]+")


@cache
def _index() -> dict[tuple[str, str], str]:
    """(scheme, value) -> meaning, for every concept of pydicom's dictionary."""
    from pydicom.sr._concepts_dict import concepts

    source: dict[str, dict[str, dict[str, tuple[str, list[int]]]]] = concepts  # type: ignore[assignment]
    table: dict[tuple[str, str], str] = {}
    for scheme, by_keyword in source.items():
        for entries in by_keyword.values():
            for value, (meaning, _cids) in entries.items():
                table.setdefault((scheme, value), meaning)
    return table


def standard_meaning(code: Code) -> str | None:
    """The standard's meaning of ``code`` (SRT codes through their SCT equivalent).

    Parameters
    ----------
    code : Code
        Any code; its own meaning is ignored.

    Returns
    -------
    str or None
        The meaning pydicom's dictionary gives, SNOMED semantic tags such as
        "(attribute)" removed; ``None`` for codes the dictionary does not know
        (private codes, local schemes).
    """
    scheme, value = code.key
    meaning = _index().get((scheme, value))
    if meaning is None:
        return None
    if scheme == "SCT":
        meaning = _SEMANTIC_TAG.sub("", meaning)
    return meaning


def snake_case(text: str) -> str:
    """``"X-Ray Tube Current"`` -> ``"xray_tube_current"``, ``"Dose (RP)"`` -> ``"dose_rp"``.

    Hyphens and apostrophes join words (``X-Ray`` is one word); every other run of
    non-alphanumeric characters becomes one underscore.
    """
    lowered = text.lower().replace("-", "").replace("'", "").replace("\u2019", "")
    return _NON_WORD.sub("_", lowered).strip("_")


@cache
def _key(scheme: str, value: str, meaning: str) -> str:
    code = Code.make(value, scheme, meaning)
    standard = standard_meaning(code)
    if standard is not None:
        return snake_case(standard)
    if meaning.strip():
        return snake_case(meaning)
    return snake_case(f"{scheme}_{value}")


def concept_key(code: Code | None) -> str:
    """The record key of a concept name: snake case of its standard meaning.

    Codes the dictionary does not know (a vendor's private concepts) fall back to
    the snake case of their own meaning, then to ``<scheme>_<value>``.
    """
    if code is None:
        return "unnamed"
    return _key(code.scheme, code.value, code.meaning)


def _loose(text: str) -> str:
    return _NON_WORD.sub("", text.lower())


def meaning_differs(code: Code) -> str | None:
    """The standard meaning when ``code``'s own meaning differs from it in words.

    Case, hyphens and spacing are not differences ("X-ray" equals "X-Ray");
    "Identification Number of the X-Ray Source" differs from "Identification of
    the X-Ray Source". Returns ``None`` when equal or when the code is unknown.
    """
    standard = standard_meaning(code)
    if standard is None or code.scheme == "SRT":
        return None
    if _loose(standard) == _loose(code.meaning):
        return None
    return standard
