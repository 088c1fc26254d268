"""A case's facts as a CyberTipline report says them: read from the store, nothing written.

Rooms are the case's chats (one chat/IM incident each); the reported person is the author of
most of the case's items, by the platform's typed id (``user123``, ``channel456``), the others
named in the report's additional information; files are the case's media with their MD5 and
SHA-1. ``docs/ncmec.md`` says where each value comes from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jikimi.errors import CaseError, CaseNotFound
from jikimi.reports.cybertipline import (
    ChatRoom,
    FileFacts,
    ReportedPerson,
    Reporter,
    ReportFacts,
)
from jikimi.signals.c2pa_manifest import AI_SOURCE_TYPES
from jikimi.store.models import (
    Case,
    CustodyEventRecord,
    Item,
    ItemMedia,
    MediaRecord,
    VerdictRecord,
)

__all__ = ["CHILD_SAFETY", "REVEALED", "gather_facts", "reportable"]

CHILD_SAFETY = "child_safety"
REVEALED = "media.revealed"  # the console's reveal of an original (console/wellness.py)
_PLATFORMS = {"telegram": "Telegram"}
# Telegram's chat types (Bot API, and Desktop exports) that nobody outside can read.
_PRIVATE_CHATS = frozenset(
    {
        "private",
        "personal_chat",
        "bot_chat",
        "saved_messages",
        "private_group",
        "private_supergroup",
        "private_channel",
    }
)


@dataclass(frozen=True, slots=True)
class _Media:
    link: ItemMedia
    item: Item
    record: MediaRecord | None


def reportable(case: Case) -> bool:
    """Only child-safety cases go to NCMEC: the ``child_safety`` queue or a suspected minor."""
    return case.queue == CHILD_SAFETY or bool(case.suspected_minor)


def gather_facts(
    session: Session, case_id: int, *, reporter_email: str | None, held: Callable[[str], bool]
) -> ReportFacts:
    """The report's facts for ``case_id``; ``held``: whether the vault holds a SHA-256's bytes
    (those files are uploaded; the others are reported by their hashes)."""
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"no case {case_id}; see jikimi case list")
    if not reportable(case):
        raise CaseError(
            f"case {case_id} is in the {case.queue!r} queue and not suspected of showing a "
            "minor; only child-safety cases are reported to NCMEC"
        )
    items = list(session.scalars(select(Item).where(Item.case_id == case_id).order_by(Item.id)))
    media = _media(session, items)
    revealed = _revealed(session, {m.record.sha256 for m in media if m.record})
    deepfake_items = _deepfake_context_items(session, [i.id for i in items])
    files = tuple(
        _file(m, m.record.sha256 in revealed, m.item.id in deepfake_items, held)
        for m in media
        if m.record is not None
    )
    times = [_in_the_past(i.posted_at) or i.received_at for i in items]
    incident_at = min(times) if times else case.created_at
    described = (
        "when the earliest message of the case was posted (or received, where the platform "
        "gave no time)"
        if times
        else "when the case was opened (it holds no messages)"
    )
    person, others = _people(items)
    return ReportFacts(
        case_id=case_id,
        incident_at=incident_at,
        incident_at_description=described,
        reporter=Reporter(email=reporter_email),
        rooms=_rooms(items),
        person=person,
        files=files,
        platform=_platform(items[0].platform) if items else None,
        additional_info=_additional_info(case_id, items, media, files, others),
    )


def _platform(name: str) -> str:
    return _PLATFORMS.get(name.lower(), name)


def _media(session: Session, items: list[Item]) -> list[_Media]:
    """Each media of the case once (its first appearance), in item order."""
    by_id = {i.id: i for i in items}
    links = session.scalars(
        select(ItemMedia)
        .where(ItemMedia.item_id.in_(list(by_id)))
        .order_by(ItemMedia.item_id, ItemMedia.position)
    ).all()
    shas = {link.media_sha256 for link in links if link.media_sha256}
    records = {
        r.sha256: r
        for r in session.scalars(select(MediaRecord).where(MediaRecord.sha256.in_(shas)))
    }
    out, seen = [], set()
    for link in links:
        if link.media_sha256 in seen:
            continue
        if link.media_sha256:
            seen.add(link.media_sha256)
        out.append(_Media(link, by_id[link.item_id], records.get(link.media_sha256 or "")))
    return out


def _revealed(session: Session, shas: set[str]) -> set[str]:
    """The media a reviewer revealed (a ``media.revealed`` custody event names it)."""
    payloads = session.scalars(
        select(CustodyEventRecord.payload).where(CustodyEventRecord.kind == REVEALED)
    )
    return {p.get("media") for p in payloads if p.get("media") in shas}


def _deepfake_context_items(session: Session, item_ids: list[int]) -> set[int]:
    """Items whose verdict fired on deepfake context (a rule or fact naming it)."""
    verdicts = session.scalars(select(VerdictRecord).where(VerdictRecord.item_id.in_(item_ids)))
    return {
        v.item_id
        for v in verdicts
        for reason in v.reasons
        if "deepfake" in str(reason.get("rule", ""))
        or any(str(f).startswith("context: deepfake") for f in reason.get("facts", ()))
    }


def _generative_ai(findings: Mapping[str, Any], deepfake_context: bool) -> tuple[str, ...]:
    """Why the media looks AI-made, from its findings; empty when nothing says so."""
    signs = []
    c2pa = findings.get("c2pa") or {}
    value = c2pa.get("value") or {}
    source = str(value.get("digital_source_type") or "").rstrip("/").rsplit("/", 1)[-1]
    if value.get("ai_generated") is True or source in AI_SOURCE_TYPES:
        signs.append(f"C2PA digital source type {source or 'AI-generated'}")
    if value.get("ingredient_ai_generated") is True:
        signs.append("C2PA manifest with an AI-generated ingredient")
    for name, words in (
        ("generator_metadata", "generator metadata"),
        ("watermark", "Stable Diffusion invisible watermark"),
        ("synthetic", "synthetic-image classifier (advisory)"),
    ):
        if (findings.get(name) or {}).get("present") is True:
            signs.append(words)
    if deepfake_context:
        signs.append("posted in a deepfake-trade context")
    return tuple(signs)


def _publicly_available(meta: Mapping[str, Any]) -> bool | None:
    """True for a chat with a public username; False for a private one; None: not known."""
    kind = str(meta.get("chat_type") or "")
    if meta.get("chat_username") or kind.startswith("public_"):
        return True
    if kind in _PRIVATE_CHATS:
        return False
    return None


def _file(media: _Media, revealed: bool, deepfake: bool, held: Callable[[str], bool]) -> FileFacts:
    record = media.record
    assert record is not None
    signals = record.signals or {}
    return FileFacts(
        sha256=record.sha256,
        md5=signals.get("md5") or media.link.media_md5,
        sha1=signals.get("sha1"),
        original_name=media.link.filename,
        location=media.item.url,
        uploaded_at=_in_the_past(media.item.posted_at),
        viewed_by_esp=revealed,
        # The console never shows EXIF to reviewers, so no one at the ESP has seen it.
        exif_viewed_by_esp=False,
        publicly_available=_publicly_available(media.item.meta or {}),
        generative_ai=_generative_ai(record.findings or {}, deepfake),
        held=held(record.sha256),
    )


def _in_the_past(at: datetime | None) -> datetime | None:
    """``at`` if it is before now, else None. NCMEC refuses an upload time in the future (a
    sender's clock or an export's zone gone wrong), and it would refuse it in the file details,
    after the report is open: such a time is left out rather than sent."""
    return at if at is not None and at < datetime.now(UTC) else None


def _rooms(items: list[Item]) -> tuple[ChatRoom, ...]:
    rooms: dict[tuple[str, str], list[Item]] = {}
    for item in items:
        if item.chat_id:
            rooms.setdefault((item.platform, item.chat_id), []).append(item)
    return tuple(_room(platform, chat_id, chat) for (platform, chat_id), chat in rooms.items())


def _room(platform: str, chat_id: str, items: list[Item]) -> ChatRoom:
    meta = items[0].meta or {}
    username = meta.get("chat_username")
    name = meta.get("chat_title") or (f"@{username}" if username else None) or chat_id
    info = [f"chat id {chat_id}"]
    if username:
        info.append(f"public username @{username}")
    if meta.get("chat_type"):
        info.append(f"chat type {meta['chat_type']}")
    info += [f"message {i.message_id}: {i.url}" for i in items if i.url]
    lines = [f"message {i.message_id or '?'} at {_when(i)}: {i.text}" for i in items if i.text]
    return ChatRoom(
        client=_platform(platform),
        name=str(name)[:255],
        content="\n".join(lines) or None,
        additional_info="; ".join(info),
    )


def _when(item: Item) -> str:
    at: datetime = item.posted_at or item.received_at
    return at.isoformat(timespec="seconds")


def _people(items: list[Item]) -> tuple[ReportedPerson | None, list[str]]:
    """The author of most items, and the other authors' ids."""
    counts = Counter(i.author_id for i in items if i.author_id)
    if not counts:
        return None, []
    author = counts.most_common(1)[0][0]
    theirs = [i for i in items if i.author_id == author]
    usernames = _distinct((i.meta or {}).get("author_username") for i in theirs)
    names = _distinct((i.meta or {}).get("sender_name") for i in theirs)
    platform = theirs[0].platform
    urls = tuple(f"https://t.me/{u}" for u in usernames) if platform == "telegram" else ()
    others = [a for a in counts if a != author]
    return (
        ReportedPerson(
            esp_identifier=author,
            esp_service=_platform(platform),
            screen_name=usernames[0] if usernames else None,
            display_names=names,
            profile_urls=urls,
            additional_info=f"posted {len(theirs)} of the case's {len(items)} messages",
        ),
        others,
    )


def _distinct(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(v) for v in values if v))


def _additional_info(
    case_id: int,
    items: list[Item],
    media: list[_Media],
    files: tuple[FileFacts, ...],
    others: list[str],
) -> str:
    lines = [f"Jikimi case {case_id}: {len(items)} messages, {len(files)} files."]
    if others:
        lines.append("Other authors in the case: " + ", ".join(others) + ".")
    for file in files:
        if not file.held:
            hashes = f"SHA-256 {file.sha256}, MD5 {file.md5 or '-'}, SHA-1 {file.sha1 or '-'}"
            lines.append(f"File not kept, so not uploaded: {hashes}, at {file.location or '-'}.")
    for m in media:
        if m.record is None:
            lines.append(
                f"File never read: platform file id {m.link.file_id or '-'} at "
                f"{m.item.url or '-'} ({m.link.error or 'no error recorded'})."
            )
    return "\n".join(lines)
