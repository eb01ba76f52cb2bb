"""The RT Structure Set plugin: ROI contours in patient coordinates, and a labelmap on the
referenced series' grid (PS3.3 A.19, C.8.8.5 Structure Set, C.8.8.6 ROI Contour).

Each CLOSED_PLANAR contour is a polygon in patient (LPS) millimetres. On the grid of the
referenced image series (loaded by the scalar plugin) a voxel belongs to an ROI when its
centre lies inside one of the ROI's polygons in that slice's plane (even-odd rule, so a
hole drawn as a second contour stays empty); ROI k gets label ``ROINumber``. Contours
that lie in no slice plane (within half a slice) are a ``contour_off_grid`` warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from srkit.load.headers import HeaderCache
from srkit.load.loadable import Loadable, LoadWarning

__all__ = ["RTStructurePlugin", "StructureSet", "RT_STRUCTURE_SET", "rasterize"]

RT_STRUCTURE_SET = "1.2.840.10008.5.1.4.1.1.481.3"


@dataclass(slots=True, kw_only=True)
class StructureSet:
    """The ROIs of a structure set, and their labelmap when the grid is known."""

    rois: list[dict[str, Any]]
    labelmap: Any = None
    name: str = ""
    warnings: tuple[LoadWarning, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def to_nifti(self, path: Any) -> Any:
        """Write the labelmap (NIfTI) with the ROI table in the sidecar."""
        from srkit.errors import SrkitError

        if self.labelmap is None:
            raise SrkitError("the referenced series was not among the files: no labelmap")
        return self.labelmap.to_nifti(path)


def _rois(ds: Any) -> list[dict[str, Any]]:
    names = {
        int(r.ROINumber): str(r.get("ROIName", ""))
        for r in ds.get("StructureSetROISequence", []) or []
    }
    out = []
    for roi in ds.get("ROIContourSequence", []) or []:
        number = int(roi.ReferencedROINumber)
        contours = []
        for c in roi.get("ContourSequence", []) or []:
            data = [float(v) for v in c.get("ContourData", [])]
            contours.append(
                {
                    "type": str(c.get("ContourGeometricType", "")),
                    "points": [data[i : i + 3] for i in range(0, len(data) - 2, 3)],
                }
            )
        color = roi.get("ROIDisplayColor")
        out.append(
            {
                "number": number,
                "name": names.get(number, ""),
                "color": [int(v) for v in color] if color else None,
                "contours": contours,
            }
        )
    return out


def _referenced_series(ds: Any) -> list[str]:
    out = []
    for fr in ds.get("ReferencedFrameOfReferenceSequence", []) or []:
        for study in fr.get("RTReferencedStudySequence", []) or []:
            for series in study.get("RTReferencedSeriesSequence", []) or []:
                out.append(str(series.SeriesInstanceUID))
    return out


def _inside(points_2d: Any, xs: Any, ys: Any) -> Any:
    """Even-odd point-in-polygon of the grid (xs, ys) (1D column, row coordinates)."""
    import numpy as np

    px, py = points_2d[:, 0], points_2d[:, 1]
    gx, gy = np.meshgrid(xs, ys)
    inside = np.zeros(gx.shape, dtype=bool)
    n = len(px)
    for i in range(n):
        x1, y1, x2, y2 = px[i], py[i], px[(i + 1) % n], py[(i + 1) % n]
        if y1 == y2:
            continue
        crosses = (gy >= min(y1, y2)) & (gy < max(y1, y2))
        x_at = x1 + (gy - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (gx < x_at)
    return inside


def rasterize(rois: Sequence[dict[str, Any]], reference: Any) -> tuple[Any, list[str]]:
    """A labelmap of the ROIs on a reference volume's grid, and the contours off the grid.

    Parameters
    ----------
    rois : sequence of dict
        As :class:`StructureSet` holds them.
    reference : Volume
        The referenced series' volume (its affine maps (slice, row, column) to LPS).
    """
    import numpy as np

    shape = np.asarray(reference.array).shape[:3]
    a = np.asarray(reference.affine, dtype=np.float64)
    inverse = np.linalg.inv(a)
    labels = np.zeros(shape, dtype=np.uint16 if len(rois) > 255 else np.uint8)
    off: list[str] = []
    cols, rows = np.arange(shape[2], dtype=float), np.arange(shape[1], dtype=float)
    for roi in rois:
        planes: dict[int, Any] = {}
        for k, contour in enumerate(roi["contours"]):
            if contour["type"] != "CLOSED_PLANAR" or len(contour["points"]) < 3:
                continue
            pts = np.c_[np.asarray(contour["points"], dtype=float), np.ones(len(contour["points"]))]
            ijk = (inverse @ pts.T).T[:, :3]  # (slice, row, column) coordinates
            s = float(np.mean(ijk[:, 0]))
            index = round(s)
            if abs(s - index) > 0.5 or not 0 <= index < shape[0] or np.ptp(ijk[:, 0]) > 0.5:
                off.append(f"{roi['name'] or roi['number']} contour {k + 1}")
                continue
            mask = _inside(ijk[:, [2, 1]], cols, rows)
            # even-odd across the ROI's contours of one plane: a contour inside another
            # is a hole
            planes[index] = planes[index] ^ mask if index in planes else mask
        for index, mask in planes.items():
            plane = labels[index]
            plane[mask & (plane == 0)] = roi["number"]
    return labels, off


class RTStructurePlugin:
    """RT Structure Set -> ROI contours and a labelmap on the referenced grid."""

    name = "rtstruct"

    def examine(self, file_lists: Sequence[Sequence[str]], headers: HeaderCache) -> list[Loadable]:
        images = headers.image_series()
        out = []
        for files in file_lists:
            for h in headers.of(str(f) for f in files):
                if h.sop_class_uid != RT_STRUCTURE_SET:
                    continue
                refs = _referenced_series(h.dataset)
                ref_files = [x.path for uid in refs for x in images.get(uid, [])]
                warnings = []
                if not ref_files:
                    warnings.append(
                        LoadWarning(
                            code="referenced_series_absent",
                            message=f"{h.path}: the referenced series "
                            f"{', '.join(refs) or '(none named)'} is not among the files; "
                            "contours only, no labelmap",
                            files=(h.path,),
                        )
                    )
                names = [
                    str(r.get("ROIName", ""))
                    for r in h.dataset.get("StructureSetROISequence", []) or []
                ]
                out.append(
                    Loadable(
                        files=(h.path,),
                        name=f"{h.dataset.get('StructureSetLabel', 'RT Structure Set')} "
                        f"({len(names)} ROIs)",
                        tooltip=", ".join(names),
                        warnings=tuple(warnings),
                        confidence=0.9,
                        plugin=self.name,
                        series_uid=h.series_uid,
                        extra={
                            "referenced_series": refs,
                            "reference_files": ref_files,
                            "rois": names,
                        },
                    )
                )
        return out

    def load(self, loadable: Loadable, **_: Any) -> StructureSet:
        from pydicom import dcmread

        from srkit.load.pixels import LoadError
        from srkit.load.seg import _load_reference
        from srkit.load.volume import Volume

        path = loadable.files[0]
        try:
            ds = dcmread(path)
            rois = _rois(ds)
        except Exception as exc:
            raise LoadError(f"not a readable RT Structure Set ({exc})", source=path) from None
        warnings = list(loadable.warnings)
        labelmap = None
        ref_files = loadable.extra.get("reference_files") or []
        if ref_files:
            reference = _load_reference(ref_files)
            labels, off = rasterize(rois, reference)
            if off:
                warnings.append(
                    LoadWarning(
                        code="contour_off_grid",
                        message=f"{path}: {len(off)} contour(s) lie in no slice plane of the "
                        f"referenced series, first {off[0]}",
                        tolerance={"slice_fraction": 0.5},
                        files=(path,),
                    )
                )
            labelmap = Volume(
                array=labels,
                affine=reference.affine,
                slice_uids=reference.slice_uids,
                dtype_policy="labelmap",
                warnings=tuple(warnings),
                meta={
                    "Modality": "RTSTRUCT",
                    "SrkitROIs": [
                        {"number": r["number"], "name": r["name"], "color": r["color"]}
                        for r in rois
                    ],
                },
                name=loadable.name,
            )
        return StructureSet(
            rois=rois, labelmap=labelmap, name=loadable.name, warnings=tuple(warnings)
        )
