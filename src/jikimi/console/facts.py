"""What a reviewer decides from before any picture: items, media, matches, verdict reasons.

Read-only and in bulk (a queue page asks for a hundred cases in a few queries, not a hundred):
:func:`case_facts` loads the items of some cases with their media, every match of that media
(bank flags included) and each item's latest verdict. The judgements the console makes on them
live here too, so the pages and the tests agree on one definition:

- **exact known abuse** (:attr:`CaseFacts.exact_known_abuse`): every item has media and every
  file of it is byte-identical (SHA-256 or MD5) to an entry of a known-abuse bank trusted for
  automatic action; only such cases may be confirmed in bulk;
- **facts only** (:attr:`CaseFacts.facts_only`): nothing in the case needs looking at, because
  each item has no media or only media matched exactly; offered to a reviewer past the daily
  reveal limit;
- **suspected minor** media (:func:`media_is_minor`): a suspected-minor case or verdict, or a
  match in a bank marked ``minors``; only ``minors:view`` may see it, even blurred.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jikimi.store.models import (
    Bank,
    Case,
    Item,
    ItemLink,
    ItemMedia,
    MatchRecord,
    MediaRecord,
    Notice,
    VerdictRecord,
)

__all__ = [
    "EXACT_SIGNALS",
    "CaseFacts",
    "ItemFacts",
    "MatchFacts",
    "MediaFacts",
    "case_facts",
    "media_is_minor",
    "notice_kinds",
]

# Signals whose match means the very same bytes (a cryptographic digest of the file).
EXACT_SIGNALS = frozenset({"sha256", "md5"})
KNOWN_ABUSE = "known-abuse"
PROTECTED_PERSON = "protected-person"


@dataclass(frozen=True, slots=True)
class MatchFacts:
    bank: str
    signal_type: str
    distance: float
    bank_kind: str
    transform: str | None
    suppressed_by: str | None
    auto_action: bool
    minors: bool
    person: str | None  # a protected person's id (never their name or face)

    @property
    def exact(self) -> bool:
        return self.signal_type in EXACT_SIGNALS and self.distance == 0

    @property
    def exact_known_abuse(self) -> bool:
        """Byte-identical to known abuse in a bank trusted for automatic action."""
        return (
            self.exact
            and self.bank_kind == KNOWN_ABUSE
            and self.auto_action
            and self.suppressed_by is None
        )


@dataclass(frozen=True, slots=True)
class MediaFacts:
    position: int
    sha256: str | None
    md5: str | None
    file_id: str | None
    filename: str | None
    error: str | None
    media_type: str | None
    mime: str | None
    width: int | None
    height: int | None
    duration: float | None
    kept: bool
    pdq: str | None
    matches: tuple[MatchFacts, ...]

    @property
    def exact_known_abuse(self) -> bool:
        return self.sha256 is not None and any(m.exact_known_abuse for m in self.matches)

    @property
    def exact(self) -> bool:
        return self.sha256 is not None and any(
            m.exact and m.bank_kind == KNOWN_ABUSE and m.suppressed_by is None for m in self.matches
        )

    @property
    def minors(self) -> bool:
        return any(m.minors and m.suppressed_by is None for m in self.matches)


@dataclass(frozen=True, slots=True)
class LinkFacts:
    """Where an item came from: ``kind`` is forwarded_from, reply_to or via_bot; ``target``
    names the actor or message, ``label`` its display name when known."""

    kind: str
    target: str
    label: str | None


@dataclass(frozen=True, slots=True)
class ItemFacts:
    id: int
    case_id: int | None
    platform: str
    chat_id: str | None
    message_id: str | None
    url: str | None
    text: str | None
    posted_at: datetime | None
    received_at: datetime
    media: tuple[MediaFacts, ...]
    verdict: dict[str, Any] | None  # the latest: outcome, reasons, suspected_minor, automated
    author_id: str | None = None
    links: tuple[LinkFacts, ...] = ()

    @property
    def suspected_minor(self) -> bool:
        flagged = bool(self.verdict and self.verdict["suspected_minor"])
        return flagged or any(m.minors for m in self.media)


@dataclass(slots=True)
class CaseFacts:
    items: list[ItemFacts] = field(default_factory=list)

    @property
    def media(self) -> list[MediaFacts]:
        return [m for i in self.items for m in i.media]

    @property
    def exact_known_abuse(self) -> bool:
        return bool(self.items) and all(
            i.media and all(m.exact_known_abuse for m in i.media) for i in self.items
        )

    @property
    def facts_only(self) -> bool:
        return all(all(m.exact or m.sha256 is None for m in i.media) for i in self.items)

    @property
    def minors(self) -> bool:
        return any(i.suspected_minor for i in self.items)

    def banks(self) -> list[tuple[str, str, float, bool]]:
        """Each (bank, signal type) matched, with the least distance and whether exact;
        protected persons are left out (see :meth:`persons`)."""
        best: dict[tuple[str, str], float] = {}
        for m in self.media:
            for match in m.matches:
                if match.person is None and match.suppressed_by is None:
                    key = (match.bank, match.signal_type)
                    best[key] = min(best.get(key, match.distance), match.distance)
        return [
            (bank, signal, dist, signal in EXACT_SIGNALS and dist == 0)
            for (bank, signal), dist in sorted(best.items())
        ]

    def persons(self) -> list[tuple[str, float]]:
        """Each protected person matched (id) with the least distance."""
        best: dict[str, float] = {}
        for m in self.media:
            for match in m.matches:
                if match.person is not None:
                    best[match.person] = min(best.get(match.person, match.distance), match.distance)
        return sorted(best.items())

    def rules(self) -> list[str]:
        """The policy rules behind the items' latest verdicts, each once."""
        seen: dict[str, None] = {}
        for item in self.items:
            for reason in (item.verdict or {}).get("reasons", []):
                if isinstance(reason, dict) and isinstance(reason.get("rule"), str):
                    seen.setdefault(reason["rule"], None)
        return list(seen)

    def bulk_category(self) -> str:
        """The category of a bulk removal: ``minors`` when a bank behind it holds child
        abuse, else ``adult_ncii``."""
        exact = [mt for m in self.media for mt in m.matches if mt.exact_known_abuse]
        return "minors" if any(mt.minors for mt in exact) else "adult_ncii"


def _banks(session: Session, names: Iterable[str]) -> dict[str, Bank]:
    wanted = sorted(set(names))
    if not wanted:
        return {}
    rows = session.scalars(select(Bank).where(Bank.name.in_(wanted), Bank.deleted_at.is_(None)))
    return {b.name: b for b in rows}


def _matches(session: Session, shas: Sequence[str]) -> dict[str, list[MatchFacts]]:
    if not shas:
        return {}
    rows = session.scalars(
        select(MatchRecord).where(MatchRecord.media_sha256.in_(shas)).order_by(MatchRecord.id)
    ).all()
    banks = _banks(session, (r.bank for r in rows))
    out: dict[str, list[MatchFacts]] = defaultdict(list)
    for r in rows:
        bank = banks.get(r.bank)
        person = (r.detail or {}).get("person") if r.bank_kind == PROTECTED_PERSON else None
        out[r.media_sha256].append(
            MatchFacts(
                bank=r.bank,
                signal_type=r.signal_type,
                distance=float(r.distance),
                bank_kind=r.bank_kind,
                transform=r.transform,
                suppressed_by=r.suppressed_by,
                auto_action=bool(bank and bank.auto_action),
                minors=bool(bank and bank.minors),
                person=person if isinstance(person, str) else None,
            )
        )
    return out


def _media(session: Session, item_ids: Sequence[int]) -> dict[int, list[MediaFacts]]:
    links = session.scalars(
        select(ItemMedia)
        .where(ItemMedia.item_id.in_(item_ids))
        .order_by(ItemMedia.item_id, ItemMedia.position)
    ).all()
    shas = sorted({ln.media_sha256 for ln in links if ln.media_sha256})
    records = {
        r.sha256: r
        for r in (
            session.scalars(select(MediaRecord).where(MediaRecord.sha256.in_(shas))) if shas else ()
        )
    }
    matches = _matches(session, shas)
    out: dict[int, list[MediaFacts]] = defaultdict(list)
    for ln in links:
        rec = records.get(ln.media_sha256 or "")
        pdq = (rec.signals or {}).get("pdq") if rec else None
        out[ln.item_id].append(
            MediaFacts(
                position=ln.position,
                sha256=ln.media_sha256,
                md5=ln.media_md5,
                file_id=ln.file_id,
                filename=ln.filename,
                error=ln.error or (rec.error if rec else None),
                media_type=rec.media_type if rec else None,
                mime=rec.mime if rec else None,
                width=rec.width if rec else None,
                height=rec.height if rec else None,
                duration=rec.duration if rec else None,
                kept=bool(rec and rec.kept_in_vault),
                pdq=pdq if isinstance(pdq, str) else None,
                matches=tuple(matches.get(ln.media_sha256 or "", ())),
            )
        )
    return out


def _verdicts(session: Session, item_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    rows = session.scalars(
        select(VerdictRecord).where(VerdictRecord.item_id.in_(item_ids)).order_by(VerdictRecord.id)
    ).all()
    latest: dict[int, dict[str, Any]] = {}
    for v in rows:  # ordered by id: the last one wins
        latest[v.item_id] = {
            "outcome": v.outcome,
            "automated": v.automated,
            "suspected_minor": v.suspected_minor,
            "queue": v.queue,
            "reasons": list(v.reasons),
        }
    return latest


def items_facts(session: Session, item_ids: Sequence[int]) -> dict[int, ItemFacts]:
    """Items by id with their media, matches and latest verdicts."""
    if not item_ids:
        return {}
    rows = session.scalars(select(Item).where(Item.id.in_(item_ids)).order_by(Item.id)).all()
    media = _media(session, [r.id for r in rows])
    verdicts = _verdicts(session, [r.id for r in rows])
    links = _links(session, [r.id for r in rows])
    return {
        r.id: ItemFacts(
            id=r.id,
            case_id=r.case_id,
            platform=r.platform,
            chat_id=r.chat_id,
            message_id=r.message_id,
            url=r.url,
            text=r.text,
            posted_at=r.posted_at,
            received_at=r.received_at,
            media=tuple(media.get(r.id, ())),
            verdict=verdicts.get(r.id),
            author_id=r.author_id,
            links=tuple(links.get(r.id, ())),
        )
        for r in rows
    }


def _links(session: Session, item_ids: Sequence[int]) -> dict[int, list[LinkFacts]]:
    """Each item's edges of the propagation graph, in the order they were recorded."""
    out: dict[int, list[LinkFacts]] = {}
    rows = session.scalars(
        select(ItemLink).where(ItemLink.item_id.in_(item_ids)).order_by(ItemLink.id)
    )
    for link in rows:
        message = "/".join(part for part in (link.chat_id, link.message_id) if part)
        target = link.actor or message
        out.setdefault(link.item_id, []).append(LinkFacts(link.kind, target, link.label))
    return out


def case_facts(session: Session, case_ids: Sequence[int]) -> dict[int, CaseFacts]:
    """The facts of each case (an empty one for a case without items)."""
    out = {case_id: CaseFacts() for case_id in case_ids}
    if not case_ids:
        return out
    item_ids = session.scalars(select(Item.id).where(Item.case_id.in_(case_ids))).all()
    for item in items_facts(session, item_ids).values():
        assert item.case_id is not None
        out[item.case_id].items.append(item)
    return out


def notice_kinds(session: Session, case_ids: Sequence[int]) -> dict[int, list[str]]:
    """The kinds of the notices behind each case, each once, in order of receipt."""
    out: dict[int, list[str]] = defaultdict(list)
    if not case_ids:
        return out
    rows = session.execute(
        select(Notice.case_id, Notice.kind)
        .where(Notice.case_id.in_(case_ids), Notice.complete.is_(True))
        .order_by(Notice.id)
    )
    for case_id, kind in rows:
        if case_id is not None and kind not in out[case_id]:
            out[case_id].append(kind)
    return out


def media_is_minor(session: Session, sha256: str) -> bool:
    """Whether media may show a minor: held by an item of a suspected-minor case or verdict,
    or matched in a bank marked ``minors``. Any one of them is enough."""
    items = session.execute(
        select(Item.id, Item.case_id)
        .join(ItemMedia, ItemMedia.item_id == Item.id)
        .where(ItemMedia.media_sha256 == sha256)
    ).all()
    item_ids = [i for i, _ in items]
    case_ids = sorted({c for _, c in items if c is not None})
    if item_ids and session.scalar(
        select(VerdictRecord.id)
        .where(VerdictRecord.item_id.in_(item_ids), VerdictRecord.suspected_minor.is_(True))
        .limit(1)
    ):
        return True
    if case_ids and session.scalar(
        select(Case.id).where(Case.id.in_(case_ids), Case.suspected_minor.is_(True)).limit(1)
    ):
        return True
    banks = session.scalars(
        select(MatchRecord.bank).where(
            MatchRecord.media_sha256 == sha256, MatchRecord.suppressed_by.is_(None)
        )
    ).all()
    return any(b.minors for b in _banks(session, banks).values())
