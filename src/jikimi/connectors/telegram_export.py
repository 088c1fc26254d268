"""Stream the messages of a Telegram Desktop JSON export (``result.json``) one at a time.

Telegram Desktop ("Export chat history" or "Export Telegram data", format "Machine-readable
JSON") writes one of two layouts:

* one chat: ``{"name", "type", "id", "messages": [...]}``;
* the whole account: ``{"chats": {"list": [chat, ...]}, "left_chats": {"list": [...]}, ...}``,
  each chat shaped like the one-chat root.

The file can be many gigabytes, so it is never loaded whole: :func:`read_export` scans it once
with :mod:`jikimi.connectors.json_slices`, for both layouts, which hands over each message
object as the exact bytes it has in the file; each is kept as ``raw`` (evidence, byte for byte)
and parsed with ``json.loads`` for the fields Jikimi reads. Each chat's ``name``, ``type`` and
``id`` precede ``messages`` in what Telegram writes; if a file puts a chat's ``id`` after its
messages, the messages read before it carry what was known at the time (``None`` for the rest)
and one :class:`ExportProblem` per chat says so, rather than buffering a whole chat in memory.

Failures are data: a malformed message, a refused media path, a message too long or too deeply
nested to keep (:data:`~jikimi.connectors.json_slices.MAX_SLICE_BYTES`,
:data:`~jikimi.connectors.json_slices.MAX_DEPTH`) or a truncated file is yielded as an
:class:`ExportProblem` (or recorded on the :class:`MediaRef`) and reading goes on where it
can. Only an export that cannot be opened at all raises :class:`~jikimi.errors.ExportError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Literal

from jikimi.connectors.json_slices import (
    ANY,
    Event,
    JsonPath,
    JsonSliceError,
    Opened,
    Scalar,
    Skipped,
    Slice,
    scan,
)
from jikimi.errors import ExportError

__all__ = [
    "MEDIA_FIELDS",
    "PLACEHOLDERS",
    "Actor",
    "ExportChat",
    "ExportMessage",
    "ExportProblem",
    "MediaRef",
    "TextEntity",
    "links",
    "read_export",
]

RESULT_NAME = "result.json"

# The message keys that name a file in the export folder.
MEDIA_FIELDS: tuple[str, ...] = ("photo", "file", "thumbnail")

# What Telegram Desktop writes instead of a path when it did not save the file.
PLACEHOLDERS: dict[str, str] = {
    "(File not included. Change data exporting settings to download.)": "not_included",
    "(File exceeds maximum size. Change data exporting settings to download.)": "too_large",
    "(File unavailable, please try again later)": "unavailable",
}

# Where chat objects sit (one chat: the root; whole account) and whether the account left
# them, where their header keys and their message lists sit, and so where messages sit.
_CHATS: dict[JsonPath, bool] = {
    (): False,
    ("chats", "list", ANY): False,
    ("left_chats", "list", ANY): True,
}
_HEADER_KEYS = ("name", "type", "id")
_HEADERS = frozenset((*chat, key) for chat in _CHATS for key in _HEADER_KEYS)
_MESSAGE_LISTS = frozenset((*chat, "messages") for chat in _CHATS)
_MESSAGES = frozenset((*messages, ANY) for messages in _MESSAGE_LISTS)
_CONTAINERS = _MESSAGE_LISTS | {("chats", "list"), ("left_chats", "list")}
_ACTOR = re.compile(r"(user|channel|chat)(\d+)")

ActorKind = Literal["user", "channel", "chat", "unknown"]
MediaField = Literal["photo", "file", "thumbnail"]


@dataclass(frozen=True)
class ExportChat:
    """One chat of the export. ``left``: it came from ``left_chats`` (the account left it)."""

    id: int | None
    name: str | None
    type: str | None
    left: bool = False


@dataclass(frozen=True)
class Actor:
    """Who sent a message or did a service action, from ``from_id`` / ``actor_id``
    (``"user123"``, ``"channel45"``, ``"chat6"``). An unrecognised value is kept as kind
    ``"unknown"`` with ``id`` None; ``raw`` is always the string as written."""

    kind: ActorKind
    id: int | None
    raw: str


@dataclass(frozen=True)
class TextEntity:
    """One item of ``text_entities``: its ``type`` (``plain``, ``bold``, ``link``,
    ``mention``, ...), its ``text``, and any other keys (``href``, ``user_id``, ...) as sorted
    ``(key, value)`` pairs, the value JSON-encoded unless it is a string."""

    type: str
    text: str
    attrs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class MediaRef:
    """A file a message refers to. Exactly one of three outcomes:

    * ``path``: the resolved file, inside the export folder;
    * ``missing``: Telegram did not save it (``not_included``, ``too_large``,
      ``unavailable``) or it is not on disk (``absent``) — not an error;
    * ``error``: the reference was refused (absolute path, ``..``, a symlink leading out of
      the folder, not a regular file) and names the problem.
    """

    field: MediaField
    path: Path | None = None
    missing: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ExportMessage:
    """One message (or service message) of the export.

    ``raw`` is the message object exactly as it stands in ``result.json``, byte for byte
    (Telegram's indentation, key order and escapes included): evidence, never re-serialised,
    with every key Jikimi does not interpret.
    """

    chat: ExportChat
    id: int
    type: str
    date_utc: datetime
    date_local: str
    sender: Actor | None
    sender_name: str | None
    text: str
    entities: tuple[TextEntity, ...]
    forwarded_from: str | None
    reply_to: int | None
    via_bot: str | None
    media: tuple[MediaRef, ...]
    raw: bytes


@dataclass(frozen=True)
class ExportProblem:
    """Something in the export that could not be read: ``where`` locates it (``chat 42,
    message 7``; ``chat 42, message #9 of result.json`` counting message objects from the start
    of the file when there is no usable id; ``result.json`` for the file as a whole),
    ``message`` says what was wrong."""

    where: str
    message: str


def read_export(folder: Path) -> Iterator[ExportMessage | ExportProblem]:
    """Yield every message of the export in ``folder`` (or of ``folder`` if it is the
    ``result.json`` itself), in file order, with problems in place. A truncated or malformed
    file yields everything before the damage, then one problem, then stops."""
    result = _find_result(Path(folder))
    root = result.parent.resolve()
    with result.open("rb") as stream:
        events = scan(
            stream, slices=_MESSAGES, scalars=_HEADERS, opened=_CONTAINERS | _CHATS.keys()
        )
        yield from _walk(events, root)


def links(message: ExportMessage) -> list[tuple[str, str]]:
    """The propagation edges of a message as ``(kind, target)``: ``("forwarded_from", name)``,
    ``("reply_to", "<chat id>:<message id>")``, ``("via_bot", "@bot")``."""
    edges: list[tuple[str, str]] = []
    if message.forwarded_from is not None:
        edges.append(("forwarded_from", message.forwarded_from))
    if message.reply_to is not None:
        chat = "" if message.chat.id is None else str(message.chat.id)
        edges.append(("reply_to", f"{chat}:{message.reply_to}"))
    if message.via_bot is not None:
        edges.append(("via_bot", message.via_bot))
    return edges


def _find_result(folder: Path) -> Path:
    if folder.is_file() and folder.name == RESULT_NAME:
        return folder
    result = folder / RESULT_NAME
    if result.is_file():
        return result
    if (folder / "messages.html").exists() or (folder / "export_results.html").exists():
        raise ExportError(
            f"{folder} is an HTML export; export again from Telegram Desktop with format "
            "'Machine-readable JSON' and point at the folder that holds result.json"
        )
    raise ExportError(
        f"no {RESULT_NAME} in {folder}: point at the folder Telegram Desktop exported "
        "(format 'Machine-readable JSON'), the one that holds result.json and its media folders"
    )


class _ChatState:
    """The header of the chat being read, filled in as its keys go by."""

    def __init__(self, left: bool) -> None:
        self.fields: dict[str, Any] = {}
        self.left = left
        self.reported_late_header = False
        self._chat: ExportChat | None = None

    def set(self, key: str, value: Any) -> None:
        self.fields[key] = value
        self._chat = None

    def has_id(self) -> bool:
        return "id" in self.fields

    def chat(self) -> ExportChat:
        if self._chat is None:
            self._chat = self._build()
        return self._chat

    def _build(self) -> ExportChat:
        chat_id = self.fields.get("id")
        name, kind = self.fields.get("name"), self.fields.get("type")
        return ExportChat(
            id=chat_id if _is_int(chat_id) else None,
            name=name if isinstance(name, str) else None,
            type=kind if isinstance(kind, str) else None,
            left=self.left,
        )


class _Cursor:
    """Where the scan is: the current chat, and whether any message list was seen."""

    def __init__(self) -> None:
        self.chat = _ChatState(left=False)
        self.seen_container = False

    def note(self, event: Event) -> None:
        if isinstance(event, Opened):
            if event.kind == "object" and event.path in _CHATS:
                self.chat = _ChatState(left=_CHATS[event.path])
            elif event.kind == "array" and event.path in _CONTAINERS:
                self.seen_container = True
        elif isinstance(event, Scalar):
            self.chat.set(event.path[-1], event.value)


def _walk(events: Iterator[Event], root: Path) -> Iterator[ExportMessage | ExportProblem]:
    cursor = _Cursor()
    count = 0  # message objects read, the bad ones included
    try:
        for event in events:
            if isinstance(event, Slice):
                obj = _parse(event)
                count += 1
                yield from _message(obj, event.data, cursor.chat, count, root)
            elif isinstance(event, Skipped):
                count += 1
                yield ExportProblem(
                    f"{_where_chat(cursor.chat.chat())}, message #{count} of {RESULT_NAME}",
                    f"message skipped: {event.size} bytes from byte {event.offset}, {event.reason}",
                )
            else:
                cursor.note(event)
    except JsonSliceError as exc:
        yield ExportProblem(
            RESULT_NAME,
            f"{RESULT_NAME} is truncated or malformed after {count} messages: {exc}",
        )
        return
    if count == 0 and not cursor.seen_container:
        yield ExportProblem(
            RESULT_NAME,
            f"{RESULT_NAME} holds no 'messages' and no 'chats.list': is it a Telegram Desktop "
            "JSON export?",
        )


def _parse(message: Slice) -> Any:
    try:
        return json.loads(message.data)
    except ValueError as exc:  # UnicodeDecodeError included
        raise JsonSliceError(f"a message is not valid JSON: {exc}", message.offset) from None


def _where_chat(chat: ExportChat) -> str:
    return f"chat {chat.id if chat.id is not None else '?'}"


def _message(
    obj: Any, raw: bytes, state: _ChatState, index: int, root: Path
) -> Iterator[ExportMessage | ExportProblem]:
    chat = state.chat()
    where_chat = _where_chat(chat)
    if not isinstance(obj, dict):
        yield ExportProblem(
            f"{where_chat}, message #{index} of {RESULT_NAME}", "message is not an object"
        )
        return
    if not state.reported_late_header and not state.has_id():
        # Only the id is required: a chat may lack a name (Saved Messages, deleted accounts).
        state.reported_late_header = True
        yield ExportProblem(
            where_chat,
            "chat id not seen before its messages; messages read before it carry chat id None",
        )
    message_id = obj.get("id")
    if not _is_int(message_id):
        yield ExportProblem(
            f"{where_chat}, message #{index} of {RESULT_NAME}", "message has no integer id"
        )
        return
    where = f"{where_chat}, message {message_id}"
    date_utc = _unix_date(obj.get("date_unixtime"))
    if date_utc is None:
        yield ExportProblem(where, f"bad or missing date_unixtime: {obj.get('date_unixtime')!r}")
        return
    is_service = obj.get("type") == "service"
    yield ExportMessage(
        chat=chat,
        id=message_id,
        type=_str(obj.get("type")) or "unknown",
        date_utc=date_utc,
        date_local=_str(obj.get("date")) or "",
        sender=_actor(obj.get("actor_id" if is_service else "from_id", obj.get("from_id"))),
        sender_name=_str(obj.get("actor" if is_service else "from", obj.get("from"))),
        text=_flatten(obj.get("text")),
        entities=_entities(obj.get("text_entities")),
        forwarded_from=_str(obj.get("forwarded_from")),
        reply_to=obj["reply_to_message_id"] if _is_int(obj.get("reply_to_message_id")) else None,
        via_bot=_str(obj.get("via_bot")),
        media=tuple(
            _media(field, obj[field], root)
            for field in MEDIA_FIELDS
            if isinstance(obj.get(field), str)
        ),
        raw=raw,
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _unix_date(value: object) -> datetime | None:
    # Telegram writes date_unixtime as a string of digits; accept a bare integer too.
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not _is_int(value):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)  # type: ignore[arg-type]
    except (OverflowError, OSError, ValueError):
        return None


def _actor(value: object) -> Actor | None:
    if value is None:
        return None
    raw = value if isinstance(value, str) else json.dumps(value)
    match = _ACTOR.fullmatch(raw)
    if match is None:
        return Actor("unknown", None, raw)
    kind: ActorKind = match.group(1)  # type: ignore[assignment]
    return Actor(kind, int(match.group(2)), raw)


def _flatten(text: object) -> str:
    """``text`` is a string, or a list mixing strings and ``{"type", "text", ...}`` parts."""
    if isinstance(text, str):
        return text
    if not isinstance(text, list):
        return ""
    parts = []
    for part in text:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            parts.append(part["text"])
    return "".join(parts)


def _entities(value: object) -> tuple[TextEntity, ...]:
    if not isinstance(value, list):
        return ()
    entities = []
    for item in value:
        if not isinstance(item, dict):
            continue
        attrs = tuple(
            sorted(
                (key, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                for key, v in item.items()
                if key not in ("type", "text")
            )
        )
        entities.append(
            TextEntity(_str(item.get("type")) or "unknown", _flatten(item.get("text")), attrs)
        )
    return tuple(entities)


def _media(field: MediaField, value: str, root: Path) -> MediaRef:
    """Resolve a media reference strictly inside ``root`` (already resolved)."""
    if value in PLACEHOLDERS:
        return MediaRef(field, missing=PLACEHOLDERS[value])
    if not value or "\x00" in value:
        return MediaRef(field, error=f"empty path or NUL in path: {value!r}")
    posix, windows = PurePosixPath(value), PureWindowsPath(value)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or windows.root:
        return MediaRef(field, error=f"absolute path refused: {value!r}")
    if ".." in posix.parts or ".." in windows.parts:
        return MediaRef(field, error=f"path climbs out of the export folder ('..'): {value!r}")
    candidate = root / posix
    try:
        resolved = candidate.resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # a symlink loop, an unreadable directory
        return MediaRef(field, error=f"cannot resolve {value!r}: {exc}")
    if not resolved.is_relative_to(root):
        return MediaRef(field, error=f"symlink leads outside the export folder: {value!r}")
    if not resolved.exists():
        return MediaRef(field, missing="absent")
    if not resolved.is_file():
        return MediaRef(field, error=f"not a regular file: {value!r}")
    return MediaRef(field, path=resolved)
