"""DICOM networking over the database: DIMSE (pynetdicom) and DICOMweb (FastAPI).

Modules: :mod:`~srkit.net.config` (known peers and what they may do),
:mod:`~srkit.net.scp` (the listener), :mod:`~srkit.net.scu` (client operations),
:mod:`~srkit.net.dicomweb` (QIDO-RS, WADO-RS, STOW-RS router),
:mod:`~srkit.net.dicomweb_client` (pull and push with ``dicomweb-client``),
:mod:`~srkit.net.peers` (Orthanc and DCMTK processes for tests and benchmarks).
Heavy dependencies are imported by the submodules only.
"""

from __future__ import annotations
