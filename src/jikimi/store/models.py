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
    # Matches in this bank may remove content without a human (policy safeguard: no other
    # fact can). Off unless the operator vouches for the bank's curation.
    auto_action: Mapped[bool] = mapped_column(Boolean, default=False)
    # The bank holds child sexual abuse material: its matches route to the child_safety queue.
    minors: Mapped[bool] = mapped_column(Boolean, default=False)
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
    # signals["pdq"] again, in a column: near-duplicate lookups read it without the JSON.
    pdq: Mapped[str | None] = mapped_column(String(64))
    signals: Mapped[dict[str, Any]]
    findings: Mapped[dict[str, Any] | None]  # detection signals beyond hashes, by name
    notes: Mapped[list[str]]
    error: Mapped[str | None] = mapped_column(Text)
    error_reason: Mapped[str | None] = mapped_column(String(64))
    kept_in_vault: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]

    __table_args__ = (
        Index(
            "ix_media_pdq",
            "sha256",
            "pdq",
            sqlite_where=text("pdq IS NOT NULL"),
            postgresql_where=text("pdq IS NOT NULL"),
        ),
    )


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

    # Finds the last event of some kinds (e.g. bank changes) without scanning the chain, and a
    # person's events of a kind since a time (a reviewer's reveals today).
    __table_args__ = (
        Index("ix_custody_events_kind_seq", "kind", "seq"),
        Index("ix_custody_events_kind_actor_at", "kind", "actor", "at"),
    )


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


class User(Base):
    """A person or machine that uses the service. Passwords are argon2id hashes; a machine
    user (role ``platform``) may have none and use tokens only. Disabled users keep their row."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None]
    disabled_by: Mapped[str | None] = mapped_column(String(200))


class ApiToken(Base):
    """An API token: ``jkm_<prefix>_<secret>``. Only the SHA-256 of the whole token is kept
    (tokens are 256-bit random, so a fast hash is enough); ``prefix`` finds the row."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(200))


class ConsoleSession(Base):
    """A sign-in to the review console: the cookie holds a random token, the row its SHA-256
    and the form token (CSRF) every POST must carry. Ended on sign-out; expires on its own."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class ConsoleSetting(Base):
    """An organisation-wide console setting an admin sets (the wellness defaults)."""

    __tablename__ = "console_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class UserPreference(Base):
    """A user's own console preferences (wellness overrides within the admin's limits)."""

    __tablename__ = "user_preferences"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class Case(Base):
    """The unit of human work: items and the notices behind them, a queue, a priority, the
    legal clock (``due_at`` in UTC from the first notice's receipt), assignee and state."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    state: Mapped[str] = mapped_column(String(32), default="new")
    queue: Mapped[str] = mapped_column(String(64), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    suspected_minor: Mapped[bool] = mapped_column(Boolean, default=False)
    assignee: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What opened it: "verdict" or a notice kind; the jurisdiction whose clock applies.
    origin: Mapped[str] = mapped_column(String(32), default="verdict")
    jurisdiction: Mapped[str | None] = mapped_column(String(8))
    due_at: Mapped[datetime | None]
    notify_by: Mapped[datetime | None]
    deadline_rule: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    # When the notifiers were told the outcome (Korean victim requests: within 14 days).
    notified_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_cases_open_due", "state", "due_at"),)


class Notice(Base):
    """A request from outside, kept as received (``body``), whether or not it is complete:
    ``missing`` and ``invalid`` say what it lacks. Complete notices open or join a case."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    jurisdiction: Mapped[str | None] = mapped_column(String(8))
    received_at: Mapped[datetime]
    body: Mapped[dict[str, Any]]
    missing: Mapped[list[str]]
    invalid: Mapped[list[dict[str, Any]]]
    complete: Mapped[bool] = mapped_column(Boolean)
    notifier: Mapped[str | None] = mapped_column(String(320))
    submitted_by: Mapped[str] = mapped_column(String(200))
    receipt: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    due_at: Mapped[datetime | None]


class Decision(Base):
    """A reviewer's ruling on a case, with the DSA statement of reasons it produced (none for
    ``keep``: nothing was restricted; none for ``escalate``: not a ruling yet)."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    ground: Mapped[str] = mapped_column(String(16))
    law: Mapped[str | None] = mapped_column(Text)
    terms: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    reasons: Mapped[str] = mapped_column(Text)
    automated_detection: Mapped[bool] = mapped_column(Boolean)
    automated_decision: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime]
    statement: Mapped[dict[str, Any] | None]


class Appeal(Base):
    """An internal complaint against a decision (DSA Art. 20): decided by a different
    reviewer; ``outcome`` "upheld" or "reversed" (the removal is undone)."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    decision_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("decisions.id"))
    filed_by: Mapped[str] = mapped_column(String(200))
    reasons: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime]
    outcome: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]


class NotifierSuspension(Base):
    """A notifier an admin suspended for manifestly unfounded notices (DSA Art. 23), with the
    reasons; their later notices are recorded but open no case until it is lifted."""

    __tablename__ = "notifier_suspensions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notifier: Mapped[str] = mapped_column(String(320), index=True)
    reason: Mapped[str] = mapped_column(Text)
    suspended_by: Mapped[str] = mapped_column(String(200))
    suspended_at: Mapped[datetime]
    lifted_at: Mapped[datetime | None]
    lifted_by: Mapped[str | None] = mapped_column(String(200))


class CaseLocator(Base):
    """Where a case's content is: a URL, a message, or a hash. A later notice naming the same
    locator joins the open case instead of opening another."""

    __tablename__ = "case_locators"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(VALUE_KEY_MAX))
    signal_type: Mapped[str | None] = mapped_column(String(32))
    notice_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("notices.id"))

    __table_args__ = (Index("ix_case_locators_value", "kind", "value"),)


class CaseTask(Base):
    """Work a decision left in its case: an item holding a perceptual near-duplicate of
    removed media (``kind`` "near_duplicate", ``detail`` the media, the removed one it
    resembles and the PDQ distance), for a reviewer to remove or keep."""

    __tablename__ = "case_tasks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    item_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("items.id"))
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16), default="open")  # open, removed, kept
    created_at: Mapped[datetime]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    decision_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("decisions.id"))

    __table_args__ = (Index("ix_case_tasks_open", "state", "item_id"),)


class Item(Base):
    """One piece of content seen on a platform: location, author, times, text and media."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    platform: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str | None] = mapped_column(String(200))
    message_id: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[str | None] = mapped_column(String(200))
    posted_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]]
    submitted_by: Mapped[str] = mapped_column(String(200))
    case_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("cases.id"), index=True)
    # The caller's own id for this item; a repeated POST with it returns the first item.
    external_id: Mapped[str | None] = mapped_column(String(200))
    # The platform's own record of the item (a Telegram export's message JSON), byte for byte
    # as received: evidence, never re-serialised.
    raw: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("uq_items_external", "submitted_by", "external_id", unique=True),
        Index("ix_items_location", "platform", "chat_id", "message_id"),
    )


class ItemLink(Base):
    """One edge of the propagation graph: this item was forwarded from, replied to, or posted
    via someone or something. ``chat_id``/``message_id`` name a message (reply_to), ``actor`` a
    typed actor such as ``channel1234`` or a bot's username (forwarded_from, via_bot)."""

    __tablename__ = "item_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("items.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    chat_id: Mapped[str | None] = mapped_column(String(200))
    message_id: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str | None] = mapped_column(String(200))
    label: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_item_links_target", "kind", "chat_id", "message_id"),
        Index("ix_item_links_actor", "kind", "actor"),
    )


class ItemMedia(Base):
    __tablename__ = "item_media"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("items.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    # Null when the media could not be read at all (the error says why).
    media_sha256: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("media.sha256"), index=True
    )
    media_md5: Mapped[str | None] = mapped_column(String(32), index=True)
    # The platform's own id for the file (Telegram's file_unique_id): a free exact-copy key,
    # known even when the file itself could not be fetched.
    file_id: Mapped[str | None] = mapped_column(String(200), index=True)
    filename: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class VerdictRecord(Base):
    """A verdict, with the policy version that produced it and its reasons."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("items.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    automated: Mapped[bool] = mapped_column(Boolean)
    suspected_minor: Mapped[bool] = mapped_column(Boolean, default=False)
    actions: Mapped[list[str]]
    reasons: Mapped[list[dict[str, Any]]]
    policy_version: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxRecord(Base):
    """One effect waiting for (or done with) delivery by a sink. Written in the same
    transaction as the verdict or decision that asked for it (transactional outbox)."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    action: Mapped[str] = mapped_column(String(64))
    sink: Mapped[str] = mapped_column(String(64))
    target: Mapped[dict[str, Any]]
    payload: Mapped[dict[str, Any]]
    # pending -> delivering -> delivered | dead (dropped: an admin gave up on it, with a reason)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None]
    item_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("items.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)


class Checkpoint(Base):
    """A named position that must survive restarts: a bot's next update offset, an exchange's
    sync checkpoint, an export's progress. Moved only after the data before it is recorded."""

    __tablename__ = "checkpoints"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Lease(Base):
    """Who runs a periodic job (anchoring the custody log, purging media) among several server
    processes: ``holder`` until ``until``; another process takes it over once it expires."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    until: Mapped[datetime]


class Exchange(Base):
    """An outside source of bank entries (StopNCII, NCMEC, a file, a URL list) feeding its own
    bank. ``config`` holds only non-secret settings; ``credentials`` is AES-GCM ciphertext
    (see :mod:`jikimi.banks.exchanges.credentials`), or null when they come from the
    environment."""

    __tablename__ = "exchanges"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    bank: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]]
    credentials: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    last_sync_at: Mapped[datetime | None]
    last_sync_status: Mapped[str | None] = mapped_column(String(16))
    last_sync_error: Mapped[str | None] = mapped_column(Text)
    last_sync_counts: Mapped[dict[str, Any] | None]


class ExchangeRecord(Base):
    """An upstream record (a StopNCII hash, an NCMEC entry, a list line) and one bank entry it
    produced. Several records may share an entry (the same hash from two members): the entry
    is withdrawn when its last record is withdrawn upstream. The rows mirror the upstream's
    current state and are deleted with it; the entry's tombstone and custody keep history."""

    __tablename__ = "exchange_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("exchanges.id"))
    upstream_id: Mapped[str] = mapped_column(String(200))
    entry_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("bank_entries.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index(
            "uq_exchange_records_upstream", "exchange_id", "upstream_id", "entry_id", unique=True
        ),
    )


class CustodyAnchor(Base):
    """A Merkle root over the custody events ``first_seq``..``last_seq`` and the RFC 3161
    time-stamp tokens over it (``tokens``: ``[{"tsa", "token"}]``, token base64 DER): the log
    up to ``last_seq`` is shown unaltered since the tokens' time."""

    __tablename__ = "custody_anchors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    merkle_root: Mapped[str] = mapped_column(String(64))
    tokens: Mapped[list[dict[str, Any]]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (Index("ix_custody_anchors_last_seq", "last_seq", unique=True),)


class ReportSubmission(Base):
    """A report to an outside body about a case: ``kind`` ncmec_cybertipline, dsa_statement or
    kcsc_takedown; ``state`` built -> submitted -> finished (or failed, with ``error``);
    ``external_id`` the body's own id (the CyberTipline report id, the DSA PUID)."""

    __tablename__ = "report_submissions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(200))
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_report_submissions_case", "case_id", "kind"),)


class PreservationHold(Base):
    """Keep a case's media and records until ``until`` whatever retention says (a CyberTipline
    submission holds for one year); ``released_at`` ends it early, with who did."""

    __tablename__ = "preservation_holds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"))
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_preservation_holds_case", "case_id"),)


GENESIS_HASH = "0" * 64
