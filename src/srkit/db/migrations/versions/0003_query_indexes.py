"""query indexes for the usual C-FIND / QIDO-RS keys

Indexes that keep the usual matching keys (PS3.4 C.6.1.1: Patient ID, Patient's
Name with a wildcard, Study Date range, Accession Number, Modalities in Study)
from scanning a large archive:

- ``study.patient_id`` and ``study.accession_number``: patient attributes at STUDY
  level are matched on the study row (:func:`srkit.db.query.column_of`);
- ``lower(patient_name)`` on ``patient`` and ``study``: Person Name matching is
  case-insensitive (PS3.4 C.2.2.2.1); :mod:`srkit.db.query` matches a wildcard with
  a literal prefix (``Smith*``) as a range of that expression, which SQLite's
  expression index serves; on PostgreSQL the index has ``text_pattern_ops`` so a
  left-anchored ``LIKE`` uses it whatever the database's collation;
- ``series (modality, study_pk)``: ModalitiesInStudy finds the studies through
  their series without reading each study's series.

Only indexes are added: no row changes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _lower_name(bind: sa.engine.Connection) -> sa.TextClause:
    if bind.dialect.name == "postgresql":
        return sa.text("lower(patient_name) text_pattern_ops")
    return sa.text("lower(patient_name)")


def upgrade() -> None:
    bind = op.get_bind()
    op.create_index("ix_study_patient_id", "study", ["patient_id"])
    op.create_index("ix_study_accession_number", "study", ["accession_number"])
    op.create_index("ix_study_lower_patient_name", "study", [_lower_name(bind)])
    op.create_index("ix_patient_lower_patient_name", "patient", [_lower_name(bind)])
    op.create_index("ix_series_modality_study_pk", "series", ["modality", "study_pk"])


def downgrade() -> None:  # pragma: no cover - srkit never downgrades
    op.drop_index("ix_series_modality_study_pk", "series")
    op.drop_index("ix_patient_lower_patient_name", "patient")
    op.drop_index("ix_study_lower_patient_name", "study")
    op.drop_index("ix_study_accession_number", "study")
    op.drop_index("ix_study_patient_id", "study")
