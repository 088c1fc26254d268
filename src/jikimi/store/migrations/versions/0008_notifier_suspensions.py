"""Suspensions of notifiers who send manifestly unfounded notices.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Written out rather than imported from jikimi.store.models (see 0001).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifier_suspensions",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("notifier", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("suspended_by", sa.String(length=200), nullable=False),
        sa.Column("suspended_at", UTC_TIME, nullable=False),
        sa.Column("lifted_at", UTC_TIME, nullable=True),
        sa.Column("lifted_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifier_suspensions")),
    )
    op.create_index(op.f("ix_notifier_suspensions_notifier"), "notifier_suspensions", ["notifier"])


def downgrade() -> None:
    op.drop_index(op.f("ix_notifier_suspensions_notifier"), table_name="notifier_suspensions")
    op.drop_table("notifier_suspensions")
