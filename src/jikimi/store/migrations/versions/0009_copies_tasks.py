"""Identical copies by MD5 and platform file id; review tasks in cases; the notified clock.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Written out rather than imported from jikimi.store.models (see 0001).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("item_media") as batch:
        batch.add_column(sa.Column("media_md5", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("file_id", sa.String(length=200), nullable=True))
    op.create_index(op.f("ix_item_media_media_sha256"), "item_media", ["media_sha256"])
    op.create_index(op.f("ix_item_media_media_md5"), "item_media", ["media_md5"])
    op.create_index(op.f("ix_item_media_file_id"), "item_media", ["file_id"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("notified_at", UTC_TIME, nullable=True))
    op.create_table(
        "case_tasks",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", UTC_TIME, nullable=True),
        sa.Column("decision_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_tasks_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_case_tasks_item_id_items")
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_case_tasks_decision_id_decisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_tasks")),
    )
    op.create_index(op.f("ix_case_tasks_case_id"), "case_tasks", ["case_id"])
    op.create_index("ix_case_tasks_open", "case_tasks", ["state", "item_id"])


def downgrade() -> None:
    op.drop_index("ix_case_tasks_open", table_name="case_tasks")
    op.drop_index(op.f("ix_case_tasks_case_id"), table_name="case_tasks")
    op.drop_table("case_tasks")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("notified_at")
    op.drop_index(op.f("ix_item_media_file_id"), table_name="item_media")
    op.drop_index(op.f("ix_item_media_media_md5"), table_name="item_media")
    op.drop_index(op.f("ix_item_media_media_sha256"), table_name="item_media")
    with op.batch_alter_table("item_media") as batch:
        batch.drop_column("file_id")
        batch.drop_column("media_md5")
