"""From volumes back to DICOM: a new image series, and a SEG from a labelmap (highdicom).

The other way of Slicer's DICOM export. A volume written as an image series gets the
patient, study and frame of reference of the series it is "like", a new Series Instance
UID and new SOP Instance UIDs, the SOP class and Image Type by modality (CT, MR, else
Secondary Capture; ``DERIVED\\SECONDARY``) and one image per slice with its Image
Position/Orientation (PS3.3 C.7.6.2) from the affine. A labelmap on a series' grid becomes
a Segmentation (PS3.3 A.51) through highdicom, with segment descriptions from dcmqi's
JSON (``segmentAttributes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from srkit.errors import SrkitError
from srkit.load.volume import Volume

__all__ = ["volume_from_nifti", "write_image_series", "write_seg", "segment_descriptions"]

IMAGE_CLASSES = {"CT": "1.2.840.10008.5.1.4.1.1.2", "MR": "1.2.840.10008.5.1.4.1.1.4"}
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
MODALITY_ATTRIBUTES = {
    "CT": ("KVP", "AcquisitionNumber"),
    "MR": (
        "ScanningSequence",
        "SequenceVariant",
        "ScanOptions",
        "MRAcquisitionType",
        "RepetitionTime",
        "EchoTime",
        "EchoTrainLength",
        "MagneticFieldStrength",
    ),
}
"""Acquisition attributes of the CT/MR Image modules (PS3.3 C.8.2.1, C.8.3.1) copied from
the like series (the new series describes the same acquisition)."""
GRID_TOLERANCE_MM = 1e-3


def volume_from_nifti(path: str | Path) -> Volume:
    """A NIfTI file as a :class:`Volume` (the inverse of :meth:`Volume.to_nifti`)."""
    try:
        import nibabel

        nib: Any = nibabel
    except ImportError:  # pragma: no cover
        from srkit.errors import MissingDependencyError

        raise MissingDependencyError("NIfTI needs nibabel: pip install 'srkit[load]'") from None
    try:
        img = nib.load(str(path))
    except Exception as exc:
        raise SrkitError(f"not a readable NIfTI file ({exc})", source=str(path)) from None
    data = np.asanyarray(img.dataobj)
    if data.ndim < 3:
        data = data.reshape(*data.shape, *([1] * (3 - data.ndim)))
    array = data.transpose(2, 1, 0, *range(3, data.ndim))
    ras = np.asarray(img.affine, dtype=np.float64)
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ ras
    affine = np.eye(4)
    affine[:3, 0] = lps[:3, 2]
    affine[:3, 1] = lps[:3, 1]
    affine[:3, 2] = lps[:3, 0]
    affine[:3, 3] = lps[:3, 3]
    return Volume(array=array, affine=affine, name=Path(path).name)


def _grid_matches(a: Volume, b: Volume) -> bool:
    return tuple(a.array.shape[:3]) == tuple(b.array.shape[:3]) and bool(
        np.allclose(a.affine, b.affine, atol=GRID_TOLERANCE_MM)
    )


def _source_volume(files: Sequence[str]) -> Volume:
    from srkit.load.api import examine_files
    from srkit.load.scalar import ScalarVolumePlugin

    result = examine_files([list(files)], plugins=["scalar"])
    whole = [x for x in result.loadables if not x.reason]
    if not whole:
        raise SrkitError(f"no image series among {len(files)} files (first {files[0]})")
    volume: Volume = ScalarVolumePlugin().load(whole[0])
    return volume


def segment_descriptions(meta: dict[str, Any], numbers: Sequence[int]) -> list[Any]:
    """highdicom segment descriptions from dcmqi JSON, for the segment numbers present."""
    import highdicom as hd
    from pydicom.sr.coding import Code

    def code(d: dict[str, str] | None, what: str) -> Any:
        if not d:
            raise SrkitError(f"segment metadata lack {what}")
        return Code(d["CodeValue"], d["CodingSchemeDesignator"], d["CodeMeaning"])

    attrs = {int(a["labelID"]): a for group in meta.get("segmentAttributes", []) for a in group}
    out = []
    for n in numbers:
        if n not in attrs:
            raise SrkitError(f"label {n} of the labelmap has no entry in segmentAttributes")
        a = attrs[n]
        algorithm_type = a.get("SegmentAlgorithmType", "MANUAL")
        ident = None
        if algorithm_type != "MANUAL":
            ident = hd.AlgorithmIdentificationSequence(
                name=a.get("SegmentAlgorithmName", "unknown"),
                family=Code("123109", "DCM", "Manual Processing")
                if algorithm_type == "SEMIAUTOMATIC"
                else Code("123110", "DCM", "Artificial Intelligence"),
                version="1",
            )
        color = None
        if "recommendedDisplayRGBValue" in a:
            color = hd.color.CIELabColor.from_rgb(
                *[int(v) for v in a["recommendedDisplayRGBValue"]]
            )
        out.append(
            hd.seg.SegmentDescription(
                segment_number=n,
                segment_label=a.get("SegmentLabel")
                or a.get("SegmentDescription")
                or f"Segment {n}",
                segmented_property_category=code(
                    a.get("SegmentedPropertyCategoryCodeSequence"), "a category"
                ),
                segmented_property_type=code(a.get("SegmentedPropertyTypeCodeSequence"), "a type"),
                algorithm_type=algorithm_type,
                algorithm_identification=ident,
                tracking_uid=a.get("TrackingUniqueIdentifier"),
                tracking_id=a.get("TrackingIdentifier"),
                display_color=color,
            )
        )
    return out


def write_seg(
    labels: Volume,
    source_files: Sequence[str | Path],
    meta: dict[str, Any],
    path: str | Path,
    *,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
) -> Path:
    """Write a labelmap on the grid of ``source_files`` as a BINARY Segmentation.

    Parameters
    ----------
    labels : Volume
        Integer segment numbers (0 background), on the source series' grid.
    source_files : sequence of path
        The image series the labels were drawn on.
    meta : dict
        dcmqi seg-schema JSON (``segmentAttributes``, ``SeriesDescription``, ...).
    path : path
        The SEG file to write.

    Raises
    ------
    SrkitError
        The labelmap is not on the series' grid, or a label has no description.
    """
    import warnings

    import highdicom as hd
    from pydicom import dcmread
    from pydicom.uid import generate_uid

    source = _source_volume([str(f) for f in source_files])
    if not _grid_matches(labels, source):
        raise SrkitError(
            f"the labelmap grid {tuple(labels.array.shape[:3])} does not match the series "
            f"grid {tuple(source.array.shape[:3])} (within {GRID_TOLERANCE_MM} mm)",
            source=str(path),
        )
    by_uid = {}
    for f in source_files:
        ds = dcmread(str(f))
        if "SpecificCharacterSet" in ds and not ds.SpecificCharacterSet:
            del ds.SpecificCharacterSet  # empty: the default repertoire (highdicom refuses "")
        by_uid[str(ds.SOPInstanceUID)] = ds
    images = [by_uid[u] for u in source.slice_uids]
    array = np.asarray(labels.array).astype(np.uint16 if labels.array.max() > 255 else np.uint8)
    numbers = sorted(int(v) for v in np.unique(array) if v != 0)
    if not numbers:
        raise SrkitError("the labelmap is empty", source=str(path))
    descriptions = segment_descriptions(meta, numbers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        seg = hd.seg.Segmentation(
            source_images=images,
            pixel_array=array,
            segmentation_type="BINARY",
            segment_descriptions=descriptions,
            series_instance_uid=series_instance_uid or generate_uid(),
            series_number=int(meta.get("SeriesNumber", 300)),
            sop_instance_uid=sop_instance_uid or generate_uid(),
            instance_number=int(meta.get("InstanceNumber", 1)),
            manufacturer="srkit",
            manufacturer_model_name="srkit",
            software_versions=_version(),
            device_serial_number="1",
            content_creator_name=meta.get("ContentCreatorName"),
            content_label="SEGMENTATION",
            series_description=meta.get("SeriesDescription", "Segmentation"),
        )
    path = Path(path)
    seg.save_as(path)
    return path


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("srkit")
    except PackageNotFoundError:
        return "0"


def write_image_series(
    volume: Volume,
    like_files: Sequence[str | Path],
    folder: str | Path,
    *,
    series_instance_uid: str | None = None,
    series_description: str = "srkit derived",
) -> list[Path]:
    """Write a volume as a new single-frame image series "like" an existing one.

    Raises
    ------
    SrkitError
        ``series_instance_uid`` is that of the like series (an existing series is never
        overwritten), or the volume is not 3D.
    """
    from pydicom import dcmread
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

    like = dcmread(str(like_files[0]), stop_before_pixels=True)
    if series_instance_uid and series_instance_uid == str(like.SeriesInstanceUID):
        raise SrkitError(
            f"Series Instance UID {series_instance_uid} is the existing series'; a new "
            "series needs a new UID"
        )
    array = np.asarray(volume.array)
    if array.ndim != 3:
        raise SrkitError(f"an image series needs a 3D volume, not shape {array.shape}")
    modality = str(like.get("Modality", "OT"))
    sop_class = IMAGE_CLASSES.get(modality, SECONDARY_CAPTURE)
    if array.dtype.kind in "iu" and array.min() >= -32768 and array.max() <= 32767:
        stored, slope, intercept = array.astype(np.int16), 1.0, 0.0
    else:
        lo, hi = float(array.min()), float(array.max())
        slope = (hi - lo) / 65535 if hi > lo else 1.0
        intercept = lo + 32768 * slope
        stored = np.round((array - intercept) / slope).clip(-32768, 32767).astype(np.int16)
    series_uid = series_instance_uid or generate_uid()
    a = np.asarray(volume.affine, dtype=np.float64)
    col_step, row_step = a[:3, 1], a[:3, 2]
    dr, dc = float(np.linalg.norm(col_step)), float(np.linalg.norm(row_step))
    row_dir, col_dir = row_step / dc, col_step / dr
    thickness = float(np.linalg.norm(a[:3, 0]))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(stored.shape[0]):
        ds = Dataset()
        for keyword in (
            "PatientName",
            "PatientID",
            "PatientBirthDate",
            "PatientSex",
            "StudyInstanceUID",
            "StudyDate",
            "StudyTime",
            "StudyID",
            "AccessionNumber",
            "ReferringPhysicianName",
            "FrameOfReferenceUID",
            "PositionReferenceIndicator",
            "Manufacturer",
            "PatientPosition",
            "BodyPartExamined",
        ):
            if keyword in like:
                setattr(ds, keyword, like.get(keyword))
        sop = str(generate_uid())
        ds.SOPClassUID, ds.SOPInstanceUID = sop_class, sop
        ds.SeriesInstanceUID = series_uid
        ds.Modality = modality if sop_class != SECONDARY_CAPTURE else modality or "OT"
        ds.SeriesNumber = int(like.get("SeriesNumber", 0) or 0) + 1000
        ds.SeriesDescription = series_description
        ds.InstanceNumber = k + 1
        like_type = list(like.get("ImageType", []) or [])
        ds.ImageType = ["DERIVED", "SECONDARY", *(like_type[2:3] or ["OTHER"])]
        ds.Laterality = like.get("Laterality", "")
        if sop_class == SECONDARY_CAPTURE:
            ds.ConversionType = "WSD"
        ds.ImagePositionPatient = [round(float(v), 6) for v in a[:3, 3] + k * a[:3, 0]]
        ds.ImageOrientationPatient = [round(float(v), 8) for v in (*row_dir, *col_dir)]
        ds.PixelSpacing = [round(dr, 6), round(dc, 6)]
        ds.SliceThickness = round(thickness, 6)
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows, ds.Columns = int(stored.shape[1]), int(stored.shape[2])
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = f"{slope:.10g}", f"{intercept:.10g}"
        for keyword in MODALITY_ATTRIBUTES.get(modality, ()):
            setattr(ds, keyword, like.get(keyword, ""))
        if modality == "MR" and not ds.SequenceVariant:
            ds.SequenceVariant = "NONE"  # Type 1; some sources leave it empty
        ds.PixelData = stored[k].tobytes()
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = UID(sop_class)
        meta.MediaStorageSOPInstanceUID = UID(sop)
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta = meta
        path = folder / f"{k + 1:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        out.append(path)
    return out
