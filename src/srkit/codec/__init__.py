"""The only place that turns pydicom Datasets and DICOM JSON into the model and back."""

from srkit.codec.reader import ReadPolicy, load_dataset, read, read_dataset

__all__ = ["ReadPolicy", "load_dataset", "read", "read_dataset"]
from srkit.codec.writer import from_json, to_dataset, to_json, write

__all__ += ["from_json", "to_dataset", "to_json", "write"]
