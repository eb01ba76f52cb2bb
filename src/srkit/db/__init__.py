"""The local DICOM database: SQLAlchemy Core schema, import, SR content, queries.

SQLite by default (in the user's data folder), PostgreSQL by URL. DIMSE handlers and
DICOMweb routes call the same :class:`Database` methods as ``srkit import`` and
``srkit ls``.
"""

from __future__ import annotations

from srkit.db.batch import ImportReport
from srkit.db.database import Database, DuplicateInstanceError

__all__ = ["Database", "DuplicateInstanceError", "ImportReport"]
