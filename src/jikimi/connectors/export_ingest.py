"""Ingest a Telegram Desktop export: every message becomes one item, through the service.

Each :class:`~jikimi.connectors.telegram_export.ExportMessage` is handed to
:meth:`jikimi.web.service.Service.ingest` as a :class:`NewItem` (platform ``telegram``, the
chat and message ids, the typed sender, UTC time, text, the message's JSON as ``raw``, its
propagation edges as ``links``) with its saved media as uploads and the chat title and caption
as the ``context`` text. So an export gets the same hashes, matching, policy, cases, custody and
outbox effects as an item sent to ``POST /v1/items``.

Resuming is by ``external_id`` alone (``telegram-export:<chat id>:<message id>``): the service
looks it up before reading any media, so a re-run or a run after a kill records nothing twice
and hashes nothing already recorded. The checkpoint ``export:<sha256 of result.json's path>``
only counts progress for reports; it never decides what is skipped.

Service messages (joins, pins, invitations) and messages without text or media are recorded
too: their raw JSON and sender are evidence of who was in a chat and who brought whom in, and
recording them costs one small row each.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jikimi.connectors.telegram_export import (
    RESULT_NAME,
    ExportMessage,
    ExportProblem,
    MediaRef,
    read_export,
)
from jikimi.model import Match, MediaSignals, Signal
from jikimi.pipeline.item import ItemAnalysis, Upload
from jikimi.pipeline.scan import EXIT_FILES_FAILED, EXIT_MATCH, EXIT_MATCH_AND_FILES_FAILED
from jikimi.signals.extractor import TextInput
from jikimi.store.checkpoints import Checkpoints
from jikimi.store.items_repo import ItemEdge, MediaLink, NewItem, RecordedItem

if TYPE_CHECKING:  # the service is handed in; connectors do not build it
    from jikimi.web.service import Service

__all__ = ["ExportSummary", "MediaOutcome", "MessageResult", "checkpoint_name", "ingest_export"]

PLATFORM = "telegram"
EXTERNAL_PREFIX = "telegram-export"
# How often (in messages) the progress checkpoint is written; the last write is at the end.
CHECKPOINT_EVERY = 1000
_COLUMN = 200  # the width of the items' id columns
_MISSING_TEXT = {
    "not_included": "not in the export: Telegram Desktop's export settings left this file out",
    "too_large": "not in the export: the file was over the export's size limit",
    "unavailable": "not in the export: Telegram could not deliver the file when exporting",
    "absent": "not in the export: result.json names the file but it is not in the folder",
}
_FIX_WHOLE_FILE = (
    ". Export again from Telegram Desktop (format 'Machine-readable JSON') or copy result.json "
    "again, and run the same command: the messages recorded before the fault are skipped"
)


@dataclass(frozen=True, slots=True)
class MediaOutcome:
    """One media reference of a message: hashed (``sha256``), ``missing`` from the export
    (not an error), or refused/unreadable (``error``)."""

    field: str
    file: str | None = None
    sha256: str | None = None
    missing: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in _fields(self).items() if v is not None}


@dataclass(slots=True)
class MessageResult:
    """What became of one message (or one problem of the export, with ``where`` set)."""

    chat: int | None
    message_id: int | None
    item_id: int | None = None
    verdict: str | None = None
    created: bool = False
    media: list[MediaOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    matches: list[Match] = field(default_factory=list)
    where: str | None = None

    @property
    def known_abuse(self) -> bool:
        return any(m.known_abuse for m in self.matches)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "chat": self.chat,
            "message_id": self.message_id,
            "item_id": self.item_id,
            "verdict": self.verdict,
            "media": [m.as_dict() for m in self.media],
            "problems": list(self.problems),
        }
        if self.matches:
            out["matches"] = [m.as_dict() for m in self.matches]
        if self.item_id is not None and not self.created:
            out["skipped"] = "already recorded"
        if self.where is not None:
            out["where"] = self.where
        return out


@dataclass(slots=True)
class ExportSummary:
    """Counts over one export. ``failed``: messages or places with a problem (exit 3);
    ``matched``: items with a known-abuse match (exit 4)."""

    export: str
    messages: int = 0
    recorded: int = 0
    already_recorded: int = 0
    media: int = 0
    missing_media: int = 0
    problems: int = 0
    failed: int = 0
    matched: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    item_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        if self.matched and self.failed:
            return EXIT_MATCH_AND_FILES_FAILED
        if self.matched:
            return EXIT_MATCH
        return EXIT_FILES_FAILED if self.failed else 0

    def count(self, result: MessageResult) -> None:
        if result.message_id is not None and result.where is None:
            self.messages += 1
        if result.item_id is not None:
            self.item_ids.append(result.item_id)
            if result.created:
                self.recorded += 1
            else:
                self.already_recorded += 1
        if result.verdict is not None:
            self.verdicts[result.verdict] += 1
        self.media += sum(1 for m in result.media if m.sha256 is not None)
        self.missing_media += sum(1 for m in result.media if m.missing is not None)
        self.problems += len(result.problems)
        self.failed += bool(result.problems)
        self.matched += result.known_abuse

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in _fields(self).items() if k not in ("verdicts", "item_ids")}
        out["verdicts"] = dict(sorted(self.verdicts.items()))
        return out

    def line(self) -> str:
        verdicts = ", ".join(f"{k} {v}" for k, v in sorted(self.verdicts.items())) or "none"
        return (
            f"{self.export}: {self.messages} messages: {self.recorded} recorded, "
            f"{self.already_recorded} already recorded, {self.media} media, "
            f"{self.missing_media} missing media, {self.problems} problems, {self.matched} "
            f"known-abuse matches (verdicts: {verdicts}) in {self.seconds:.1f}s"
        )


def checkpoint_name(folder: Path) -> str:
    """The progress checkpoint of the export in ``folder``: ``export:<sha256 of the resolved
    path of its result.json>``."""
    folder = Path(folder)
    result = folder if folder.name == RESULT_NAME and folder.is_file() else folder / RESULT_NAME
    digest = hashlib.sha256(str(result.resolve()).encode("utf-8")).hexdigest()
    return f"export:{digest}"


def ingest_export(
    service: Service, folder: Path, *, actor: str, summary: ExportSummary | None = None
) -> Iterator[MessageResult]:
    """Record every message of the export in ``folder`` as an item and yield what became of
    each, in file order (problems in place). ``summary``, when given, is kept up to date (read
    it after the loop). Raises :class:`~jikimi.errors.ExportError` only when the folder holds no
    readable export at all. Stopping early (a kill, a closed generator) loses nothing recorded."""
    summary = summary if summary is not None else ExportSummary(str(folder))
    checkpoints = Checkpoints(service.ws.sessions)
    name = checkpoint_name(folder)
    started = time.monotonic()
    since_saved = 0
    root = Path(folder).resolve()
    root = root.parent if root.name == RESULT_NAME and root.is_file() else root
    try:
        for entry in read_export(Path(folder)):
            if isinstance(entry, ExportProblem):
                result = _problem(entry)
            else:
                result = _ingest_message(service, entry, actor, root)
            summary.count(result)
            since_saved += 1
            if since_saved >= CHECKPOINT_EVERY:
                _save_progress(checkpoints, name, folder, summary)
                since_saved = 0
            yield result
    finally:
        summary.seconds = time.monotonic() - started
        _save_progress(checkpoints, name, folder, summary)


def _save_progress(
    checkpoints: Checkpoints, name: str, folder: Path, summary: ExportSummary
) -> None:
    checkpoints.save(
        name,
        {"export": str(Path(folder).resolve()), "messages_done": summary.messages,
         "recorded": summary.recorded, "already_recorded": summary.already_recorded,
         "problems": summary.problems},
    )  # fmt: skip


def _problem(problem: ExportProblem) -> MessageResult:
    message = " ".join(problem.message.split())  # a parser's message may span lines
    if problem.where == RESULT_NAME:
        message += _FIX_WHOLE_FILE
    return MessageResult(None, None, problems=[message], where=problem.where)


def _ingest_message(
    service: Service, message: ExportMessage, actor: str, root: Path
) -> MessageResult:
    result = MessageResult(message.chat.id, message.id)
    item = _new_item(message, actor)
    assert item.external_id is not None
    existing = service.items.find_external(item.submitted_by, item.external_id)
    if existing is not None:  # before any media is read: a re-run hashes nothing twice
        return _already_recorded(service, result, existing, message, root)
    uploads: list[Upload] = []
    upload_fields: list[str] = []
    missing: list[MediaLink] = []
    for ref in message.media:
        if ref.path is not None:
            uploads.append(Upload(ref.path, ref.path.relative_to(root).as_posix()))
            upload_fields.append(ref.field)
        else:
            missing.append(_unread(ref, result))
    recorded, analysis = service.ingest(
        item,
        uploads,
        text=_text_input(message),
        signals=(),
        actor=actor,
        missing_media=missing,
    )
    if analysis is None or not recorded.created:  # recorded meanwhile by another run
        fresh = MessageResult(message.chat.id, message.id)
        return _already_recorded(service, fresh, recorded, message, root)
    result.item_id, result.created = recorded.item_id, recorded.created
    assert analysis.verdict is not None
    result.verdict = analysis.verdict.outcome
    _media_results(analysis, upload_fields, result)
    return result


def _new_item(message: ExportMessage, actor: str) -> NewItem:
    chat = "" if message.chat.id is None else str(message.chat.id)
    sender = message.sender
    return NewItem(
        platform=PLATFORM,
        submitted_by=actor,
        chat_id=chat or None,
        message_id=str(message.id),
        author_id=sender.raw[:_COLUMN] if sender is not None else None,
        posted_at=message.date_utc,
        text=message.text or None,
        meta=_meta(message),
        external_id=f"{EXTERNAL_PREFIX}:{chat}:{message.id}",
        raw=message.raw.decode("utf-8"),
        links=_edges(message),
    )


def _meta(message: ExportMessage) -> dict[str, Any]:
    chat = message.chat
    meta: dict[str, Any] = {
        "source": "telegram-desktop-export",
        "message_type": message.type,
        "date_local": message.date_local,
        "chat_title": chat.name,
        "chat_type": chat.type,
    }
    if chat.left:
        meta["chat_left"] = True
    if message.sender_name is not None:
        meta["sender_name"] = message.sender_name
    if message.sender is not None and message.sender.kind == "unknown":
        meta["sender_unrecognised"] = message.sender.raw
    missing = [{"field": m.field, "reason": m.missing} for m in message.media if m.missing]
    if missing:
        meta["missing_media"] = missing
    return {k: v for k, v in meta.items() if v is not None}


def _edges(message: ExportMessage) -> tuple[ItemEdge, ...]:
    """The propagation edges: forwarded from (the typed id when the export has one, else the
    name alone), the message replied to (in the same chat), the inline bot it was sent via."""
    edges: list[ItemEdge] = []
    if message.forwarded_from is not None:
        edges.append(
            ItemEdge(
                "forwarded_from",
                actor=_forwarded_from_id(message.raw),
                label=message.forwarded_from,
            )
        )
    if message.reply_to is not None:
        chat = None if message.chat.id is None else str(message.chat.id)
        edges.append(ItemEdge("reply_to", chat_id=chat, message_id=str(message.reply_to)))
    if message.via_bot is not None:
        edges.append(ItemEdge("via_bot", actor=message.via_bot[:_COLUMN], label=message.via_bot))
    return tuple(edges)


def _forwarded_from_id(raw: bytes) -> str | None:
    # Newer exports add "forwarded_from_id" ("channel123"); the reader does not surface it, and
    # forwards are few, so parsing the raw again only for them costs little.
    value = json.loads(raw).get("forwarded_from_id")
    return value[:_COLUMN] if isinstance(value, str) and value else None


def _text_input(message: ExportMessage) -> TextInput | None:
    """The text the ``context`` signal reads: the message text (a caption when it has media),
    the chat title, the inline bot."""
    where = "caption" if message.media else "text"
    fields = {
        k: v
        for k, v in (
            (where, message.text),
            ("chat_title", message.chat.name),
            ("via_bot", message.via_bot),
        )
        if v
    }
    return TextInput(fields) if fields else None


def _unread(ref: MediaRef, result: MessageResult) -> MediaLink:
    """A media the export does not hold: missing (not an error) or refused (a problem)."""
    if ref.missing is not None:
        text = _MISSING_TEXT.get(ref.missing, f"not in the export: {ref.missing}")
        result.media.append(MediaOutcome(ref.field, missing=ref.missing))
        return MediaLink(None, error=f"{ref.field} {text}")
    error = f"{ref.field} refused: {ref.error}"
    result.media.append(MediaOutcome(ref.field, error=ref.error))
    result.problems.append(error)
    return MediaLink(None, error=error)


def _media_results(analysis: ItemAnalysis, fields: list[str], result: MessageResult) -> None:
    hashed = [
        MediaOutcome(
            field=name,
            file=upload.filename,
            sha256=cascade.media.sha256,
            error=cascade.media.error,
        )
        for name, (upload, cascade) in zip(fields, analysis.media, strict=True)
    ]
    result.media[:0] = hashed
    result.matches = analysis.matches
    for outcome in hashed:
        if outcome.error is not None:
            result.problems.append(f"{outcome.file}: {outcome.error}")


def _already_recorded(
    service: Service,
    result: MessageResult,
    recorded: RecordedItem,
    message: ExportMessage,
    root: Path,
) -> MessageResult:
    """An item recorded by an earlier run: its stored verdict, and its stored media's hashes
    matched again against the banks as they are now (as ``jikimi scan`` does for files)."""
    result.item_id, result.created = recorded.item_id, False
    stored = service.items.get(recorded.item_id) or {}
    verdicts = stored.get("verdicts") or []
    result.verdict = verdicts[0]["outcome"] if verdicts else None
    by_name = {m.get("filename"): m for m in stored.get("media") or [] if m.get("filename")}
    for ref in message.media:
        if ref.path is None:
            _unread(ref, result)
            continue
        name = ref.path.relative_to(root).as_posix()
        media = by_name.get(name) or {}
        if media.get("sha256") is None:
            error = media.get("error") or "not recorded with the item"
            result.media.append(MediaOutcome(ref.field, file=name, error=error))
            result.problems.append(f"{name}: {error}")
            continue
        error = media.get("error")
        result.media.append(MediaOutcome(ref.field, file=name, sha256=media["sha256"], error=error))
        if error:
            result.problems.append(f"{name}: {error}")
        found = MediaSignals(file=name, size=0, sha256=media["sha256"])
        signals = media.get("signals") or {}
        found.signals = {n: Signal(n, v) for n, v in signals.items() if isinstance(v, str)}
        result.matches.extend(service.matcher.match_media(found))
    return result


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}
