"""Media records: one row per SHA-256, a sighting per time a file was seen, its matches, and
files that could not be hashed. Each record commits together with its custody event."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from jikimi import __version__
from jikimi.evidence.custody import CustodyLog
from jikimi.model import Match, MediaSignals
from jikimi.store.db import write_session
from jikimi.store.models import MatchRecord, MediaRecord, ScanFailure, Sighting, utcnow, value_key


class MediaStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._custody = CustodyLog(sessions)

    def seen(self, sha256: str) -> bool:
        """True when this media is recorded and was hashed without error; a scan skips it.
        Media recorded with an error are tried again (limits may have been raised)."""
        with self._sessions() as session:
            row = session.get(MediaRecord, sha256)
            return row is not None and row.error is None

    def record(
        self,
        media: MediaSignals,
        *,
        source_path: str,
        matches: Sequence[Match],
        scan_id: str,
        actor: str,
        custody: CustodyLog | None = None,
        tool_version: str = __version__,
        kept_in_vault: bool = False,
        findings: dict[str, Any] | None = None,
        plan: list[str] | None = None,
        steps: list[dict[str, Any]] | None = None,
        also: Callable[[Session], None] | None = None,
        still_kept: Callable[[], bool] | None = None,
    ) -> None:
        """Record one hashed file in one transaction: the media row (created, or its
        ``last_seen`` moved on), a sighting, the matches not recorded before, and a custody
        event ``media.seen`` (appended through ``custody`` if given). Recording the same
        SHA-256 again adds a sighting only. ``kept_in_vault`` marks that the vault holds a copy
        (it stays marked). ``findings`` (detection signals by name, JSON) are merged into the
        media's; ``plan`` and ``steps`` (what the cascade ran) go with the sighting. ``also``
        runs in the same transaction, after the media row exists (e.g. keeping face
        templates of flagged media). ``still_kept``, with ``kept_in_vault``, runs once the
        media row is locked: it checks that the vault still holds the copy and writes it again
        when a retention purge deleted it since the caller looked (the caller's
        ``vault.has(sha) or vault.put_file(path, sha)``); false records the media as not kept
        (see :mod:`jikimi.evidence.retention`)."""
        if media.sha256 is None:
            raise ValueError("media without a sha256: use record_failure")
        now = utcnow()
        with write_session(self._sessions) as session:
            # Locked (FOR UPDATE; SQLite: BEGIN IMMEDIATE) against a purge of its vault copy.
            row = session.get(MediaRecord, media.sha256, with_for_update=True)
            if kept_in_vault and still_kept is not None and row is not None:
                kept_in_vault = still_kept()
            if row is None:
                row = MediaRecord(
                    sha256=media.sha256, first_seen=now, last_seen=now, kept_in_vault=False
                )
                _fill(row, media)
                session.add(row)
            else:
                row.last_seen = now
                if row.error is not None and media.error is None:
                    _fill(row, media)  # a later scan succeeded where an earlier one failed
            row.kept_in_vault = row.kept_in_vault or kept_in_vault
            if findings:
                row.findings = {**(row.findings or {}), **findings}
            session.add(
                Sighting(
                    media_sha256=media.sha256,
                    path=source_path,
                    scan_id=scan_id,
                    seen_at=now,
                    actor=actor,
                    plan=plan,
                    steps=steps,
                )
            )
            session.flush()
            new_matches = self._add_matches(session, media.sha256, matches, scan_id, now)
            payload = {
                "path": source_path,
                "scan_id": scan_id,
                "size": media.size,
                # Long values (vPDQ) by digest: the event proves them without carrying megabytes.
                "signals": {n: value_key(s.value) for n, s in sorted(media.signals.items())},
                "findings": {
                    name: {k: f.get(k) for k in ("status", "present", "version")}
                    for name, f in sorted((findings or {}).items())
                },
                "matches": [m.as_dict() for m in new_matches],
                "error": media.error,
                "kept_in_vault": kept_in_vault,
            }
            (custody or self._custody).append(
                "media.seen",
                f"media:{media.sha256}",
                payload,
                actor=actor,
                tool_version=tool_version,
                session=session,
            )
            if also is not None:
                also(session)

    @staticmethod
    def _add_matches(
        session: Session, sha256: str, matches: Sequence[Match], scan_id: str, now: Any
    ) -> list[Match]:
        known = {
            tuple(r)
            for r in session.execute(
                select(MatchRecord.bank, MatchRecord.entry_id, MatchRecord.signal_type).where(
                    MatchRecord.media_sha256 == sha256
                )
            )
        }
        added = []
        for m in matches:
            key = (m.bank, m.entry_id, m.signal_type)
            if key in known:
                continue
            known.add(key)
            added.append(m)
            session.add(
                MatchRecord(
                    media_sha256=sha256,
                    scan_id=scan_id,
                    bank=m.bank,
                    entry_id=m.entry_id,
                    signal_type=m.signal_type,
                    distance=m.distance,
                    bank_kind=m.bank_kind,
                    transform=m.transform,
                    suppressed_by=m.suppressed_by,
                    detail=_person_detail(m),
                    matched_at=now,
                )
            )
        return added

    def record_failure(self, media: MediaSignals, *, source_path: str, scan_id: str) -> None:
        """Keep a file that yielded no SHA-256, keyed by (path, scan); again for the same key
        updates the row."""
        now = utcnow()
        with write_session(self._sessions) as session:
            row = session.scalars(
                select(ScanFailure).where(
                    ScanFailure.path == source_path, ScanFailure.scan_id == scan_id
                )
            ).first()
            if row is None:
                row = ScanFailure(path=source_path, scan_id=scan_id)
                session.add(row)
            row.size = media.size
            row.error = media.error
            row.error_reason = media.error_reason
            row.failed_at = now

    def failures(self, scan_id: str) -> list[dict[str, Any]]:
        with self._sessions() as session:
            rows = session.scalars(
                select(ScanFailure).where(ScanFailure.scan_id == scan_id).order_by(ScanFailure.id)
            ).all()
            return [
                {
                    "path": r.path,
                    "scan_id": r.scan_id,
                    "size": r.size,
                    "error": r.error,
                    "error_reason": r.error_reason,
                    "failed_at": r.failed_at,
                }
                for r in rows
            ]

    def get(self, sha256: str) -> dict[str, Any] | None:
        """The media record with its sightings and matches, or ``None``."""
        with self._sessions() as session:
            row = session.get(MediaRecord, sha256)
            if row is None:
                return None
            sightings = session.scalars(
                select(Sighting).where(Sighting.media_sha256 == sha256).order_by(Sighting.id)
            ).all()
            matches = session.scalars(
                select(MatchRecord)
                .where(MatchRecord.media_sha256 == sha256)
                .order_by(MatchRecord.id)
            ).all()
            return {
                "sha256": row.sha256,
                "size": row.size,
                "media_type": row.media_type,
                "mime": row.mime,
                "width": row.width,
                "height": row.height,
                "frames": row.frames,
                "duration": row.duration,
                "orientation": row.orientation,
                "pdq_quality": row.pdq_quality,
                "signals": dict(row.signals),
                "findings": dict(row.findings or {}),
                "notes": list(row.notes),
                "error": row.error,
                "error_reason": row.error_reason,
                "kept_in_vault": row.kept_in_vault,
                "first_seen": row.first_seen,
                "last_seen": row.last_seen,
                "sightings": [
                    {"path": s.path, "scan_id": s.scan_id, "seen_at": s.seen_at, "actor": s.actor}
                    for s in sightings
                ],
                "matches": [
                    Match(
                        bank=m.bank,
                        entry_id=m.entry_id,
                        signal_type=m.signal_type,
                        distance=m.distance,
                        bank_kind=m.bank_kind,
                        transform=m.transform,
                        suppressed_by=m.suppressed_by,
                    ).as_dict()
                    for m in matches
                ],
            }


def pdq_column(signals: Any) -> str | None:
    """The value of the media's ``pdq`` column: its signals' PDQ when that is 64 characters
    (readers validate it), else None."""
    pdq = signals.get("pdq") if isinstance(signals, dict) else None
    return pdq if isinstance(pdq, str) and len(pdq) == 64 else None


def _fill(row: MediaRecord, media: MediaSignals) -> None:
    info = media.info
    row.size = media.size
    row.media_type = info.media_type if info else None
    row.mime = info.mime if info else None
    row.width = info.width if info else None
    row.height = info.height if info else None
    row.frames = info.frames if info else None
    row.duration = info.duration if info else None
    row.orientation = info.orientation if info else None
    row.pdq_quality = media.pdq_quality
    row.signals = {name: s.value for name, s in sorted(media.signals.items())}
    row.pdq = pdq_column(row.signals)
    row.notes = list(media.notes)
    row.error = media.error
    row.error_reason = media.error_reason


def _person_detail(match: Match) -> dict[str, Any] | None:
    """A protected-person match keeps who and where (the face box); nothing biometric."""
    if match.person is None:
        return None
    return {"person": match.person, "name": match.person_name, "box": list(match.box or ())}
