"""The media's PDQ in a column of its own, so the near-duplicate lookup of a removal decision
reads 64 characters per media instead of decoding each media's whole signals JSON.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.add_column(sa.Column("pdq", sa.String(length=64), nullable=True))
    # Backfill from the signals JSON; a value that is not 64 characters is left out (the
    # lookup validates what it reads anyway).
    if op.get_bind().dialect.name == "postgresql":
        value = "signals::json->>'pdq'"
    else:
        value = "json_extract(signals, '$.pdq')"
    op.execute(
        f"UPDATE media SET pdq = lower({value}) WHERE {value} IS NOT NULL AND length({value}) = 64"
    )
    # Covering, in sha256 order: the lookup's keyset pages read this index and not the rows.
    op.create_index(
        "ix_media_pdq",
        "media",
        ["sha256", "pdq"],
        sqlite_where=sa.text("pdq IS NOT NULL"),
        postgresql_where=sa.text("pdq IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_media_pdq", table_name="media")
    with op.batch_alter_table("media") as batch:
        batch.drop_column("pdq")
