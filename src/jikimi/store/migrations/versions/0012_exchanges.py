"""Exchanges: outside sources of bank entries (StopNCII, NCMEC, files, URL lists), each with
its bank, non-secret settings, encrypted credentials and the outcome of its last sync; and the
records that map an exchange's upstream ids to the bank entries they produced, so an upstream
withdrawal or deletion withdraws exactly those entries.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Written out rather than imported from jikimi.store.models (see 0001).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchanges",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("bank", sa.String(length=200), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("credentials", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("last_sync_at", UTC_TIME, nullable=True),
        sa.Column("last_sync_status", sa.String(length=16), nullable=True),
        sa.Column("last_sync_error", sa.Text(), nullable=True),
        sa.Column("last_sync_counts", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchanges")),
        sa.UniqueConstraint("name", name=op.f("uq_exchanges_name")),
    )
    op.create_table(
        "exchange_records",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("exchange_id", sa.BigInteger(), nullable=False),
        sa.Column("upstream_id", sa.String(length=200), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=False),
        sa.Column("added_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
            name=op.f("fk_exchange_records_exchange_id_exchanges"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["bank_entries.id"],
            name=op.f("fk_exchange_records_entry_id_bank_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_records")),
    )
    op.create_index(
        "uq_exchange_records_upstream",
        "exchange_records",
        ["exchange_id", "upstream_id", "entry_id"],
        unique=True,
    )
    op.create_index("ix_exchange_records_entry_id", "exchange_records", ["entry_id"])


def downgrade() -> None:
    op.drop_index("ix_exchange_records_entry_id", table_name="exchange_records")
    op.drop_index("uq_exchange_records_upstream", table_name="exchange_records")
    op.drop_table("exchange_records")
    op.drop_table("exchanges")
