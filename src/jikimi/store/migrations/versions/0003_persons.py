"""Protected persons: consent records, encrypted face templates, kept templates of flagged
media; matches get a float distance (face template distances) and a JSON ``detail``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# Written out rather than imported from jikimi.store.models (see 0001).
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = sa.DateTime(timezone=True)

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "persons",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("consent_by", sa.Text(), nullable=False),
        sa.Column("on_behalf_of", sa.Text(), nullable=True),
        sa.Column("authority", sa.Text(), nullable=True),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=True),
        sa.Column("enrolled_at", UTC_TIME, nullable=False),
        sa.Column("enrolled_by", sa.String(length=200), nullable=False),
        sa.Column("deleted_at", UTC_TIME, nullable=True),
        sa.Column("deleted_by", sa.String(length=200), nullable=True),
        sa.Column("delete_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
    )
    op.create_table(
        "person_templates",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("person_id", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name=op.f("fk_person_templates_person_id_persons")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_templates")),
    )
    op.create_index(
        op.f("ix_person_templates_person_id"), "person_templates", ["person_id"], unique=False
    )
    op.create_table(
        "face_templates",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("media_sha256", sa.String(length=64), nullable=False),
        sa.Column("box_left", sa.Integer(), nullable=False),
        sa.Column("box_top", sa.Integer(), nullable=False),
        sa.Column("box_right", sa.Integer(), nullable=False),
        sa.Column("box_bottom", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["media_sha256"], ["media.sha256"], name=op.f("fk_face_templates_media_sha256_media")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_templates")),
    )
    op.create_index(
        "uq_face_templates_media_box",
        "face_templates",
        ["media_sha256", "box_left", "box_top", "box_right", "box_bottom"],
        unique=True,
    )
    with op.batch_alter_table("matches") as batch:
        batch.alter_column(
            "distance",
            existing_type=sa.Integer(),
            type_=sa.Float(),
            existing_nullable=False,
        )
        batch.add_column(sa.Column("detail", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("detail")
        # Face distances are fractions; rounding is the best an integer column can hold.
        batch.alter_column(
            "distance",
            existing_type=sa.Float(),
            type_=sa.Integer(),
            existing_nullable=False,
            postgresql_using="round(distance)::integer",
        )
    op.drop_index("uq_face_templates_media_box", table_name="face_templates")
    op.drop_table("face_templates")
    op.drop_index(op.f("ix_person_templates_person_id"), table_name="person_templates")
    op.drop_table("person_templates")
    op.drop_table("persons")
