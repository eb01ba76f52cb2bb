"""Write src/srkit/codec/dictionary.py from pydicom's data dictionary and UID dictionary.

    PYTHONPATH=src python3 -m tests.codec.make_tables

tests/codec/test_dictionary.py checks that the checked-in table agrees with the
pydicom installed.
"""

from __future__ import annotations

from pathlib import Path

TARGET = Path(__file__).resolve().parents[2] / "src" / "srkit" / "codec" / "dictionary.py"

HEAD = '''"""The parts of the DICOM data dictionary (PS3.6) srkit reads a file with, as small tables.

Generated from pydicom {version}'s dictionaries by ``python3 -m tests.codec.make_tables``
(tests/codec/test_dictionary.py checks the tables agree with pydicom's): the tags whose
VR is SQ (PS3.6 Section 6; the fast parser needs them for implicit VR data) and the
names of the UIDs of PS3.6 Annex A (for readable SOP class names), so that reading and
printing an SR does not import pydicom.
"""

from __future__ import annotations

__all__ = ["SEQUENCE_TAGS", "UID_NAMES", "is_sequence_tag"]


def is_sequence_tag(tag: int) -> bool:
    """Whether the data dictionary gives ``tag`` the VR SQ (repeating groups included)."""
    return tag in SEQUENCE_TAGS or (tag & 0xFF01FFFF) == 0x50002600

'''


def render() -> str:
    import pydicom
    from pydicom._uid_dict import UID_dictionary
    from pydicom.datadict import DicomDictionary, RepeatersDictionary

    repeaters = sorted(k for k, e in RepeatersDictionary.items() if e[0] == "SQ")
    assert repeaters == ["50xx2600"], repeaters  # is_sequence_tag names this one
    lines = [HEAD.format(version=pydicom.__version__)]
    lines.append("SEQUENCE_TAGS = frozenset(\n    {\n")
    for tag in sorted(t for t, e in DicomDictionary.items() if e[0] == "SQ"):
        lines.append(f"        0x{tag:08X},\n")
    lines.append("    }\n)\n")
    lines.append('"""Tags of VR SQ in the data dictionary."""\n\n')
    lines.append("UID_NAMES = {\n")
    for uid, entry in sorted(UID_dictionary.items()):
        lines.append(f"    {uid!r}: {entry[0]!r},\n")
    lines.append("}\n")
    lines.append('"""UID -> its name in PS3.6 Annex A (as pydicom\'s ``UID.name`` gives it)."""\n')
    return "".join(lines)


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
