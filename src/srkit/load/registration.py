"""The Spatial Registration plugin: the 4x4 matrices of a registration object with the
frames of reference they map (PS3.3 A.39, C.20.2 Spatial Registration Module).

Each item of the Registration Sequence names a Frame of Reference UID and the matrices
(Frame of Reference Transformation Matrix, 16 values row by row, with its type RIGID,
RIGID_SCALE or AFFINE) that take that frame's coordinates into the registration's own
frame of reference.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srkit.diagnostics import Severity
from srkit.load.headers import HeaderCache
from srkit.load.loadable import Loadable, LoadWarning

__all__ = ["SpatialRegistrationPlugin", "Registration", "SPATIAL_REGISTRATION"]

SPATIAL_REGISTRATION = "1.2.840.10008.5.1.4.1.1.66.1"


@dataclass(slots=True, kw_only=True)
class Registration:
    """The registrations of one Spatial Registration object."""

    frame_of_reference_uid: str
    registrations: list[dict[str, Any]]
    name: str = ""
    warnings: tuple[LoadWarning, ...] = ()

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        doc = {
            "frame_of_reference_uid": self.frame_of_reference_uid,
            "registrations": self.registrations,
        }
        path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        return path


def read_registrations(ds: Any, path: str) -> tuple[list[dict[str, Any]], list[LoadWarning]]:
    """The registrations of a dataset, and findings about malformed matrices."""
    out: list[dict[str, Any]] = []
    problems: list[LoadWarning] = []
    for item in ds.get("RegistrationSequence", []) or []:
        matrices = []
        for reg in item.get("MatrixRegistrationSequence", []) or []:
            for m in reg.get("MatrixSequence", []) or []:
                values = [float(v) for v in m.get("FrameOfReferenceTransformationMatrix", [])]
                if len(values) != 16:
                    problems.append(
                        LoadWarning(
                            code="malformed_matrix",
                            message=f"{path}: a transformation matrix has {len(values)} values, "
                            "not 16",
                            severity=Severity.ERROR,
                            files=(path,),
                        )
                    )
                    continue
                matrices.append(
                    {
                        "type": str(m.get("FrameOfReferenceTransformationMatrixType", "")),
                        "matrix": [values[i : i + 4] for i in range(0, 16, 4)],
                    }
                )
        out.append(
            {
                "frame_of_reference_uid": str(item.get("FrameOfReferenceUID", "")),
                "matrices": matrices,
            }
        )
    return out, problems


class SpatialRegistrationPlugin:
    """Spatial Registration -> matrices with their frames of reference."""

    name = "registration"

    def examine(self, file_lists: Sequence[Sequence[str]], headers: HeaderCache) -> list[Loadable]:
        out = []
        for files in file_lists:
            for h in headers.of(str(f) for f in files):
                if h.sop_class_uid != SPATIAL_REGISTRATION:
                    continue
                regs, problems = read_registrations(h.dataset, h.path)
                out.append(
                    Loadable(
                        files=(h.path,),
                        name=f"Spatial registration ({len(regs)} frames of reference)",
                        tooltip=", ".join(r["frame_of_reference_uid"] for r in regs),
                        warnings=tuple(problems),
                        confidence=0.9,
                        plugin=self.name,
                        series_uid=h.series_uid,
                    )
                )
        return out

    def load(self, loadable: Loadable, **_: Any) -> Registration:
        from pydicom import dcmread

        from srkit.load.pixels import LoadError

        path = loadable.files[0]
        try:
            ds = dcmread(path)
        except Exception as exc:
            raise LoadError(f"not a readable DICOM file ({exc})", source=path) from None
        regs, problems = read_registrations(ds, path)
        if problems:
            raise LoadError(problems[0].message)
        return Registration(
            frame_of_reference_uid=str(ds.get("FrameOfReferenceUID", "")),
            registrations=regs,
            name=loadable.name,
            warnings=tuple(loadable.warnings),
        )
