"""The scalar volume plugin: single-frame CT, MR, PET, ... series as volumes.

Examines the images of each list, splits them into sub-series
(:mod:`srkit.load.subseries`), runs the geometry checks on every part
(:mod:`srkit.load.geometry`) and loads a part into a :class:`~srkit.load.volume.Volume`
(PS3.3 C.7.6.2 Image Plane, C.7.6.3 Image Pixel, C.11.1 Modality LUT, C.11.2 VOI LUT).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from srkit.diagnostics import Severity
from srkit.load.headers import Header, HeaderCache
from srkit.load.loadable import Loadable, LoadWarning
from srkit.load.sopclasses import SINGLE_FRAME_CONFIDENCE, SINGLE_FRAME_IMAGES

__all__ = ["ScalarVolumePlugin", "SIDECAR_KEYS"]

WHOLE_SERIES_PENALTY = 0.05
"""The whole series is offered this much below its parts when it splits."""
LOCALIZER_CONFIDENCE = 0.1

SIDECAR_KEYS = (
    "Modality",
    "Manufacturer",
    "ManufacturerModelName",
    "SeriesDescription",
    "ProtocolName",
    "SeriesNumber",
    "AcquisitionNumber",
    "ImageType",
    "SliceThickness",
    "SpacingBetweenSlices",
    "ConvolutionKernel",
    "PatientPosition",
    "SeriesInstanceUID",
    "StudyInstanceUID",
    "BodyPartExamined",
    "SoftwareVersions",
    "EchoTime",
    "RepetitionTime",
    "FlipAngle",
    "MagneticFieldStrength",
    "KVP",
    "ImageOrientationPatient",
)
"""DICOM keywords copied to the sidecar (dcm2niix's key for each, see nifti.py)."""


def _name(ds: Any) -> str:
    desc = str(ds.get("SeriesDescription", "") or "").strip()
    if desc:
        return desc
    number = ds.get("SeriesNumber")
    modality = str(ds.get("Modality", "") or "")
    return f"{modality} series {number}".strip() if number is not None else modality or "series"


class ScalarVolumePlugin:
    """Single-frame image series -> volumes (Slicer's scalar volume plugin)."""

    name = "scalar"

    def __init__(self, tolerances: Any = None) -> None:
        self.tolerances = tolerances

    # -- examine ---------------------------------------------------------------------
    def examine(self, file_lists: Sequence[Sequence[str]], headers: HeaderCache) -> list[Loadable]:
        """Loadables for every list: the whole series and its sub-series."""
        from srkit.load.subseries import is_localizer, split

        out: list[Loadable] = []
        for files in file_lists:
            images = [
                h
                for h in headers.of(str(f) for f in files)
                if h.sop_class_uid in SINGLE_FRAME_IMAGES
                and int(h.values.get("NumberOfFrames", 1) or 1) == 1
            ]
            if not images:
                continue
            by_series: dict[str, list[Header]] = {}
            for h in images:
                by_series.setdefault(h.series_uid, []).append(h)
            for series_uid, hs in by_series.items():
                first = hs[0].values
                base = max(SINGLE_FRAME_CONFIDENCE.get(h.sop_class_uid, 0.3) for h in hs)
                name = _name(first)
                parts = split(hs)
                extra_whole: list[LoadWarning] = []
                classes = {h.sop_class_uid for h in hs}
                if len(classes) > 1:
                    extra_whole.append(
                        LoadWarning(
                            code="mixed_sop_classes",
                            message=f"series {series_uid} mixes SOP classes "
                            f"{', '.join(sorted(SINGLE_FRAME_IMAGES[c] for c in classes))}; "
                            f"first file {hs[0].path}",
                            files=(hs[0].path,),
                        )
                    )
                whole = self._loadable(
                    tuple(h.path for h in hs),
                    name=name,
                    tooltip=f"all {len(hs)} images of the series",
                    confidence=base - (WHOLE_SERIES_PENALTY if parts else 0.0),
                    series_uid=series_uid,
                    reason="",
                    headers=headers,
                    extra_warnings=extra_whole,
                )
                out.append(whole)
                numbers = sorted(
                    {
                        int(h.values.InstanceNumber)
                        for h in hs
                        if str(h.values.get("InstanceNumber", "")).strip().lstrip("-").isdigit()
                    }
                )
                for part in parts:
                    localizer = is_localizer(part, headers.headers, len(hs))
                    label = f"{part.key}={part.value or '(empty)'}"
                    out.append(
                        self._loadable(
                            part.files,
                            name=f"{name} [{label}]" + (" (localizer)" if localizer else ""),
                            tooltip=f"{len(part.files)} of {len(hs)} images, split by "
                            f"{part.key}" + ("; looks like a localizer" if localizer else ""),
                            confidence=LOCALIZER_CONFIDENCE if localizer else base,
                            series_uid=series_uid,
                            reason=part.key,
                            headers=headers,
                            extra_warnings=[],
                            localizer=localizer,
                            series_numbers=numbers,
                        )
                    )
        return out

    def _loadable(
        self,
        files: tuple[str, ...],
        *,
        name: str,
        tooltip: str,
        confidence: float,
        series_uid: str,
        reason: str,
        headers: HeaderCache,
        extra_warnings: list[LoadWarning],
        localizer: bool = False,
        series_numbers: list[int] | None = None,
    ) -> Loadable:
        from srkit.load.geometry import check_geometry

        infos = [_slice_info(headers.headers[f]) for f in files]
        geo = check_geometry(
            infos, headers.tolerances or self.tolerances, series_numbers=series_numbers
        )
        first = headers.headers[files[0]].values
        return Loadable(
            files=files,
            name=name,
            tooltip=tooltip,
            warnings=tuple(extra_warnings + geo.warnings),
            confidence=round(confidence, 6),
            plugin=self.name,
            series_uid=series_uid,
            reason=reason,
            extra={
                "modality": str(first.get("Modality", "") or ""),
                "sop_class_uid": str(first.get("SOPClassUID", "")),
                "images": len(files),
                "localizer": localizer,
                **({"series_instance_numbers": series_numbers} if series_numbers else {}),
            },
        )

    # -- load ------------------------------------------------------------------------
    def load(
        self,
        loadable: Loadable,
        *,
        regularize: str = "none",
        dtype: str = "auto",
        tolerances: Any = None,
        fast: bool = True,
        **_: Any,
    ) -> Any:
        """The :class:`~srkit.load.volume.Volume` of a loadable.

        Parameters
        ----------
        loadable : Loadable
            Made by :meth:`examine`.
        regularize : {"none", "report", "resample"}
            What to do with an irregular geometry (:mod:`srkit.load.regularize`).
        dtype : str
            Rescale dtype policy (:data:`srkit.load.volume.DTYPE_POLICIES`).
        tolerances : GeometryTolerances, optional
            Tolerances of the geometry checks.
        fast : bool
            Read native little endian headers without pydicom
            (:mod:`srkit.codec.imageheader`) and their pixel data straight into the
            volume; other files go through pydicom, file by file (``False``: pydicom's
            ``dcmread`` and pixel handlers for every file, the reference path; both give
            the same volume).

        Raises
        ------
        LoadError
            The geometry cannot make a volume (no positions, different image sizes,
            multi-frame images), or a file's pixel data cannot be read.
        """
        import numpy as np

        from srkit.load.geometry import GEOMETRY_CODES, check_geometry
        from srkit.load.headers import read_header, recent_header
        from srkit.load.pixels import LoadError, native_frame, read_native_into, read_pixels
        from srkit.load.regularize import MODES, resample
        from srkit.load.volume import (
            Volume,
            WindowPreset,
            apply_rescale,
            empty_array,
            rescaled_dtype,
        )

        if regularize not in MODES:
            raise LoadError(f"unknown regularisation {regularize!r} (one of {', '.join(MODES)})")
        headers: dict[str, Header] = {}
        for f in loadable.files:
            try:
                headers[f] = (recent_header(f) if fast else None) or read_header(f, fast=fast)
            except Exception as exc:
                raise LoadError(f"not a readable DICOM file ({exc})", source=f) from None
        infos = [_slice_info(h) for h in headers.values()]
        geo = check_geometry(
            infos,
            tolerances or self.tolerances,
            series_numbers=loadable.extra.get("series_instance_numbers"),
        )
        errors = [w for w in geo.warnings if w.severity is Severity.ERROR]
        if errors or not geo.ok:
            message = errors[0].message if errors else "the slices do not form a volume"
            raise LoadError(f"cannot load {loadable.name!r} as a volume: {message}")
        n = len(geo.slices)
        first_ds = None
        # native frames go straight from the files into the volume; the others (and
        # every frame with fast=False) through pydicom's pixel handlers
        plan = native_frame(headers[geo.slices[0].path].values) if fast else None
        stack = empty_array((n, *plan.shape), plan.dtype) if plan is not None else None
        lo, hi = np.inf, -np.inf
        for i, info in enumerate(geo.slices):
            header = headers[info.path]
            if (
                fast
                and stack is not None
                and read_native_into(info.path, header.values, stack[i], header.pixels)
            ):
                ds, frame = header.values, stack[i]
            else:
                ds, frame = read_pixels(info.path)
                if frame.ndim != 2:
                    raise LoadError(
                        f"expected one grey-level frame, found shape {frame.shape}",
                        source=info.path,
                    )
                if stack is None or (
                    i == 0 and (frame.dtype, frame.shape) != (stack.dtype, stack.shape[1:])
                ):
                    stack = empty_array((n, *frame.shape), frame.dtype)
                elif frame.shape != stack.shape[1:]:
                    raise LoadError(f"frame shape {frame.shape} differs", source=info.path)
                stack[i] = frame
            if i == 0:
                first_ds = ds
            lo, hi = min(lo, float(frame.min())), max(hi, float(frame.max()))
        assert stack is not None
        assert first_ds is not None
        pairs = tuple((s.slope, s.intercept) for s in geo.slices)
        target = rescaled_dtype(stack.dtype, (lo, hi), pairs, dtype)
        if dtype == "raw":
            array = stack
        elif len(set(pairs)) == 1:
            array = apply_rescale(stack, pairs[0][0], pairs[0][1], target, inplace=True)
        else:
            array = empty_array(stack.shape, target)
            for i, (s, b) in enumerate(pairs):
                array[i] = apply_rescale(stack[i], s, b, target)
        del stack
        uids = tuple(s.sop_instance_uid for s in geo.slices)
        affine = geo.affine
        displacement = None
        if regularize == "report":
            displacement = geo.displacement
        elif regularize == "resample":
            array, affine, nearest = resample(array, geo)
            uids = tuple(uids[j] for j in nearest)
        return Volume(
            array=array,
            affine=affine,
            slice_uids=uids,
            units=_units(first_ds),
            windows=_windows(first_ds, WindowPreset),
            dtype_policy=dtype,
            rescale=pairs,
            warnings=tuple(
                [w for w in loadable.warnings if w.code not in GEOMETRY_CODES] + geo.warnings
            ),
            regularization=regularize,
            displacement=displacement,
            meta=_meta(first_ds),
            name=loadable.name,
        )


def _slice_info(header: Header) -> Any:
    """The :class:`~srkit.load.geometry.SliceInfo` of a header, made once."""
    from srkit.load.geometry import slice_info

    return header.fact("slice_info", lambda h: slice_info(h.path, h.values))


def _units(ds: Any) -> str:
    rescale_type = str(ds.get("RescaleType", "") or "")
    if rescale_type and rescale_type.upper() != "US":
        return rescale_type
    if str(ds.get("Modality", "")) == "CT":
        return "HU"
    if "Units" in ds:
        return str(ds.Units)
    return ""


def _windows(ds: Any, preset: Any) -> tuple[Any, ...]:
    centers = ds.get("WindowCenter")
    widths = ds.get("WindowWidth")
    if centers is None or widths is None:
        return ()

    def seq(v: Any) -> list[Any]:
        return list(v) if hasattr(v, "__iter__") and not isinstance(v, str) else [v]

    names = seq(ds.get("WindowCenterWidthExplanation", []) or [])
    out = []
    for i, (c, w) in enumerate(zip(seq(centers), seq(widths))):
        try:
            out.append(preset(float(c), float(w), str(names[i]) if i < len(names) else ""))
        except (TypeError, ValueError):
            continue
    return tuple(out)


def _meta(ds: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in SIDECAR_KEYS:
        if key not in ds or ds.get(key) in (None, ""):
            continue
        value = ds.get(key)
        if hasattr(value, "__iter__") and not isinstance(value, str):
            value = [str(v) for v in value]
        elif hasattr(value, "real") and not isinstance(value, str):
            value = float(value) if not float(value).is_integer() else int(value)
        else:
            value = str(value)
        out[key] = value
    return out
