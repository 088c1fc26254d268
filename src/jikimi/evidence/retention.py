"""Media retention: kept vault copies purged once their retention period is over.

A kept blob (``MediaRecord.kept_in_vault``) is *due* when it was last seen before
``now - retention_days``. A due blob stays while a case it belongs to still needs it. It belongs
to a case holding an item that shows it (``items.case_id``, or a review task of the case), or
whose notice locates it: its SHA-256 or MD5 (a hash locator), or the URL or Telegram message of
an item showing it. The case needs it when it is not closed; when it was closed but can still be
appealed (until the day :data:`jikimi.cases.messages.APPEAL_MONTHS` months after it closed, the
day the decision messages promise; DSA Art. 20(1)); when it is under an active preservation hold
(``released_at`` empty, ``until`` after ``now``; 18 U.S.C. 2258A(h)); or when it has a
CyberTipline report on its way (sent before its hold is recorded).

Purging one blob is one transaction: the media row locked (``FOR UPDATE`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite), then the custody chain head (``FOR UPDATE``), due and unprotected
checked again, ``kept_in_vault`` set false, the custody event ``media.purged`` appended, and the
vault file deleted *before* the commit, under the row lock. The event records the file's
identity (size, mtime, inode). A failed deletion rolls the transaction back (the copy stays
kept, reported as a problem). A run killed after the deletion and before the commit leaves a
kept record without its file, which the next run purges as "file missing", recorded and
reported like any other; so no purge leaves a file behind for a later run to find.

Why the custody head. On PostgreSQL (READ COMMITTED) the media row lock does not wait for a
transaction that links an item to a case, adds a locator to a case, reopens a case by appeal or
decides a case: none touches the media row. Each of them appends a custody event in the same
transaction, so holds the head row's lock until it commits; taking that lock before computing
the protections makes the purge wait for them and then read what they committed. On SQLite,
``BEGIN IMMEDIATE`` already serialises every writer. (Order: media row, then head, the same as
:meth:`jikimi.store.media_repo.MediaStore.record`, so the two cannot deadlock.)

Why a re-sighting cannot leave a kept record without its file. An ingest checks the vault
(``put_file`` answers "already there", or ``has``) outside its transaction, then records
``kept_in_vault`` in :meth:`~jikimi.store.media_repo.MediaStore.record`, which locks the media
row (``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE`` on PostgreSQL) and then calls the caller's
``still_kept`` check, which writes the copy again from the caller's file if it is gone. The two
transactions are serialised by that row (and on SQLite by the write lock):

- the purge first: it deleted the file and committed before the record got the row; the
  record's check finds no file, writes the copy again, and marks it kept. Kept, with a file.
- the record first: it moved ``last_seen`` to now and committed before the purge got the row;
  the purge, reading the row under its lock, finds the blob no longer due and leaves it.

A purge that deletes the file and then fails to commit leaves the record kept without a file
whichever way: the next purge records it as missing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jikimi.cases.locators import Locator, parse_locator
from jikimi.cases.messages import APPEAL_MONTHS, add_months
from jikimi.errors import NoticeError
from jikimi.evidence.custody import CustodyLog
from jikimi.evidence.vault import Vault
from jikimi.store.db import write_session
from jikimi.store.models import (
    Case,
    CaseLocator,
    CaseTask,
    CustodyHead,
    Item,
    ItemMedia,
    MediaRecord,
    PreservationHold,
    ReportSubmission,
    value_key,
)

__all__ = [
    "PURGED",
    "DueBlob",
    "Protection",
    "PurgeReport",
    "PurgedBlob",
    "appeal_until",
    "due_blobs",
    "protections",
    "purge_media",
]

PURGED = "media.purged"
CLOSED = "closed"
# jikimi.reports.ncmec_flow.KIND and its unfinished states; evidence/ does not import reports/.
CYBERTIPLINE = "ncmec_cybertipline"
_REPORT_IN_FLIGHT = ("sending", "submitted")
BATCH = 500


@dataclass(frozen=True, slots=True)
class Protection:
    """Why a case keeps a due blob: ``held`` (a preservation hold, ``until``), ``open`` (not
    closed, ``detail`` its state), ``appeal`` (closed on ``detail``, open to appeal until
    ``until``) or ``reporting`` (a CyberTipline report under way)."""

    case_id: int
    why: Literal["held", "open", "appeal", "reporting"]
    until: datetime | None = None
    detail: str = ""

    def describe(self) -> str:
        if self.why == "held":
            assert self.until is not None
            return f"held by case {self.case_id} until {self.until:%Y-%m-%d %H:%M} UTC"
        if self.why == "open":
            return f"case {self.case_id} open ({self.detail})"
        if self.why == "appeal":
            assert self.until is not None
            last_day = self.until - timedelta(days=1)  # ``until`` is the end of that day
            return (
                f"case {self.case_id} closed on {self.detail}, open to appeal until "
                f"{last_day:%Y-%m-%d}"
            )
        return f"case {self.case_id} has a CyberTipline report under way ({self.detail})"


@dataclass(frozen=True, slots=True)
class DueBlob:
    """A kept blob past its retention period; ``protections`` empty means it may go."""

    sha256: str
    last_seen: datetime
    protections: tuple[Protection, ...] = ()


@dataclass(frozen=True, slots=True)
class PurgedBlob:
    sha256: str
    last_seen: datetime
    file_missing: bool
    custody_seq: int | None  # None in a dry run


@dataclass(slots=True)
class PurgeReport:
    retention_days: int
    cutoff: datetime
    dry_run: bool
    purged: list[PurgedBlob] = field(default_factory=list)
    kept: list[DueBlob] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    not_due: int = 0
    limited: bool = False  # stopped at ``limit``: more may be due

    def as_dict(self) -> dict[str, Any]:
        return {
            "retention_days": self.retention_days,
            "cutoff": self.cutoff.isoformat(),
            "dry_run": self.dry_run,
            "purged": [{**asdict(p), "last_seen": p.last_seen.isoformat()} for p in self.purged],
            "kept": [
                {
                    "sha256": k.sha256,
                    "last_seen": k.last_seen.isoformat(),
                    "why": [p.describe() for p in k.protections],
                    "cases": sorted({p.case_id for p in k.protections}),
                }
                for k in self.kept
            ],
            "problems": self.problems,
            "not_due": self.not_due,
            "limited": self.limited,
        }


def appeal_until(closed_at: datetime) -> datetime:
    """When a case closed at ``closed_at`` can no longer be appealed: the end (UTC) of the day
    :data:`~jikimi.cases.messages.APPEAL_MONTHS` months after the day it closed, the last day
    the outcome message and the statement of reasons give (DSA Art. 20(1): at least six
    months; 181 to 184 days, by the months it spans)."""
    last = add_months(closed_at.astimezone(UTC).date(), APPEAL_MONTHS)
    return datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)


def protections(
    session: Session, shas: Sequence[str], now: datetime
) -> dict[str, list[Protection]]:
    """The protections of each of ``shas`` that has any (see the module docstring)."""
    links = _case_links(session, shas)
    by_case = _case_protections(session, {c for ids in links.values() for c in ids}, now)
    out: dict[str, list[Protection]] = {}
    for sha, case_ids in links.items():
        found = [p for case_id in sorted(case_ids) for p in by_case.get(case_id, [])]
        if found:
            out[sha] = found
    return out


def _case_links(session: Session, shas: Sequence[str]) -> dict[str, set[int]]:
    """The cases each of ``shas`` belongs to: six queries, whatever the number of shas."""
    queries = [
        select(ItemMedia.media_sha256, Item.case_id)
        .join(Item, Item.id == ItemMedia.item_id)
        .where(ItemMedia.media_sha256.in_(shas), Item.case_id.is_not(None)),
        select(ItemMedia.media_sha256, CaseTask.case_id)
        .join(CaseTask, CaseTask.item_id == ItemMedia.item_id)
        .where(ItemMedia.media_sha256.in_(shas)),
        select(CaseLocator.value, CaseLocator.case_id).where(
            CaseLocator.kind == "hash",
            CaseLocator.signal_type == "sha256",
            CaseLocator.value.in_(shas),
        ),
        # A notice naming the MD5 of an item's copy of the media.
        select(ItemMedia.media_sha256, CaseLocator.case_id)
        .join(
            CaseLocator,
            (CaseLocator.kind == "hash")
            & (CaseLocator.signal_type == "md5")
            & (CaseLocator.value == ItemMedia.media_md5),
        )
        .where(ItemMedia.media_sha256.in_(shas)),
    ]
    links: dict[str, set[int]] = {}
    for query in queries:
        for sha, case_id in session.execute(query):
            links.setdefault(sha, set()).add(int(case_id))
    # A notice naming the URL or the Telegram message of an item showing the media: the
    # locator keys of those items, as the notice stored them (jikimi.cases.store).
    by_key: dict[tuple[str, str], set[str]] = {}
    items = select(
        ItemMedia.media_sha256, Item.platform, Item.chat_id, Item.message_id, Item.url
    ).join(Item, Item.id == ItemMedia.item_id)
    for sha, platform, chat, message, url in session.execute(
        items.where(ItemMedia.media_sha256.in_(shas))
    ):
        if url and (named := _as_locator(url)) is not None:
            by_key.setdefault((named.kind, value_key(named.value)), set()).add(sha)
        if platform == "telegram" and chat and message:
            by_key.setdefault(("telegram", value_key(_telegram_link(chat, message))), set()).add(
                sha
            )
    keys = sorted(by_key)
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        named = select(CaseLocator.kind, CaseLocator.value, CaseLocator.case_id).where(
            CaseLocator.kind.in_(("url", "telegram")),
            CaseLocator.value.in_({value for _, value in chunk}),
        )
        for kind, value, case_id in session.execute(named):
            for sha in by_key.get((kind, value), ()):
                links.setdefault(sha, set()).add(int(case_id))
    return links


def _as_locator(url: str) -> Locator | None:
    """An item's URL as a notice naming it is stored: normalised (a t.me link as Telegram)."""
    try:
        return parse_locator(url)
    except NoticeError:
        return None


def _telegram_link(chat: str, message: str) -> str:
    """The normalised link of a Telegram message (jikimi.cases.locators): a private chat's
    ``-100<id>`` as ``t.me/c/<id>``, a username lowercased."""
    if chat.startswith("-100") and chat[4:].isdigit():
        return f"https://t.me/c/{chat[4:]}/{message}"
    return f"https://t.me/{chat.lower()}/{message}"


def _case_protections(
    session: Session, case_ids: set[int], now: datetime
) -> dict[int, list[Protection]]:
    out: dict[int, list[Protection]] = {}
    if not case_ids:
        return out
    holds = select(PreservationHold).where(
        PreservationHold.case_id.in_(case_ids),
        PreservationHold.released_at.is_(None),
        PreservationHold.until > now,
    )
    for hold in session.scalars(holds.order_by(PreservationHold.id)):
        out.setdefault(hold.case_id, []).append(
            Protection(hold.case_id, "held", until=hold.until, detail=f"hold {hold.id}")
        )
    cases = select(Case.id, Case.state, Case.closed_at, Case.updated_at).where(
        Case.id.in_(case_ids)
    )
    for case_id, state, closed_at, updated_at in session.execute(cases):
        if state != CLOSED:
            out.setdefault(case_id, []).append(Protection(case_id, "open", detail=state))
            continue
        closed = closed_at or updated_at  # a closed case always has closed_at; just in case
        until = appeal_until(closed)
        if now < until:
            out.setdefault(case_id, []).append(
                Protection(case_id, "appeal", until=until, detail=f"{closed:%Y-%m-%d}")
            )
    reports = select(ReportSubmission.id, ReportSubmission.case_id).where(
        ReportSubmission.kind == CYBERTIPLINE,
        ReportSubmission.state.in_(_REPORT_IN_FLIGHT),
        ReportSubmission.case_id.in_(case_ids),
    )
    for submission_id, case_id in session.execute(reports):
        out.setdefault(case_id, []).append(
            Protection(case_id, "reporting", detail=f"submission {submission_id}")
        )
    return out


def due_blobs(
    sessions: sessionmaker[Session], *, now: datetime, retention_days: int
) -> Iterator[DueBlob]:
    """Every kept blob last seen before ``now - retention_days``, by SHA-256, with its
    protections; read in batches, each in its own short read transaction."""
    cutoff = now - timedelta(days=retention_days)
    after = ""
    while True:
        with sessions() as session:
            rows = session.execute(
                select(MediaRecord.sha256, MediaRecord.last_seen)
                .where(
                    MediaRecord.kept_in_vault.is_(True),
                    MediaRecord.last_seen < cutoff,
                    MediaRecord.sha256 > after,
                )
                .order_by(MediaRecord.sha256)
                .limit(BATCH)
            ).all()
            if not rows:
                return
            found = protections(session, [r.sha256 for r in rows], now)
        for sha, last_seen in rows:
            yield DueBlob(sha, last_seen, tuple(found.get(sha, ())))
        after = rows[-1].sha256


def purge_media(
    sessions: sessionmaker[Session],
    vault: Vault,
    custody: CustodyLog,
    *,
    now: datetime,
    retention_days: int,
    actor: str,
    tool_version: str,
    dry_run: bool = False,
    limit: int | None = None,
) -> PurgeReport:
    """Purge every due, unprotected blob (at most ``limit``). ``dry_run`` reports the same
    and records and deletes nothing. Safe to run again at any point, and beside another run:
    each blob is decided under its row lock."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    cutoff = now - timedelta(days=retention_days)
    report = PurgeReport(retention_days=retention_days, cutoff=cutoff, dry_run=dry_run)
    purge = _Purge(sessions, vault, custody, now, cutoff, retention_days, actor, tool_version)
    for blob in due_blobs(sessions, now=now, retention_days=retention_days):
        if blob.protections:
            report.kept.append(blob)
            continue
        if limit is not None and len(report.purged) >= limit:
            report.limited = True
            break
        if dry_run:
            missing = not vault.has(blob.sha256)
            report.purged.append(PurgedBlob(blob.sha256, blob.last_seen, missing, None))
            if missing:
                report.problems.append(_missing(blob.sha256, None))
            continue
        purge.one(blob.sha256, report)
    with sessions() as session:
        report.not_due = int(
            session.scalar(
                select(func.count()).where(
                    MediaRecord.kept_in_vault.is_(True), MediaRecord.last_seen >= cutoff
                )
            )
            or 0
        )
    return report


class _NotDeleted(Exception):
    """The vault file could not be deleted: the purge's transaction rolls back."""


@dataclass(frozen=True, slots=True)
class _Purge:
    sessions: sessionmaker[Session]
    vault: Vault
    custody: CustodyLog
    now: datetime
    cutoff: datetime
    retention_days: int
    actor: str
    tool_version: str

    def one(self, sha: str, report: PurgeReport) -> None:
        """Purge one blob: flag, custody event and file deletion under the row lock, then the
        commit (see the module docstring)."""
        try:
            with write_session(self.sessions) as session:
                row = _locked_media(session, sha)
                if row is None or not row.kept_in_vault or row.last_seen >= self.cutoff:
                    return  # seen again, or purged by another run, since it was listed
                _lock_custody_head(session)
                found = protections(session, [sha], self.now).get(sha)
                if found:  # joined a case, or the case reopened, since it was listed
                    report.kept.append(DueBlob(sha, row.last_seen, tuple(found)))
                    return
                identity = _identity(self.vault, sha)
                row.kept_in_vault = False
                event = self.custody.append(
                    PURGED,
                    f"media:{sha}",
                    self._payload(row.last_seen, identity),
                    actor=self.actor,
                    tool_version=self.tool_version,
                    session=session,
                )
                last_seen = row.last_seen
                session.flush()
                if identity is not None:
                    try:
                        self.vault.delete(sha)
                    except OSError as exc:
                        raise _NotDeleted(str(exc)) from exc
        except _NotDeleted as exc:
            report.problems.append(
                f"media {sha}: its vault file could not be deleted ({exc}); nothing recorded, "
                "the copy stays kept and the next purge tries again"
            )
            return
        report.purged.append(PurgedBlob(sha, last_seen, identity is None, event.seq))
        if identity is None:
            report.problems.append(_missing(sha, event.seq))

    def _payload(self, last_seen: datetime, identity: dict[str, int] | None) -> dict[str, Any]:
        reason = (
            f"retention period over: last seen more than {self.retention_days} days before "
            f"{self.now.isoformat()}, in no open case, no case open to appeal and under no "
            "preservation hold"
        )
        if identity is None:
            reason += "; the vault file was already missing"
        return {
            "retention_days": self.retention_days,
            "last_seen": last_seen.isoformat(),
            "cutoff": self.cutoff.isoformat(),
            "reason": reason,
            "vault_file": identity,
        }


def _locked_media(session: Session, sha: str) -> MediaRecord | None:
    # FOR UPDATE also waits for a transaction linking an item to this media (its foreign key
    # takes a share lock on the row), or recording a sighting of it (MediaStore.record locks
    # the row); SQLite's BEGIN IMMEDIATE already serialises writers.
    return session.scalars(
        select(MediaRecord).where(MediaRecord.sha256 == sha).with_for_update()
    ).one_or_none()


def _lock_custody_head(session: Session) -> None:
    """Wait for every transaction appending a custody event (linking items to cases, adding
    locators, deciding or reopening cases) to commit, and keep new ones out until this one
    commits: the head row is what CustodyLog.append bumps. A no-op lock on SQLite."""
    session.execute(select(CustodyHead.id).where(CustodyHead.id == 1).with_for_update()).one()


def _identity(vault: Vault, sha: str) -> dict[str, int] | None:
    """The deleted file, as the custody event records it; None when there is no file."""
    try:
        st = vault.path_of(sha).stat()
    except FileNotFoundError:
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _missing(sha: str, seq: int | None) -> str:
    recorded = f"recorded as purged (custody seq {seq})" if seq else "would be recorded as purged"
    return f"media {sha}: marked kept, but the vault holds no file; {recorded}"
