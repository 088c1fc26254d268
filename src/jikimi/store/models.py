"""The database tables, as SQLAlchemy 2 typed ORM models.

Portable across SQLite and PostgreSQL: JSON columns, timezone-aware times stored as UTC,
``BigInteger`` ids that still autoincrement on SQLite (where only ``INTEGER PRIMARY KEY`` does).
Nothing is deleted in place: banks, entries and persons carry tombstone columns (who, when,
why), so history and custody events keep pointing at real rows. The one exception is biometric:
a deleted person's face templates are really deleted.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Autoincrementing 64-bit ids; SQLite only autoincrements an ``INTEGER PRIMARY KEY``.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# Values longer than this are indexed by digest: PostgreSQL b-tree rows cap near 2.7 kB and
# vPDQ values of long videos run to megabytes. Every fixed-width hash fits unchanged.
VALUE_KEY_MAX = 128


def value_key(value: str) -> str:
    """The indexed form of a signal value: the value itself, or ``sha256:<digest>`` if long."""
    if len(value) <= VALUE_KEY_MAX:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC; naive values are refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware datetime (UTC)")
        value = value.astimezone(UTC)
        # SQLite has no time zones: store the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
        list[dict[str, Any]]: JSON(),
    }


class Bank(Base):
    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    pdq_threshold: Mapped[int] = mapped_column(Integer)
    try_transforms: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        # A deleted bank's name may be reused; the deleted row stays for history.
        Index(
            "uq_banks_live_name",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )


class BankEntry(Base):
    __tablename__ = "bank_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("banks.id"), index=True)
    signal_type: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(Text)
    value_key: Mapped[str] = mapped_column(String(VALUE_KEY_MAX))
    source: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    labels: Mapped[list[str]]
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by: Mapped[str] = mapped_column(String(200))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(200))
    withdraw_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(
            "uq_bank_entries_active",
            "bank_id",
            "signal_type",
            "value_key",
            unique=True,
            sqlite_where=text("withdrawn_at IS NULL"),
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
        Index("ix_bank_entries_lookup", "signal_type", "value_key"),
    )


class MediaRecord(Base):
    __tablename__ = "media"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str | None] = mapped_column(String(16))
    mime: Mapped[str | None] = mapped_column(String(100))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    frames: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Float)
    orientation: Mapped[int | None] = mapped_column(Integer)
    pdq_quality: Mapped[int | None] = mapped_column(Integer)
    signals: Mapped[dict[str, Any]]
    findings: Mapped[dict[str, Any] | None]  # detection signals beyond hashes, by name
    notes: Mapped[list[str]]
    error: Mapped[str | None] = mapped_column(Text)
    error_reason: Mapped[str | None] = mapped_column(String(64))
    kept_in_vault: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class Sighting(Base):
    __tablename__ = "sightings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    media_sha256: Mapped[str] = mapped_column(String(64), ForeignKey("media.sha256"), index=True)
    path: Mapped[str] = mapped_column(Text)
    scan_id: Mapped[str] = mapped_column(String(64), index=True)
    seen_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    plan: Mapped[list[str] | None]  # the cascade plan this scan followed
    steps: Mapped[list[dict[str, Any]] | None]  # what it actually ran on this media


class MatchRecord(Base):
    """A match of a media's signal against a bank entry. ``entry_id`` has no foreign key on
    purpose: matches may later come from other sources (protected persons) with their own ids."""

    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    media_sha256: Mapped[str] = mapped_column(String(64), ForeignKey("media.sha256"))
    scan_id: Mapped[str] = mapped_column(String(64))
    bank: Mapped[str] = mapped_column(String(200))
    entry_id: Mapped[int] = mapped_column(BigInteger)
    signal_type: Mapped[str] = mapped_column(String(32))
    distance: Mapped[float] = mapped_column(Float)
    bank_kind: Mapped[str] = mapped_column(String(32))
    transform: Mapped[str | None] = mapped_column(String(32))
    suppressed_by: Mapped[str | None] = mapped_column(String(200))
    matched_at: Mapped[datetime]
    detail: Mapped[dict[str, Any] | None]  # person matches: {"person", "name", "box"}

    __table_args__ = (
        Index(
            "uq_matches_media_entry", "media_sha256", "bank", "entry_id", "signal_type", unique=True
        ),
        Index("ix_matches_bank_entry", "bank", "entry_id"),
    )


class ScanFailure(Base):
    """A file that yielded no SHA-256 (unreadable, too large), keyed by path and scan."""

    __tablename__ = "scan_failures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    scan_id: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    error_reason: Mapped[str | None] = mapped_column(String(64))
    failed_at: Mapped[datetime]


class CustodyEventRecord(Base):
    """One link of the custody chain; ``seq`` is assigned under the head row's lock."""

    __tablename__ = "custody_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    tool_version: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class CustodyHead(Base):
    """The single row (id 1) holding the chain's last seq and hash. Appenders update it first,
    which serialises them on both backends (a row lock on PostgreSQL, the write lock on SQLite)
    and lets :meth:`CustodyLog.verify` notice a truncated tail."""

    __tablename__ = "custody_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class Person(Base):
    """A consenting protected person: the consent record, never a photo. A deleted person
    keeps this row as a tombstone (who withdrew, when, why); the templates are deleted."""

    __tablename__ = "persons"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # "prs_" + 12 hex
    name: Mapped[str] = mapped_column(String(200))
    consent_by: Mapped[str] = mapped_column(Text)
    on_behalf_of: Mapped[str | None] = mapped_column(Text)
    authority: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[list[str]]
    expires_at: Mapped[datetime | None]
    enrolled_at: Mapped[datetime]
    enrolled_by: Mapped[str] = mapped_column(String(200))
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[str | None] = mapped_column(String(200))
    delete_reason: Mapped[str | None] = mapped_column(Text)


class PersonTemplate(Base):
    """One enrolled face template, AES-256-GCM encrypted (see :mod:`jikimi.persons.crypto`).
    Rows are really deleted when the person is."""

    __tablename__ = "person_templates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(16), ForeignKey("persons.id"), index=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class FaceTemplateRecord(Base):
    """The encrypted template of a face found in flagged media, kept (only for flagged media:
    purpose limitation) so a new enrolment can be searched against what was already scanned."""

    __tablename__ = "face_templates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    media_sha256: Mapped[str] = mapped_column(String(64), ForeignKey("media.sha256"))
    box_left: Mapped[int] = mapped_column(Integer)
    box_top: Mapped[int] = mapped_column(Integer)
    box_right: Mapped[int] = mapped_column(Integer)
    box_bottom: Mapped[int] = mapped_column(Integer)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index(
            "uq_face_templates_media_box",
            "media_sha256",
            "box_left",
            "box_top",
            "box_right",
            "box_bottom",
            unique=True,
        ),
    )


GENESIS_HASH = "0" * 64
