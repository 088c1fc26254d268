"""Media retention: kept vault copies purged once their retention period is over.

A kept blob (``MediaRecord.kept_in_vault``) is *due* when it was last seen before
``now - retention_days``. A due blob stays while a case it belongs to still needs it: a case
holding an item that shows it (``items.case_id``, or a review task of the case), or whose notice
names its SHA-256 (a hash locator), when that case is not closed, is under an active
preservation hold (``released_at`` empty, ``until`` after ``now``; 18 U.S.C. 2258A(h)), or has a
CyberTipline report on its way (sent before its hold is recorded).

Purging one blob is one transaction: the media row locked (``FOR UPDATE`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite), due and unprotected checked again, ``kept_in_vault`` set false and
the custody event ``media.purged`` appended; the vault file is deleted only after the commit.
The event records the file's identity (size, mtime, inode). A run stopped between the commit and
the deletion leaves a file whose media is no longer kept; the next run finds it by that identity
(a copy kept again later is a new file, with another identity, and is left alone), deletes it
and records ``media.orphan_removed`` once per purge. A kept record whose file is missing is
purged all the same, recorded as such and reported as a problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jikimi.evidence.custody import CustodyLog
from jikimi.evidence.vault import Vault
from jikimi.store.db import write_session
from jikimi.store.models import (
    Case,
    CaseLocator,
    CaseTask,
    CustodyEventRecord,
    Item,
    ItemMedia,
    MediaRecord,
    PreservationHold,
    ReportSubmission,
)

__all__ = [
    "ORPHAN_REMOVED",
    "PURGED",
    "DueBlob",
    "Orphan",
    "Protection",
    "PurgeReport",
    "PurgedBlob",
    "due_blobs",
    "protections",
    "purge_media",
]

PURGED = "media.purged"
ORPHAN_REMOVED = "media.orphan_removed"
CLOSED = "closed"
# jikimi.reports.ncmec_flow.KIND and its unfinished states; evidence/ does not import reports/.
CYBERTIPLINE = "ncmec_cybertipline"
_REPORT_IN_FLIGHT = ("sending", "submitted")
BATCH = 500


@dataclass(frozen=True, slots=True)
class Protection:
    """Why a case keeps a due blob: ``held`` (a preservation hold, ``until``), ``open`` (not
    closed, ``detail`` its state) or ``reporting`` (a CyberTipline report under way)."""

    case_id: int
    why: Literal["held", "open", "reporting"]
    until: datetime | None = None
    detail: str = ""

    def describe(self) -> str:
        if self.why == "held":
            assert self.until is not None
            return f"held by case {self.case_id} until {self.until:%Y-%m-%d %H:%M} UTC"
        if self.why == "open":
            return f"case {self.case_id} open ({self.detail})"
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


@dataclass(frozen=True, slots=True)
class Orphan:
    """A file left behind by a purge stopped before its deletion (``purge_seq``)."""

    sha256: str
    purge_seq: int
    custody_seq: int | None  # None in a dry run, or when an earlier run recorded it


@dataclass(slots=True)
class PurgeReport:
    retention_days: int
    cutoff: datetime
    dry_run: bool
    purged: list[PurgedBlob] = field(default_factory=list)
    kept: list[DueBlob] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
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
            "orphans": [asdict(o) for o in self.orphans],
            "problems": self.problems,
            "not_due": self.not_due,
            "limited": self.limited,
        }


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
    ]
    links: dict[str, set[int]] = {}
    for query in queries:
        for sha, case_id in session.execute(query):
            links.setdefault(sha, set()).add(int(case_id))
    return links


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
    for case_id, state in session.execute(select(Case.id, Case.state).where(Case.id.in_(case_ids))):
        if state != CLOSED:
            out.setdefault(case_id, []).append(Protection(case_id, "open", detail=state))
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
    """Purge every due, unprotected blob (at most ``limit``), after removing the files earlier
    purges left behind. ``dry_run`` reports the same and records and deletes nothing. Safe to
    run again at any point, and beside another run: each blob is decided under its row lock."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    cutoff = now - timedelta(days=retention_days)
    report = PurgeReport(retention_days=retention_days, cutoff=cutoff, dry_run=dry_run)
    purge = _Purge(sessions, vault, custody, now, cutoff, retention_days, actor, tool_version)
    for sha, purge_seq, identity in _leftovers(sessions, vault):
        if dry_run:
            report.orphans.append(Orphan(sha, purge_seq, None))
        else:
            purge.orphan(sha, purge_seq, identity, report)
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
        """Purge one blob: flag and custody event committed together, then the file."""
        with write_session(self.sessions) as session:
            row = _locked_media(session, sha)
            if row is None or not row.kept_in_vault or row.last_seen >= self.cutoff:
                return  # seen again, or purged by another run, since it was listed
            found = protections(session, [sha], self.now).get(sha)
            if found:  # joined a case since it was listed
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
        report.purged.append(PurgedBlob(sha, last_seen, identity is None, event.seq))
        if identity is None:
            report.problems.append(_missing(sha, event.seq))
            return
        try:
            self.vault.delete(sha)
        except OSError as exc:
            report.problems.append(
                f"media {sha}: purged (custody seq {event.seq}) but its vault file could not be "
                f"deleted ({exc}); the next purge deletes it"
            )

    def _payload(self, last_seen: datetime, identity: dict[str, int] | None) -> dict[str, Any]:
        reason = (
            f"retention period over: last seen more than {self.retention_days} days before "
            f"{self.now.isoformat()}, in no open case and under no preservation hold"
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

    def orphan(
        self, sha: str, purge_seq: int, identity: dict[str, int], report: PurgeReport
    ) -> None:
        """Delete a file the purge at ``purge_seq`` left behind, recorded once per purge."""
        subject = f"media:{sha}"
        with write_session(self.sessions) as session:
            row = _locked_media(session, sha)
            if row is None or row.kept_in_vault or _identity(self.vault, sha) != identity:
                return  # kept again meanwhile: the file is its copy now
            recorded = any(
                payload.get("purge_seq") == purge_seq
                for payload in session.scalars(
                    select(CustodyEventRecord.payload).where(
                        CustodyEventRecord.kind == ORPHAN_REMOVED,
                        CustodyEventRecord.subject == subject,
                    )
                )
            )
            seq = None
            if not recorded:  # else a run stopped after recording it, before the deletion
                seq = self.custody.append(
                    ORPHAN_REMOVED,
                    subject,
                    {
                        "purge_seq": purge_seq,
                        "reason": f"the purge recorded at custody seq {purge_seq} stopped "
                        "before deleting the vault file",
                    },
                    actor=self.actor,
                    tool_version=self.tool_version,
                    session=session,
                ).seq
        report.orphans.append(Orphan(sha, purge_seq, seq))
        try:
            self.vault.delete(sha)
        except OSError as exc:
            report.problems.append(f"media {sha}: left by the purge at seq {purge_seq}: {exc}")


def _locked_media(session: Session, sha: str) -> MediaRecord | None:
    # FOR UPDATE also waits for a transaction linking an item to this media (its foreign key
    # takes a share lock on the row); SQLite's BEGIN IMMEDIATE already serialises writers.
    return session.scalars(
        select(MediaRecord).where(MediaRecord.sha256 == sha).with_for_update()
    ).one_or_none()


def _identity(vault: Vault, sha: str) -> dict[str, int] | None:
    """What tells this file from a later copy under the same name (written anew, renamed in)."""
    try:
        st = vault.path_of(sha).stat()
    except FileNotFoundError:
        return None
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _missing(sha: str, seq: int | None) -> str:
    recorded = f"recorded as purged (custody seq {seq})" if seq else "would be recorded as purged"
    return f"media {sha}: marked kept, but the vault holds no file; {recorded}"


def _leftovers(
    sessions: sessionmaker[Session], vault: Vault
) -> list[tuple[str, int, dict[str, int]]]:
    """(SHA-256, purge seq) of files a purge recorded but did not delete: the file named by the
    newest ``media.purged`` event is still there, unchanged, and the media is not kept again."""
    newest: dict[str, tuple[int, dict[str, int] | None]] = {}
    with sessions() as session:
        events = select(
            CustodyEventRecord.seq, CustodyEventRecord.subject, CustodyEventRecord.payload
        ).where(CustodyEventRecord.kind == PURGED)
        for seq, subject, payload in session.execute(events.order_by(CustodyEventRecord.seq)):
            newest[subject.removeprefix("media:")] = (seq, payload.get("vault_file"))
    left = {
        sha: (seq, identity)
        for sha, (seq, identity) in newest.items()
        if identity is not None and _identity(vault, sha) == identity
    }
    shas = sorted(left)
    kept: set[str] = set()
    with sessions() as session:
        for start in range(0, len(shas), BATCH):
            kept.update(
                session.scalars(
                    select(MediaRecord.sha256).where(
                        MediaRecord.sha256.in_(shas[start : start + BATCH]),
                        MediaRecord.kept_in_vault.is_(True),
                    )
                )
            )
    return [(sha, *left[sha]) for sha in shas if sha not in kept]
