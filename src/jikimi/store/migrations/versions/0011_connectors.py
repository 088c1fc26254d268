"""Connectors: each item's platform record kept verbatim, the propagation graph between
messages (forwarded from, reply to, via bot), and named checkpoints (a bot's update offset,
an exchange's sync position, an export's progress) that survive restarts.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Written out rather than imported from jikimi.store.models (see 0001).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("raw", sa.Text(), nullable=True))
    op.create_table(
        "item_links",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("chat_id", sa.String(length=200), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_item_links_item_id_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_links")),
    )
    op.create_index("ix_item_links_item_id", "item_links", ["item_id"])
    op.create_index("ix_item_links_target", "item_links", ["kind", "chat_id", "message_id"])
    op.create_index("ix_item_links_actor", "item_links", ["kind", "actor"])
    op.create_table(
        "checkpoints",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_checkpoints")),
    )


def downgrade() -> None:
    op.drop_table("checkpoints")
    op.drop_index("ix_item_links_actor", table_name="item_links")
    op.drop_index("ix_item_links_target", table_name="item_links")
    op.drop_index("ix_item_links_item_id", table_name="item_links")
    op.drop_table("item_links")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("raw")
