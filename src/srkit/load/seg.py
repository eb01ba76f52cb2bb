"""The SEG plugin: Segmentation (and Label Map Segmentation) on the referenced grid.

Reads a SEG with highdicom (PS3.3 A.51, C.8.20). With the referenced image series among
the examined files, the segments are placed on that series' grid (the scalar volume
plugin's volume of it), frame by frame through the source instances each frame
references (highdicom's ``get_pixels_by_source_instance``) when the frames declare
that spatial locations are preserved, by position otherwise (``get_volume`` matched to
the grid). Without the
referenced series the loadable says so (``referenced_series_absent``) and loads on
the SEG's own grid.

``labelmap=True`` gives one integer volume of segment numbers; ``labelmap=False`` one
binary (or fractional) volume per segment, on a fourth axis in segment order. Segment
metadata are returned dcmqi-style (``segmentAttributes``), as in dcmqi's ``seg-schema``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from srkit.load.headers import HeaderCache
from srkit.load.loadable import Loadable, LoadWarning
from srkit.load.sopclasses import LABEL_MAP_SEGMENTATION, SEGMENTATION

__all__ = ["SegmentationPlugin", "segment_metadata", "SEG_CONFIDENCE"]

SEG_CONFIDENCE = 0.9


def _code(seq: Any) -> dict[str, str] | None:
    if not seq:
        return None
    item = seq[0]
    return {
        "CodeValue": str(item.get("CodeValue", "") or item.get("LongCodeValue", "")),
        "CodingSchemeDesignator": str(item.get("CodingSchemeDesignator", "")),
        "CodeMeaning": str(item.get("CodeMeaning", "")),
    }


def segment_metadata(ds: Any) -> dict[str, Any]:
    """dcmqi-style metadata of a SEG dataset (dcmqi ``seg-schema.json`` keys).

    Parameters
    ----------
    ds : pydicom.Dataset
        The SEG (its header is enough).

    Returns
    -------
    dict
        ``ContentCreatorName``, ``ClinicalTrial...``, ``SeriesDescription``,
        ``SeriesNumber``, ``InstanceNumber`` where present, and ``segmentAttributes``:
        one list with one mapping per segment (``labelID`` = Segment Number).
    """
    out: dict[str, Any] = {}
    for key in (
        "ContentCreatorName",
        "ClinicalTrialSeriesID",
        "ClinicalTrialTimePointID",
        "ClinicalTrialCoordinatingCenterName",
        "SeriesDescription",
        "SeriesNumber",
        "InstanceNumber",
        "BodyPartExamined",
    ):
        value = ds.get(key)
        if value not in (None, ""):
            out[key] = str(value)
    segments = []
    for item in ds.get("SegmentSequence", []):
        seg: dict[str, Any] = {"labelID": int(item.SegmentNumber)}
        for key in (
            "SegmentDescription",
            "SegmentLabel",
            "SegmentAlgorithmType",
            "SegmentAlgorithmName",
            "TrackingIdentifier",
            "TrackingUID",
        ):
            value = item.get(key)
            if value not in (None, ""):
                seg["TrackingUniqueIdentifier" if key == "TrackingUID" else key] = str(value)
        for key in (
            "SegmentedPropertyCategoryCodeSequence",
            "SegmentedPropertyTypeCodeSequence",
            "AnatomicRegionSequence",
        ):
            code = _code(item.get(key))
            if code:
                seg[key] = code
        prop = item.get("SegmentedPropertyTypeCodeSequence")
        if prop and prop[0].get("SegmentedPropertyTypeModifierCodeSequence"):
            seg["SegmentedPropertyTypeModifierCodeSequence"] = _code(
                prop[0].SegmentedPropertyTypeModifierCodeSequence
            )
        lab = item.get("RecommendedDisplayCIELabValue")
        if lab is not None:
            try:
                from highdicom.color import CIELabColor

                seg["recommendedDisplayRGBValue"] = [
                    int(v)
                    for v in CIELabColor.from_dicom_value(tuple(int(x) for x in lab)).to_rgb()
                ]
            except (ImportError, ValueError, TypeError):
                pass
        segments.append(seg)
    out["segmentAttributes"] = [segments]
    return out


def _referenced_series(ds: Any) -> list[str]:
    out = [str(s.SeriesInstanceUID) for s in ds.get("ReferencedSeriesSequence", []) or []]
    for study in ds.get("StudiesContainingOtherReferencedInstancesSequence", []) or []:
        out.extend(str(s.SeriesInstanceUID) for s in study.get("ReferencedSeriesSequence", []))
    return out


class SegmentationPlugin:
    """SEG -> a labelmap or per-segment volumes on the referenced series' grid."""

    name = "seg"

    def examine(self, file_lists: Sequence[Sequence[str]], headers: HeaderCache) -> list[Loadable]:
        """One loadable per SEG file, with the referenced series' files when present."""
        images = headers.image_series()
        out = []
        for files in file_lists:
            for h in headers.of(str(f) for f in files):
                if h.sop_class_uid not in (SEGMENTATION, LABEL_MAP_SEGMENTATION):
                    continue
                ds = h.dataset
                refs = _referenced_series(ds)
                ref_files = [x.path for uid in refs for x in images.get(uid, [])]
                warnings: list[LoadWarning] = []
                if not ref_files:
                    warnings.append(
                        LoadWarning(
                            code="referenced_series_absent",
                            message=f"{h.path}: the referenced series "
                            f"{', '.join(refs) or '(none named)'} is not among the files; "
                            "the segments load on the SEG's own grid",
                            files=(h.path,),
                        )
                    )
                labels = [str(s.get("SegmentLabel", "")) for s in ds.get("SegmentSequence", [])]
                desc = str(ds.get("SeriesDescription", "") or "Segmentation")
                out.append(
                    Loadable(
                        files=(h.path,),
                        name=f"{desc} ({len(labels)} segments)",
                        tooltip=f"{ds.get('SegmentationType', '')!s} segmentation of "
                        f"{', '.join(labels)}",
                        warnings=tuple(warnings),
                        confidence=SEG_CONFIDENCE,
                        plugin=self.name,
                        series_uid=h.series_uid,
                        extra={
                            "referenced_series": refs,
                            "reference_files": ref_files,
                            "segments": labels,
                            "segmentation_type": str(ds.get("SegmentationType", "")),
                        },
                    )
                )
        return out

    def load(
        self,
        loadable: Loadable,
        *,
        labelmap: bool = True,
        reference: Any = None,
        **_: Any,
    ) -> Any:
        """A :class:`~srkit.load.volume.Volume` of the segments.

        Parameters
        ----------
        loadable : Loadable
            Made by :meth:`examine`.
        labelmap : bool
            One volume of segment numbers (True) or one volume per segment (False).
        reference : Volume, optional
            The referenced series already loaded; otherwise it is loaded from the
            loadable's reference files.

        Raises
        ------
        LoadError
            The SEG cannot be read, or its segments cannot be combined into a labelmap
            (overlapping or fractional segments: use ``labelmap=False``).
        """
        import numpy as np

        from srkit.load.pixels import LoadError
        from srkit.load.volume import Volume

        try:
            import highdicom as hd
        except ImportError:  # pragma: no cover - depends on the installation
            from srkit.errors import MissingDependencyError

            raise MissingDependencyError(
                "SEG loading needs highdicom: pip install 'srkit[load]'"
            ) from None
        path = loadable.files[0]
        try:
            seg = hd.seg.segread(path)
        except Exception as exc:
            raise LoadError(f"not a readable SEG ({exc})", source=path) from None
        warnings = list(loadable.warnings)
        ref_files = loadable.extra.get("reference_files") or []
        if reference is None and ref_files:
            reference = _load_reference(ref_files)
        meta: dict[str, Any] = {
            "Modality": "SEG",
            "SeriesInstanceUID": str(seg.SeriesInstanceUID),
            "SeriesDescription": str(seg.get("SeriesDescription", "")),
            "SrkitSegmentation": segment_metadata(seg),
        }
        numbers = [int(s.SegmentNumber) for s in seg.SegmentSequence]
        try:
            if reference is not None:
                array = _on_reference(seg, reference, labelmap, hd)
                affine, uids = reference.affine, reference.slice_uids
            else:
                vol = seg.get_volume(combine_segments=labelmap, relabel=False)
                array, affine = vol.array, vol.affine
                uids = ()
        except (ValueError, RuntimeError, KeyError, IndexError) as exc:
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            hint = (
                "; load one volume per segment instead (labelmap=False, srkit load --segments)"
                if labelmap and ("overlap" in text or "FRACTIONAL" in text)
                else ""
            )
            raise LoadError(f"segments cannot be placed ({text}){hint}", source=path) from None
        if labelmap:
            array = array.astype(np.uint16 if max(numbers, default=0) > 255 else np.uint8)
        meta["SrkitSegmentNumbers"] = numbers
        return Volume(
            array=array,
            affine=affine,
            slice_uids=tuple(uids),
            units="",
            dtype_policy="labelmap" if labelmap else "segments",
            warnings=tuple(warnings),
            meta=meta,
            name=loadable.name,
        )


def _load_reference(files: Sequence[str]) -> Any:
    from srkit.load.scalar import ScalarVolumePlugin

    item = Loadable(files=tuple(files), name="reference", plugin="scalar")
    return ScalarVolumePlugin().load(item)


def _on_reference(seg: Any, reference: Any, labelmap: bool, hd: Any) -> Any:
    """The segment pixels on the reference volume's grid (slice, row, column[, segment])."""
    import numpy as np

    referenced = {
        str(r.ReferencedSOPInstanceUID)
        for item in seg.get("ReferencedSeriesSequence", [])
        for r in item.get("ReferencedInstanceSequence", [])
    }
    by_source = bool(referenced) and _frames_reference_sources(seg)
    if by_source:
        try:
            return seg.get_pixels_by_source_instance(
                source_sop_instance_uids=list(reference.slice_uids),
                combine_segments=labelmap,
                relabel=False,
                assert_missing_frames_are_empty=False,
            )
        except RuntimeError as exc:
            # frames that do not declare Spatial Locations Preserved: place by position
            if "spatial locations" not in str(exc):
                raise
    vol = seg.get_volume(combine_segments=labelmap, relabel=False)
    shape = tuple(int(x) for x in np.asarray(reference.array).shape[:3])
    geometry = hd.VolumeGeometry(
        np.asarray(reference.affine),
        shape,
        "PATIENT",
        frame_of_reference_uid=seg.FrameOfReferenceUID,
    )
    return vol.match_geometry(geometry).array


def _frames_reference_sources(seg: Any) -> bool:
    groups = seg.get("PerFrameFunctionalGroupsSequence") or []
    if not groups:
        return False
    item = groups[0]
    deriv = item.get("DerivationImageSequence")
    return bool(deriv and deriv[0].get("SourceImageSequence"))
