"""Protected persons: consent records, encrypted face templates and per-person hash banks.

A support centre enrols a consenting person once: the consent record (who consented, who
enrolled on whose behalf, under what authority, scope, expiry) and one face template per
reference photo, encrypted (:mod:`jikimi.persons.crypto`). Photos are never held. Hashes of the
person's own known images go into a bank ``person:<id>`` of kind ``known-abuse``, kept through
:class:`~jikimi.banks.service.BankStore` like any other bank.

A person may also be enrolled from hashes alone, with no face template: the StopNCII model,
where someone who will not hand over photos of her face gives the hashes of her own images,
computed on her own device (``jikimi hash --json``). Such a person is found only by copies of
those images; face matching and the retroactive search have nothing of hers to compare.

Withdrawal (:meth:`PersonStore.delete`) takes the bank out of matching, really deletes the
template rows (biometric data is not kept as history) and keeps the person row as a tombstone
(who withdrew, when, why). Consent that expires is withdrawn the same way by
:meth:`PersonStore.retire_expired`; until then expired persons are already left out of
:meth:`PersonStore.active_templates`.

Retroactive search: the scan keeps the encrypted templates of faces found in *flagged* media
only (purpose limitation, :meth:`PersonStore.keep_face_templates`); a new enrolment is compared
with them (:meth:`PersonStore.search_retroactive`) without rescanning anything.

Every change appends a custody event with the actor (``person.enrolled``,
``person.hashes_added``, ``person.searched``, ``person.deleted``); no payload holds a template,
a photo, a photo's path or a photo's digest.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from jikimi.banks.service import BankStore, EntryInfo
from jikimi.errors import (
    BankNotFound,
    JikimiError,
    PersonError,
    PersonNotFound,
)
from jikimi.evidence.custody import CustodyLog
from jikimi.persons.crypto import (
    TEMPLATE_DIM,
    TemplateCipher,
    check_template,
    face_aad,
    person_aad,
)
from jikimi.persons.hash_records import read_hash_records
from jikimi.signals.base import validate_value
from jikimi.store.db import write_session
from jikimi.store.models import FaceTemplateRecord, Person, PersonTemplate, utcnow

__all__ = [
    "BANK_PREFIX",
    "FaceTemplate",
    "HashesReport",
    "PersonInfo",
    "PersonStore",
    "RetroHit",
    "bank_name",
]

BANK_PREFIX = "person:"
BANK_KIND = "known-abuse"

_ID = re.compile(r"prs_[0-9a-f]{12}")
_SEARCH_BATCH = 2_000
Box = tuple[int, int, int, int]


def bank_name(person_id: str) -> str:
    """The name of the person's hash bank."""
    return f"{BANK_PREFIX}{person_id}"


def new_person_id() -> str:
    """``prs_`` and 12 random lowercase hex digits."""
    return "prs_" + secrets.token_hex(6)


@dataclass(frozen=True)
class PersonInfo:
    """A person's consent record and template count; nothing biometric."""

    person_id: str
    name: str
    consent_by: str
    enrolled_by: str
    authority: str | None
    scope: list[str]
    expires_at: datetime | None
    enrolled_at: datetime
    templates: int
    deleted_at: datetime | None
    deleted_by: str | None
    on_behalf_of: str | None = None
    delete_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, times as ISO 8601."""
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class FaceTemplate:
    """A decrypted enrolled template, for matching; never serialised."""

    person_id: str
    name: str
    template: np.ndarray  # float32 (128,)


@dataclass(frozen=True)
class RetroHit:
    """A kept face of flagged media within the threshold of a person's templates."""

    media_sha256: str
    box: Box
    distance: float
    person_id: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "media_sha256": self.media_sha256,
            "box": list(self.box),
            "distance": round(self.distance, 4),
            "person_id": self.person_id,
        }


@dataclass
class HashesReport:
    """What ``add_hashes`` did: new entries, values the bank held already, rejected lines
    ``(line, reason)`` and skipped records ``(line, note)`` (records that carry an error)."""

    added: list[EntryInfo] = field(default_factory=list)
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


def _info(person: Person, templates: int) -> PersonInfo:
    return PersonInfo(
        person_id=person.id,
        name=person.name,
        consent_by=person.consent_by,
        enrolled_by=person.enrolled_by,
        authority=person.authority,
        scope=list(person.scope),
        expires_at=person.expires_at,
        enrolled_at=person.enrolled_at,
        templates=templates,
        deleted_at=person.deleted_at,
        deleted_by=person.deleted_by,
        on_behalf_of=person.on_behalf_of,
        delete_reason=person.delete_reason,
    )


def _expired(person: Person, now: datetime) -> bool:
    return person.expires_at is not None and person.expires_at <= now


def _text(value: str | None, what: str, *, required: bool, limit: int = 2_000) -> str | None:
    if value is None or not value.strip():
        if required:
            raise PersonError(f"{what} is required and must not be blank")
        return None
    if len(value) > limit:
        raise PersonError(f"{what} is longer than {limit} characters")
    return value.strip()


def _check_hashes(hashes: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The ``(signal type, value)`` pairs normalised as a ``jikimi hash --json`` record's are
    (:func:`~jikimi.signals.base.validate_value`), or :class:`PersonError` naming the first
    bad one: an enrolment is all or nothing."""
    pairs: list[tuple[str, str]] = []
    for n, (signal_type, value) in enumerate(hashes, start=1):
        if not isinstance(value, str):
            raise PersonError(f"hash {n}: the {signal_type} value must be a string")
        try:
            pairs.append((signal_type, validate_value(signal_type, value)))
        except JikimiError as exc:
            raise PersonError(f"hash {n}: {exc}") from None
    return pairs


class PersonStore:
    """Enrolment, withdrawal, matching templates and retroactive search of protected persons."""

    def __init__(
        self, sessions: sessionmaker[Session], master_key: bytes, custody: CustodyLog
    ) -> None:
        self._sessions = sessions
        self._cipher = TemplateCipher(master_key)
        self._custody = custody
        self._banks = BankStore(sessions)

    # -- enrolment and consent records ---------------------------------------------------------

    def enroll(
        self,
        name: str,
        templates: Sequence[np.ndarray],
        *,
        consent_by: str,
        actor: str,
        authority: str | None = None,
        on_behalf_of: str | None = None,
        scope: Sequence[str] = (),
        expires_at: datetime | None = None,
        tool_version: str,
        hashes: Sequence[tuple[str, str]] = (),
    ) -> PersonInfo:
        """Record a consenting person with one template per accepted reference photo, create
        the person's hash bank and add ``hashes`` (``(signal type, value)`` pairs of the
        person's own images) to it. Either may be empty, not both: a person enrolled from
        hashes alone has no template. Templates and hashes are checked before anything is
        written."""
        name = _text(name, "the person's name", required=True, limit=200) or ""
        consent = _text(consent_by, "consent_by (who gave consent)", required=True) or ""
        authority = _text(authority, "authority", required=False)
        on_behalf_of = _text(on_behalf_of, "on_behalf_of", required=False)
        scopes = [s.strip() for s in scope if s and s.strip()]
        if not templates and not hashes:
            raise PersonError("enrolment needs at least one face photo or one hash")
        checked = [check_template(t) for t in templates]
        pairs = _check_hashes(hashes)
        now = utcnow()
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise PersonError("expires_at must be timezone-aware (UTC)")
            if expires_at <= now:
                raise PersonError(f"expiry {expires_at:%Y-%m-%d} is not in the future")
        person_id = new_person_id()
        with write_session(self._sessions) as session:
            person = Person(
                id=person_id,
                name=name,
                consent_by=consent,
                on_behalf_of=on_behalf_of,
                authority=authority,
                scope=scopes,
                expires_at=expires_at,
                enrolled_at=now,
                enrolled_by=actor,
            )
            session.add(person)
            session.flush()
            for template in checked:
                nonce, ciphertext = self._cipher.encrypt(template, person_aad(person_id))
                session.add(
                    PersonTemplate(
                        person_id=person_id, nonce=nonce, ciphertext=ciphertext, created_at=now
                    )
                )
            session.flush()
            payload = {
                "person_id": person_id,
                "name": name,
                "templates": len(checked),
                # The number of photos only: their paths or digests would identify them.
                "photos": len(checked),
                "hashes": len(set(pairs)),
                "consent_by": consent,
                "on_behalf_of": on_behalf_of,
                "authority": authority,
                "scope": scopes,
                "expires_at": expires_at.isoformat() if expires_at else None,
            }
            self._event(session, "person.enrolled", person_id, payload, actor, tool_version)
            info = _info(person, len(checked))
        # BankStore opens its own write transaction (SQLite allows one writer), so the bank
        # and its hashes follow the person; if this step is interrupted, add_hashes creates
        # the bank and adds them.
        self._ensure_bank(person_id, actor)
        if pairs:
            self._fill_bank(person_id, pairs, actor)
        return info

    def list(self, *, include_deleted: bool = False) -> list[PersonInfo]:
        with self._sessions() as session:
            query = select(Person).order_by(Person.enrolled_at, Person.id)
            if not include_deleted:
                query = query.where(Person.deleted_at.is_(None))
            persons = session.scalars(query).all()
            counts = dict(
                session.execute(
                    select(PersonTemplate.person_id, func.count()).group_by(
                        PersonTemplate.person_id
                    )
                ).all()
            )
            return [_info(p, counts.get(p.id, 0)) for p in persons]

    def get(self, person_id: str) -> PersonInfo:
        """The person's record, deleted ones included (their tombstone)."""
        with self._sessions() as session:
            person = self._person(session, person_id)
            return _info(person, self._template_count(session, person_id))

    @staticmethod
    def _person(session: Session, person_id: str, *, live: bool = False) -> Person:
        person = session.get(Person, person_id) if _ID.fullmatch(person_id) else None
        if person is None:
            raise PersonNotFound(
                f"no person {person_id!r} (ids look like prs_<12 hex>); see `jikimi person list`"
            )
        if live and person.deleted_at is not None:
            raise PersonNotFound(
                f"person {person_id} was deleted on {person.deleted_at:%Y-%m-%d} by "
                f"{person.deleted_by}; enrol again with fresh consent"
            )
        return person

    @staticmethod
    def _template_count(session: Session, person_id: str) -> int:
        return (
            session.scalar(select(func.count()).where(PersonTemplate.person_id == person_id)) or 0
        )

    def _event(
        self,
        session: Session,
        kind: str,
        person_id: str,
        payload: dict[str, Any],
        actor: str,
        tool_version: str,
    ) -> None:
        self._custody.append(
            kind,
            bank_name(person_id),
            payload,
            actor=actor,
            tool_version=tool_version,
            session=session,
        )

    def _ensure_bank(self, person_id: str, actor: str) -> str:
        name = bank_name(person_id)
        try:
            self._banks.get(name)
        except BankNotFound:
            self._banks.create(name, kind=BANK_KIND, source=name, actor=actor)
        return name

    # -- withdrawal ----------------------------------------------------------------------------

    def delete(self, person_id: str, *, actor: str, reason: str | None, tool_version: str) -> None:
        """Withdraw the person: the hash bank leaves matching, the template rows are deleted,
        the person row stays as a tombstone (who, when, why)."""
        with self._sessions() as session:
            self._person(session, person_id, live=True)
        # The bank first: if the second step fails, running delete again finishes the job.
        bank_deleted = True
        try:
            self._banks.delete(bank_name(person_id), actor=actor)
        except BankNotFound:
            bank_deleted = False
        with write_session(self._sessions) as session:
            person = self._person(session, person_id, live=True)
            removed = session.execute(
                delete(PersonTemplate).where(PersonTemplate.person_id == person_id)
            ).rowcount
            person.deleted_at = utcnow()
            person.deleted_by = actor
            person.delete_reason = _text(reason, "reason", required=False)
            session.flush()
            payload = {
                "person_id": person_id,
                "templates_deleted": int(removed or 0),
                "bank_deleted": bank_deleted,
                "reason": person.delete_reason,
            }
            self._event(session, "person.deleted", person_id, payload, actor, tool_version)

    def retire_expired(self, *, actor: str, tool_version: str) -> list[str]:
        """Withdraw every live person whose consent has expired (reason "consent expired");
        their ids. Run it before building a matcher, e.g. at the start of a scan."""
        now = utcnow()
        with self._sessions() as session:
            expired = [
                p.id
                for p in session.scalars(select(Person).where(Person.deleted_at.is_(None)))
                if _expired(p, now)
            ]
        for person_id in expired:
            self.delete(person_id, actor=actor, reason="consent expired", tool_version=tool_version)
        return expired

    # -- hashes of the person's own images -----------------------------------------------------

    def add_hashes(
        self, person_id: str, lines: Iterable[str], *, actor: str, tool_version: str
    ) -> HashesReport:
        """Add the hashes of ``jikimi hash --json`` records (JSON Lines, made on the person's
        own device) to the person's bank. Malformed lines are rejected with their number and
        the good ones added; records carrying an ``error`` are skipped with a note."""
        with self._sessions() as session:
            self._person(session, person_id, live=True)
        read = read_hash_records(lines)
        report = HashesReport(rejected=read.rejected, skipped=read.skipped)
        report.added, report.duplicates = self._fill_bank(person_id, read.pairs, actor)
        with write_session(self._sessions) as session:
            payload = {
                "person_id": person_id,
                "added": len(report.added),
                "duplicates": report.duplicates,
                "rejected": len(report.rejected),
                "skipped": len(report.skipped),
                "entry_ids": [e.entry_id for e in report.added][:100],
            }
            self._event(session, "person.hashes_added", person_id, payload, actor, tool_version)
        return report

    def _fill_bank(
        self, person_id: str, pairs: Sequence[tuple[str, str]], actor: str
    ) -> tuple[list[EntryInfo], int]:
        """Add the pairs to the person's bank (made if missing): the new entries, and how many
        pairs the bank already held or repeated."""
        name = self._ensure_bank(person_id, actor)
        if not pairs:
            return [], 0
        before = {(e.signal_type, e.value) for e in self._banks.entries(name)}
        added: list[EntryInfo] = []
        duplicates = 0
        seen: set[int] = set()
        for e in self._banks.add(name, pairs, actor=actor, source=name):
            if (e.signal_type, e.value) in before or e.entry_id in seen:
                duplicates += 1
            else:
                added.append(e)
            seen.add(e.entry_id)
        return added, duplicates

    # -- matching ------------------------------------------------------------------------------

    def active_templates(self) -> list[FaceTemplate]:
        """Decrypted templates of every person neither deleted nor expired (a person enrolled
        from hashes alone has none, and is matched by the bank only). Raises
        :class:`~jikimi.errors.TemplateStoreCorrupt` if any template fails authentication."""
        now = utcnow()
        with self._sessions() as session:
            rows = session.execute(
                select(Person, PersonTemplate)
                .join(PersonTemplate, PersonTemplate.person_id == Person.id)
                .where(Person.deleted_at.is_(None))
                .order_by(PersonTemplate.id)
            ).all()
            return [
                FaceTemplate(
                    person.id,
                    person.name,
                    self._cipher.decrypt(row.nonce, row.ciphertext, person_aad(person.id)),
                )
                for person, row in rows
                if not _expired(person, now)
            ]

    def active_ids(self, person_ids: Collection[str]) -> set[str]:
        """Those of ``person_ids`` neither deleted nor expired: whose faces may still match."""
        if not person_ids:
            return set()
        now = utcnow()
        with self._sessions() as session:
            people = session.scalars(
                select(Person).where(Person.id.in_(sorted(person_ids)), Person.deleted_at.is_(None))
            )
            return {p.id for p in people if not _expired(p, now)}

    def _templates_of(self, session: Session, person_id: str) -> np.ndarray:
        rows = session.scalars(
            select(PersonTemplate)
            .where(PersonTemplate.person_id == person_id)
            .order_by(PersonTemplate.id)
        ).all()
        if not rows:  # enrolled from hashes alone
            return np.empty((0, TEMPLATE_DIM), dtype=np.float32)
        aad = person_aad(person_id)
        return np.stack([self._cipher.decrypt(r.nonce, r.ciphertext, aad) for r in rows])

    # -- retroactive search --------------------------------------------------------------------

    def keep_face_templates(
        self,
        media_sha256: str,
        faces: Sequence[tuple[Box, np.ndarray]],
        *,
        session: Session | None = None,
    ) -> None:
        """Keep the encrypted templates of faces found in a flagged media (the media row must
        exist). Only flagged media may be passed: purpose limitation. Idempotent per
        ``(media_sha256, box)``. With ``session``, joins the caller's transaction."""
        if session is None:
            with write_session(self._sessions) as own:
                self._keep(own, media_sha256, faces)
        else:
            self._keep(session, media_sha256, faces)

    def _keep(self, session: Session, sha256: str, faces: Sequence[tuple[Box, np.ndarray]]) -> None:
        cols = (
            FaceTemplateRecord.box_left,
            FaceTemplateRecord.box_top,
            FaceTemplateRecord.box_right,
            FaceTemplateRecord.box_bottom,
        )
        known: set[Box] = {
            (a, b, c, d)
            for a, b, c, d in session.execute(
                select(*cols).where(FaceTemplateRecord.media_sha256 == sha256)
            )
        }
        now = utcnow()
        for box, template in faces:
            key: Box = (int(box[0]), int(box[1]), int(box[2]), int(box[3]))
            if key in known:
                continue
            known.add(key)
            nonce, ciphertext = self._cipher.encrypt(template, face_aad(sha256, key))
            record = FaceTemplateRecord(
                media_sha256=sha256,
                box_left=key[0],
                box_top=key[1],
                box_right=key[2],
                box_bottom=key[3],
                nonce=nonce,
                ciphertext=ciphertext,
                created_at=now,
            )
            try:
                # A savepoint: a concurrent scan keeping the same face (PostgreSQL) loses the
                # unique index race here without aborting the caller's transaction.
                with session.begin_nested():
                    session.add(record)
            except IntegrityError:
                continue

    def search_retroactive(
        self, person_id: str, *, threshold: float, actor: str, tool_version: str
    ) -> list[RetroHit]:
        """Kept faces of flagged media within ``threshold`` (Euclidean distance) of any of the
        person's templates, nearest first. Records ``person.searched`` with counts only. A
        person enrolled from hashes alone has no template: nothing is compared, no hit."""
        if not 0 < threshold < 2:
            raise PersonError(f"threshold {threshold} must be between 0 and 2 (exclusive)")
        with self._sessions() as session:
            person = self._person(session, person_id, live=True)
            if _expired(person, utcnow()):
                raise PersonError(
                    f"consent for person {person_id} expired on {person.expires_at:%Y-%m-%d}; "
                    "enrol again with fresh consent"
                )
            mine = self._templates_of(session, person_id)
        hits, searched = self._search(person_id, mine, threshold) if len(mine) else ([], 0)
        with write_session(self._sessions) as session:
            payload = {
                "person_id": person_id,
                "threshold": threshold,
                "faces_searched": searched,
                "hits": len(hits),
            }
            self._event(session, "person.searched", person_id, payload, actor, tool_version)
        return hits

    def _search(
        self, person_id: str, mine: np.ndarray, threshold: float
    ) -> tuple[list[RetroHit], int]:
        hits: list[RetroHit] = []
        searched = 0
        query = (
            select(FaceTemplateRecord)
            .order_by(FaceTemplateRecord.id)
            .execution_options(yield_per=_SEARCH_BATCH)
        )
        with self._sessions() as session:
            for batch in _batches(session.scalars(query), _SEARCH_BATCH):
                boxes = [(r.box_left, r.box_top, r.box_right, r.box_bottom) for r in batch]
                kept = np.stack(
                    [
                        self._cipher.decrypt(r.nonce, r.ciphertext, face_aad(r.media_sha256, b))
                        for r, b in zip(batch, boxes, strict=True)
                    ]
                )
                distances = np.linalg.norm(kept[:, None, :] - mine[None, :, :], axis=2).min(axis=1)
                searched += len(batch)
                for r, box, d in zip(batch, boxes, distances, strict=True):
                    if d <= threshold:
                        hits.append(RetroHit(r.media_sha256, box, float(d), person_id))
        hits.sort(key=lambda h: (h.distance, h.media_sha256, h.box))
        return hits, searched


def _batches(rows: Iterable[FaceTemplateRecord], size: int) -> Iterator[list[FaceTemplateRecord]]:
    it = iter(rows)
    while batch := list(islice(it, size)):
        yield batch
