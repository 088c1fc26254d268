"""Notices and the legal clock: notices kept as received (with what they lack), case
locators (a second notice for the same content joins the open case), and on cases the origin,
jurisdiction, due and notify-by times, the deadline rule and the closing time.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Written out rather than imported from jikimi.store.models (see 0001).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(
            sa.Column("origin", sa.String(length=32), nullable=False, server_default="verdict")
        )
        batch.add_column(sa.Column("jurisdiction", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("due_at", UTC_TIME, nullable=True))
        batch.add_column(sa.Column("notify_by", UTC_TIME, nullable=True))
        batch.add_column(sa.Column("deadline_rule", sa.Text(), nullable=True))
        batch.add_column(sa.Column("closed_at", UTC_TIME, nullable=True))
    op.create_index("ix_cases_open_due", "cases", ["state", "due_at"])
    op.create_table(
        "notices",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("jurisdiction", sa.String(length=8), nullable=True),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("invalid", sa.JSON(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("notifier", sa.String(length=320), nullable=True),
        sa.Column("submitted_by", sa.String(length=200), nullable=False),
        sa.Column("receipt", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("due_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_notices_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("receipt", name=op.f("uq_notices_receipt")),
    )
    op.create_index(op.f("ix_notices_case_id"), "notices", ["case_id"], unique=False)
    op.create_table(
        "case_locators",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("signal_type", sa.String(length=32), nullable=True),
        sa.Column("notice_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_locators_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_case_locators_notice_id_notices")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_locators")),
    )
    op.create_index(op.f("ix_case_locators_case_id"), "case_locators", ["case_id"])
    op.create_index("ix_case_locators_value", "case_locators", ["kind", "value"])


def downgrade() -> None:
    op.drop_index("ix_case_locators_value", table_name="case_locators")
    op.drop_index(op.f("ix_case_locators_case_id"), table_name="case_locators")
    op.drop_table("case_locators")
    op.drop_index(op.f("ix_notices_case_id"), table_name="notices")
    op.drop_table("notices")
    op.drop_index("ix_cases_open_due", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        for column in ("closed_at", "deadline_rule", "notify_by", "due_at", "jurisdiction"):
            batch.drop_column(column)
        batch.drop_column("origin")
