"""Vendor protocol names -> standard study names (a user's mapping file).

Scanners name their protocols as each site configured them ("HEAD ROUTINE", "Routine
Head 5mm"); diagnostic reference levels are given per standard study name ("Head").
A mapping file lists, one entry per vendor name, the standard name it belongs to:

- CSV with a header ``vendor_protocol,standard_name`` (further columns ignored);
- TOML with a table ``[protocols]`` of ``"vendor name" = "standard name"``.

Names match case-insensitively with runs of white space taken as one space; a vendor
name may end in ``*`` to match every name it begins (``"HEAD*" = "Head"``); exact names
win over prefixes, longer prefixes over shorter ones.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srkit.errors import SrkitError

__all__ = ["ProtocolMap", "normalise_name", "unmapped"]

_SPACE = re.compile(r"\s+")


def normalise_name(name: str) -> str:
    """``"  Routine  HEAD "`` -> ``"routine head"``."""
    return _SPACE.sub(" ", name).strip().casefold()


@dataclass(slots=True)
class ProtocolMap:
    """Vendor protocol name -> standard study name."""

    exact: dict[str, str] = field(default_factory=dict)
    prefixes: list[tuple[str, str]] = field(default_factory=list)

    def add(self, vendor: str, standard: str) -> None:
        """One entry (``vendor`` may end in ``*``)."""
        key = normalise_name(vendor)
        if key.endswith("*"):
            self.prefixes.append((key[:-1].rstrip(), standard))
            self.prefixes.sort(key=lambda p: -len(p[0]))
        else:
            self.exact[key] = standard

    def standard(self, vendor: str | None) -> str | None:
        """The standard name of a vendor protocol name, ``None`` when unmapped."""
        if not vendor:
            return None
        key = normalise_name(vendor)
        found = self.exact.get(key)
        if found is not None:
            return found
        return next((std for prefix, std in self.prefixes if key.startswith(prefix)), None)

    def __len__(self) -> int:
        return len(self.exact) + len(self.prefixes)

    @classmethod
    def load(cls, path: str | Path) -> ProtocolMap:
        """Read a CSV or TOML mapping file (see the module docstring).

        Raises
        ------
        SrkitError
            A file that cannot be read, or without the expected columns / table.
        """
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise SrkitError(f"cannot read the protocol mapping: {exc}", source=source) from None
        out = cls()
        if source.lower().endswith(".toml"):
            try:
                data: dict[str, Any] = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise SrkitError(f"not TOML: {exc}", source=source) from None
            table = data.get("protocols")
            if not isinstance(table, dict):
                raise SrkitError("no [protocols] table", source=source)
            for vendor, standard in table.items():
                if not isinstance(standard, str):
                    raise SrkitError(f"{vendor!r}: the standard name must be text", source=source)
                out.add(vendor, standard)
            return out
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or not {"vendor_protocol", "standard_name"} <= set(
            reader.fieldnames
        ):
            raise SrkitError("expected the columns vendor_protocol,standard_name", source=source)
        for n, row in enumerate(reader, 2):
            vendor, standard = (
                (row.get("vendor_protocol") or "").strip(),
                (row.get("standard_name") or "").strip(),
            )
            if not vendor or not standard:
                raise SrkitError(f"line {n}: empty vendor_protocol or standard_name", source=source)
            out.add(vendor, standard)
        return out


def unmapped(exams: Iterable[Any], mapping: ProtocolMap) -> list[dict[str, Any]]:
    """Vendor protocol names without a standard name: ``{protocol, modality, stations,
    exams}`` rows, most frequent first."""
    counts: Counter[tuple[str, str]] = Counter()
    stations: dict[tuple[str, str], set[str]] = {}
    for exam in exams:
        if exam.protocol is None or mapping.standard(exam.protocol) is not None:
            continue
        key = (exam.protocol, exam.modality)
        counts[key] += 1
        stations.setdefault(key, set()).add(exam.station or "")
    return [
        {
            "protocol": protocol,
            "modality": modality,
            "stations": ";".join(sorted(s for s in stations[(protocol, modality)] if s)),
            "exams": n,
        }
        for (protocol, modality), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
