"""The enhanced multi-frame plugin: Enhanced (and Legacy Converted Enhanced) CT, MR, PET.

Each frame's geometry comes from the functional groups (PS3.3 C.7.6.16): Plane
Position (Patient), Plane Orientation (Patient), Pixel Measures and Pixel Value
Transformation, per frame or shared. The frames then go through the same geometry
checks as a single-frame series (:mod:`srkit.load.geometry`) and load the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from srkit.diagnostics import Severity
from srkit.load.geometry import SliceInfo, _floats
from srkit.load.headers import HeaderCache
from srkit.load.loadable import Loadable
from srkit.load.sopclasses import MULTI_FRAME_IMAGES

__all__ = ["EnhancedVolumePlugin", "frame_infos"]

FRAME_SEPARATOR = "#frame="


def _group(ds: Any, i: int, keyword: str) -> Any:
    """The first item of a functional group macro for frame ``i`` (per-frame first)."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame is not None and i < len(per_frame):
        seq = per_frame[i].get(keyword)
        if seq:
            return seq[0]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        seq = shared[0].get(keyword)
        if seq:
            return seq[0]
    return None


def frame_infos(path: str, ds: Any, *, real_world: bool = False) -> list[SliceInfo]:
    """A :class:`SliceInfo` per frame of a multi-frame image (frame ``k`` is ``path#frame=k``,
    1-based as Frame Number is). With ``real_world`` the rescale of each frame also
    applies its first Real World Value Mapping (PS3.3 C.7.6.16.2.11)."""
    n = int(ds.get("NumberOfFrames", 1) or 1)
    out = []
    for i in range(n):
        pos = _group(ds, i, "PlanePositionSequence")
        ori = _group(ds, i, "PlaneOrientationSequence")
        px = _group(ds, i, "PixelMeasuresSequence")
        pvt = _group(ds, i, "PixelValueTransformationSequence")
        content = _group(ds, i, "FrameContentSequence")
        number = content.get("InStackPositionNumber") if content is not None else None
        slope = float(pvt.get("RescaleSlope", 1) if pvt else ds.get("RescaleSlope", 1) or 1)
        intercept = float(
            pvt.get("RescaleIntercept", 0) if pvt else ds.get("RescaleIntercept", 0) or 0
        )
        rw = _group(ds, i, "RealWorldValueMappingSequence") if real_world else None
        if rw is not None:
            rw_slope = float(rw.get("RealWorldValueSlope", 1.0))
            rw_intercept = float(rw.get("RealWorldValueIntercept", 0.0))
            slope, intercept = slope * rw_slope, intercept * rw_slope + rw_intercept
        out.append(
            SliceInfo(
                path=f"{path}{FRAME_SEPARATOR}{i + 1}",
                sop_instance_uid=str(ds.get("SOPInstanceUID", "")),
                position=_floats(pos.get("ImagePositionPatient") if pos else None, 3),  # type: ignore[arg-type]
                orientation=_floats(ori.get("ImageOrientationPatient") if ori else None, 6),  # type: ignore[arg-type]
                pixel_spacing=_floats(px.get("PixelSpacing") if px else None, 2),  # type: ignore[arg-type]
                rows=int(ds.get("Rows", 0) or 0),
                columns=int(ds.get("Columns", 0) or 0),
                instance_number=int(number) if number is not None else None,
                slope=slope,
                intercept=intercept,
            )
        )
    return out


class EnhancedVolumePlugin:
    """Enhanced multi-frame images -> volumes."""

    name = "enhanced"
    sop_classes: tuple[str, ...] = tuple(MULTI_FRAME_IMAGES)
    real_world = False
    """Apply the Real World Value Mapping (parametric maps)."""

    def examine(self, file_lists: Sequence[Sequence[str]], headers: HeaderCache) -> list[Loadable]:
        """One loadable per multi-frame image, its frames checked as a series."""
        from srkit.load.geometry import check_geometry

        out = []
        for files in file_lists:
            for h in headers.of(str(f) for f in files):
                if h.sop_class_uid not in self.sop_classes:
                    continue
                ds = h.dataset
                geo = check_geometry(
                    frame_infos(h.path, ds, real_world=self.real_world), headers.tolerances
                )
                desc = str(
                    ds.get("SeriesDescription", "")
                    or MULTI_FRAME_IMAGES.get(h.sop_class_uid, "Multi-frame image")
                )
                out.append(
                    Loadable(
                        files=(h.path,),
                        name=f"{desc} ({int(ds.get('NumberOfFrames', 1) or 1)} frames)",
                        tooltip=MULTI_FRAME_IMAGES.get(h.sop_class_uid, h.sop_class_uid),
                        warnings=tuple(geo.warnings),
                        confidence=0.5,
                        plugin=self.name,
                        series_uid=h.series_uid,
                        extra={
                            "modality": str(ds.get("Modality", "")),
                            "sop_class_uid": h.sop_class_uid,
                        },
                    )
                )
        return out

    def load(
        self,
        loadable: Loadable,
        *,
        regularize: str = "none",
        dtype: str = "auto",
        tolerances: Any = None,
        **_: Any,
    ) -> Any:
        """The :class:`~srkit.load.volume.Volume` of the frames (see the scalar plugin)."""
        import numpy as np

        from srkit.load.geometry import check_geometry
        from srkit.load.pixels import LoadError, read_pixels
        from srkit.load.regularize import MODES, resample
        from srkit.load.scalar import _meta, _units, _windows
        from srkit.load.volume import Volume, WindowPreset, apply_rescale, rescaled_dtype

        if regularize not in MODES:
            raise LoadError(f"unknown regularisation {regularize!r} (one of {', '.join(MODES)})")
        path = loadable.files[0]
        ds, frames = read_pixels(path)
        if frames.ndim == 2:
            frames = frames[None]
        if frames.ndim != 3:
            raise LoadError(f"expected grey-level frames, found shape {frames.shape}", source=path)
        geo = check_geometry(frame_infos(path, ds, real_world=self.real_world), tolerances)
        errors = [w for w in geo.warnings if w.severity is Severity.ERROR]
        if errors or not geo.ok:
            message = errors[0].message if errors else "the frames do not form a volume"
            raise LoadError(f"cannot load {loadable.name!r} as a volume: {message}")
        index = [int(s.path.rsplit(FRAME_SEPARATOR, 1)[1]) - 1 for s in geo.slices]
        stack = frames[index]
        pairs = tuple((s.slope, s.intercept) for s in geo.slices)
        target = rescaled_dtype(stack.dtype, (float(stack.min()), float(stack.max())), pairs, dtype)
        if dtype == "raw":
            array = stack
        else:
            array = np.empty(stack.shape, dtype=target)
            for i, (s, b) in enumerate(pairs):
                array[i] = apply_rescale(stack[i], s, b, target)
        affine, displacement = geo.affine, None
        if regularize == "report":
            displacement = geo.displacement
        elif regularize == "resample":
            array, affine, _nearest = resample(array, geo)
        voi = _group(ds, 0, "FrameVOILUTSequence") or ds
        meta = _meta(ds)
        meta["SrkitFrameNumbers"] = [i + 1 for i in index]
        return Volume(
            array=array,
            affine=affine,
            slice_uids=tuple(s.sop_instance_uid for s in geo.slices),
            units=_units(ds),
            windows=_windows(voi, WindowPreset),
            dtype_policy=dtype,
            rescale=pairs,
            warnings=tuple(geo.warnings),
            regularization=regularize,
            displacement=displacement,
            meta=meta,
            name=loadable.name,
        )
