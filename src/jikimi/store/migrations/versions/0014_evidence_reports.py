"""Evidence and reports: anchors of the custody log (a Merkle root over new events, with its
time-stamp tokens), reports sent to outside bodies (NCMEC CyberTipline, the DSA Transparency
Database, KCSC takedown packages) with their state and the outside body's id, and
preservation holds that keep a case's media and records past their retention.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Written out rather than imported from jikimi.store.models (see 0001).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "custody_anchors",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("merkle_root", sa.String(length=64), nullable=False),
        sa.Column("tokens", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_anchors")),
    )
    op.create_index("ix_custody_anchors_last_seq", "custody_anchors", ["last_seq"], unique=True)
    op.create_table(
        "report_submissions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("document_sha256", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_report_submissions_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_submissions")),
    )
    op.create_index("ix_report_submissions_case", "report_submissions", ["case_id", "kind"])
    op.create_table(
        "preservation_holds",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("until", UTC_TIME, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("released_at", UTC_TIME, nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_preservation_holds_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preservation_holds")),
    )
    op.create_index("ix_preservation_holds_case", "preservation_holds", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_preservation_holds_case", table_name="preservation_holds")
    op.drop_table("preservation_holds")
    op.drop_index("ix_report_submissions_case", table_name="report_submissions")
    op.drop_table("report_submissions")
    op.drop_index("ix_custody_anchors_last_seq", table_name="custody_anchors")
    op.drop_table("custody_anchors")
