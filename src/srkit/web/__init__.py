"""The web face of srkit: DICOMweb under ``/dicomweb`` and a browser interface at ``/``."""

from __future__ import annotations
