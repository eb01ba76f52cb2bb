"""DICOMweb (PS3.18): QIDO-RS, WADO-RS and STOW-RS over the database, and a client.

- :mod:`~srkit.net.dicomweb.routes`: the FastAPI router of the three services
  (:mod:`~srkit.net.dicomweb.qido`, :mod:`~srkit.net.dicomweb.wado`,
  :mod:`~srkit.net.dicomweb.stow`), with :mod:`~srkit.net.dicomweb.auth` (bearer token,
  path UIDs) and :mod:`~srkit.net.dicomweb.answers` (shared HTTP answers);
- :mod:`~srkit.net.dicomweb.params`: QIDO-RS query parameters;
- :mod:`~srkit.net.dicomweb.dicomjson`: DICOM JSON (PS3.18 Annex F);
- :mod:`~srkit.net.dicomweb.multipart`: ``multipart/related`` bodies;
- :mod:`~srkit.net.dicomweb.client`: pull and push with ``dicomweb-client``.
"""

from __future__ import annotations
