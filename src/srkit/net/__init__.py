"""DICOM networking over the database: DIMSE and DICOMweb.

- :mod:`srkit.net.dimse`: the DIMSE listener (own Upper Layer, pynetdicom for
  presentation-context negotiation) and the client commands (pynetdicom SCU).
- :mod:`srkit.net.dicomweb`: QIDO-RS, WADO-RS and STOW-RS (FastAPI) and the
  DICOMweb client (``dicomweb-client``).
- :mod:`srkit.net.status`: every DIMSE status srkit sends or expects, with its
  meaning; :mod:`srkit.net.matching` and :mod:`srkit.net.charset`: what both
  query services share.

Heavy dependencies are imported by the submodules only.
"""

from __future__ import annotations
