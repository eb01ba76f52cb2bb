"""DCMTK's answer: the content tree of ``dsr2xml`` output as contract-shaped records."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

# accept invalid content, codes/relationships/value types as attributes, item ids, UTF-8;
# a file without Specific Character Set is read as Latin-1 (as srkit's fix-up does)
DSR2XML_OPTIONS = [
    "-Ee",
    "-Ec",
    "-Er",
    "-Ev",
    "+Ec",
    "+Er",
    "+Ev",
    "+Wi",
    "+U8",
    "+Ca",
    "latin-1",
    "-q",
]


def dsr2xml(tool: str, path: Path) -> ET.Element | None:
    """Run dsr2xml; ``None`` when DCMTK cannot read the file at all."""
    proc = subprocess.run(
        [tool, *DSR2XML_OPTIONS, str(path)], capture_output=True, timeout=120, check=False
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    return ET.fromstring(proc.stdout)


def _code(elem: ET.Element | None) -> dict[str, Any] | None:
    if elem is None:
        return None
    out = {
        "value": elem.get("codValue"),
        "scheme": elem.get("codScheme"),
        "meaning": elem.text or "",
    }
    if elem.get("codVersion"):
        out["version"] = elem.get("codVersion")
    return out


def digits(text: str | None) -> str:
    """Date/time text without separators (dsr2xml rewrites 20001206 as 2000-12-06)."""
    return "".join(ch for ch in (text or "") if ch not in "-:T ")


def _value(item: ET.Element, vt: str) -> Any:
    value = item.find("value")
    if vt == "CONTAINER":
        return {"continuity": item.get("flag")}
    if vt == "CODE":
        return _code(value)
    if vt == "NUM":
        return {
            "number": value.text if value is not None else None,
            "units": _code(item.find("unit")),
        }
    if vt in ("TEXT", "UIDREF"):
        return value.text if value is not None else ""
    if vt in ("DATE", "TIME", "DATETIME"):
        return digits(value.text if value is not None else "")
    if vt == "PNAME":
        if value is None:
            return ""
        parts = {child.tag: child.text or "" for child in value.iter() if child is not value}
        return parts
    if vt in ("IMAGE", "COMPOSITE", "WAVEFORM"):
        if value is None:
            return None
        cls = value.find("sopclass")
        inst = value.find("instance")
        out: dict[str, Any] = {
            "sop_class_uid": cls.get("uid") if cls is not None else None,
            "sop_instance_uid": inst.get("uid") if inst is not None else None,
        }
        frames = value.find("frames")
        if frames is not None and frames.text:
            out["frames"] = [int(x) for x in frames.text.split(",")]
        segments = value.find("segments")
        if segments is not None and segments.text:
            out["segments"] = [int(x) for x in segments.text.split(",")]
        pstate = value.find("pstate")
        if pstate is not None:
            pcls, pinst = pstate.find("sopclass"), pstate.find("instance")
            out["presentation_state"] = {
                "sop_class_uid": pcls.get("uid") if pcls is not None else None,
                "sop_instance_uid": pinst.get("uid") if pinst is not None else None,
            }
        channels = value.find("channels")
        if channels is not None and channels.text:
            out["channels"] = [int(x) for pair in channels.text.split(",") for x in pair.split("/")]
        return out
    if vt in ("SCOORD", "SCOORD3D"):
        data = item.find("data")
        numbers = []
        if data is not None and data.text:
            for pair in data.text.split(","):
                numbers.extend(float(x) for x in pair.split("/"))
        return {"graphic_type": item.get("type"), "data": numbers}
    if vt == "TCOORD":
        data = item.find("data")
        return {
            "range_type": item.get("type"),
            "kind": data.get("type") if data is not None else None,
            "values": (data.text or "").split(",") if data is not None else [],
        }
    return None


def dcmtk_records(root: ET.Element) -> list[dict[str, Any]]:
    """Records in document order with position ids (refs translated to position ids)."""
    content = root.find("./document/content")
    if content is None:
        return []
    top = content.find("item")
    if top is None:
        return []
    records: list[dict[str, Any]] = []
    internal: dict[str, str] = {}

    def visit(item: ET.Element, pos: str) -> None:
        internal[item.get("id", "")] = pos
        vt = item.get("valType")
        rec: dict[str, Any] = {
            "id": pos,
            "relationship": item.get("relType"),
            "value_type": vt or "REFERENCE",
            "concept": _code(item.find("concept")),
        }
        if vt is None:
            rec["value"] = {"ref_internal": item.get("ref")}
        else:
            rec["value"] = _value(item, vt)
        records.append(rec)
        for n, child in enumerate(item.findall("item"), 1):
            visit(child, f"{pos}.{n}")

    visit(top, "1")
    for rec in records:
        if rec["value_type"] == "REFERENCE":
            rec["value"] = {"ref": internal.get(rec["value"]["ref_internal"])}
    return records
