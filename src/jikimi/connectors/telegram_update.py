"""Bot API updates read into Jikimi's words: the post, its media, the item to record, and
whether it is a ``/report`` command. Pure: JSON in, values out.

Follows https://core.telegram.org/bots/api#update and #message. An update carries one of
``message``, ``edited_message``, ``channel_post``, ``edited_channel_post``; a message has at
most one media (albums arrive as one message per media, sharing ``media_group_id``). Of a
``photo`` (the sizes Telegram made of one picture) only the largest is fetched.

Ids: ``external_id`` is ``telegram:<chat_id>:<message_id>``, and an edit is its own item,
``telegram:<chat_id>:<message_id>:edit:<edit_date>`` (an edit can replace the media, so it is
scanned again; the same edit delivered twice is still recorded once). Authors are typed like
the export connector's: ``user<id>``, or ``channel<id>`` / ``chat<id>`` when a channel or an
anonymous group admin posted (``sender_chat``).

``raw``: an update read from the Bot API (:func:`updates_of`, or the webhook's body) is a
:class:`RawUpdate` that keeps the bytes it arrived as; the item's ``raw`` is the message
object's own bytes within them (:mod:`jikimi.connectors.json_slices`), byte for byte, never
re-serialised. Only an update built in code, without bytes, is stored as ``json.dumps``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jikimi.connectors.json_slices import ANY, JsonSliceError, Skipped, Slice, scan
from jikimi.signals.extractor import TextInput
from jikimi.store.items_repo import ItemEdge, NewItem

__all__ = [
    "MEDIA_KINDS",
    "PLATFORM",
    "MediaRef",
    "Post",
    "RawUpdate",
    "author_of",
    "external_id",
    "is_report",
    "locators_of",
    "media_of",
    "message_link",
    "new_item",
    "post_of",
    "text_input",
    "updates_of",
]

PLATFORM = "telegram"
#: Message fields holding media the bot scans, in the order they are looked for.
MEDIA_KINDS = ("photo", "video", "animation", "document")
EDIT_KINDS = ("edited_message", "edited_channel_post")
_REPORT = re.compile(r"/report(?:@(?P<bot>[A-Za-z0-9_]{1,64}))?(?=\s|$)", re.ASCII)
_COLUMN = 200  # actor and label columns of item_links


class RawUpdate(dict[str, Any]):
    """An update as parsed, with ``raw``: the bytes it was received as."""

    __slots__ = ("raw",)

    def __init__(self, parsed: dict[str, Any], raw: bytes) -> None:
        super().__init__(parsed)
        self.raw = raw


def updates_of(result: list[Any], body: bytes) -> list[dict[str, Any]]:
    """The updates of a ``getUpdates`` answer: each object of ``result`` (parsed from
    ``body``) as a :class:`RawUpdate` with its own bytes in ``body``, or as it is when they
    cannot be told apart (an update too deep or too long to slice is still handled)."""
    try:
        found = [
            event.data if isinstance(event, Slice) else None
            for event in scan(body, slices={("result", ANY)})
            if isinstance(event, Slice | Skipped)
        ]
    except JsonSliceError:
        found = []
    if len(found) != len(result):
        found = [None] * len(result)
    return [
        RawUpdate(update, raw) if raw is not None else update
        for update, raw in zip(result, found, strict=True)
        if isinstance(update, dict)
    ]


@dataclass(frozen=True, slots=True)
class Post:
    """One message of an update; ``kind`` is the update field it came in, ``raw`` the
    message's JSON exactly as received, when the update kept its bytes."""

    update_id: int
    kind: str
    message: dict[str, Any]
    raw: str | None = None

    @property
    def edited(self) -> bool:
        return self.kind in EDIT_KINDS

    @property
    def chat(self) -> dict[str, Any]:
        chat = self.message.get("chat")
        return chat if isinstance(chat, dict) else {}


@dataclass(frozen=True, slots=True)
class MediaRef:
    """A file of a message: ``file_id`` to fetch it, ``file_unique_id`` (the same for every
    copy of the file, across chats and bots) to know it again; ``file_size`` when given."""

    kind: str
    file_id: str
    file_unique_id: str
    file_size: int | None = None
    filename: str | None = None


def post_of(update: dict[str, Any]) -> Post | None:
    """The message of an update, or None for anything else (or a malformed update)."""
    update_id = update.get("update_id")
    if not isinstance(update_id, int):
        return None
    for kind in ("message", "channel_post", *EDIT_KINDS):
        message = update.get(kind)
        if _is_message(message):
            return Post(update_id, kind, message, _raw_member(update, kind))
    return None


def _raw_member(update: dict[str, Any], kind: str) -> str | None:
    """The bytes of ``update[kind]`` as received, if the update kept them (the last, as
    ``json.loads`` keeps the last of a repeated key)."""
    if not isinstance(update, RawUpdate):
        return None
    try:
        members = [
            event.data for event in scan(update.raw, slices={(kind,)}) if isinstance(event, Slice)
        ]
        return members[-1].decode("utf-8") if members else None
    except (JsonSliceError, UnicodeDecodeError):
        return None


def _is_message(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("message_id"), int)
        and isinstance(value.get("chat"), dict)
        and "id" in value["chat"]
    )


def media_of(message: dict[str, Any]) -> MediaRef | None:
    """The media to scan: the largest size of a photo, or the video, animation or document."""
    for kind in MEDIA_KINDS:
        value = message.get(kind)
        if kind == "photo" and isinstance(value, list):
            sizes = [s for s in value if isinstance(s, dict) and _has_ids(s)]
            value = max(sizes, key=_photo_size, default=None)
        if isinstance(value, dict) and _has_ids(value):
            size = value.get("file_size")
            name = value.get("file_name")
            return MediaRef(
                kind=kind,
                file_id=value["file_id"],
                file_unique_id=value["file_unique_id"][:_COLUMN],
                file_size=size if isinstance(size, int) else None,
                filename=name if isinstance(name, str) else None,
            )
    return None


def _has_ids(value: dict[str, Any]) -> bool:
    return isinstance(value.get("file_id"), str) and isinstance(value.get("file_unique_id"), str)


def _photo_size(size: dict[str, Any]) -> tuple[int, int]:
    pixels = _int(size.get("width")) * _int(size.get("height"))
    return pixels, _int(size.get("file_size"))


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def external_id(post: Post) -> str:
    chat_id, message_id = post.chat["id"], post.message["message_id"]
    base = f"{PLATFORM}:{chat_id}:{message_id}"
    if post.edited:
        return f"{base}:edit:{_int(post.message.get('edit_date'))}"
    return base


def author_of(message: dict[str, Any]) -> str | None:
    """``user<id>``, or the chat that posted: ``channel<id>`` or ``chat<id>``."""
    sender_chat = message.get("sender_chat")
    if isinstance(sender_chat, dict) and "id" in sender_chat:
        prefix = "channel" if sender_chat.get("type") == "channel" else "chat"
        return f"{prefix}{sender_chat['id']}"
    sender = message.get("from")
    if isinstance(sender, dict) and "id" in sender:
        return f"user{sender['id']}"
    return None


def message_link(chat: dict[str, Any], message_id: int) -> str | None:
    """The message's t.me link: public ``https://t.me/<username>/<id>``, or for a supergroup
    or channel without one ``https://t.me/c/<internal id>/<id>`` (members only); basic groups
    and private chats have none."""
    username = chat.get("username")
    if isinstance(username, str) and username:
        return f"https://t.me/{username}/{message_id}"
    internal = _internal_id(chat.get("id"))
    return f"https://t.me/c/{internal}/{message_id}" if internal else None


def _internal_id(chat_id: Any) -> str | None:
    # The Bot API numbers supergroups and channels -100<internal id>; t.me/c/ links use the
    # internal id.
    text = str(chat_id)
    return text[4:] if text.startswith("-100") and text[4:].isdigit() else None


def locators_of(chat: dict[str, Any], message_id: int) -> list[str]:
    """Where a reported message is, as notice locators: the t.me/c/ link (which names the
    chat by the id items are recorded under) and the public link when the chat has one."""
    out = []
    internal = _internal_id(chat.get("id"))
    if internal:
        out.append(f"https://t.me/c/{internal}/{message_id}")
    public = message_link(chat, message_id)
    if public and public not in out:
        out.append(public)
    return out


def is_report(message: dict[str, Any], bot_username: str | None) -> bool:
    """Whether the message is ``/report`` (or ``/report@<this bot>``) at its start."""
    text = message.get("text")
    if not isinstance(text, str):
        return False
    found = _REPORT.match(text)
    if found is None:
        return False
    addressed = found.group("bot")
    return addressed is None or (
        bot_username is not None and addressed.lower() == bot_username.lower()
    )


def new_item(post: Post, *, submitted_by: str) -> NewItem:
    """The item to record for a post; its ``raw`` is the message JSON as received."""
    message, chat = post.message, post.chat
    media = media_of(message)
    posted = message.get("date")
    return NewItem(
        platform=PLATFORM,
        submitted_by=submitted_by,
        chat_id=str(chat["id"]),
        message_id=str(message["message_id"]),
        url=message_link(chat, message["message_id"]),
        author_id=author_of(message),
        posted_at=datetime.fromtimestamp(posted, UTC) if isinstance(posted, int) else None,
        text=_text(message),
        meta=_meta(post, media),
        external_id=external_id(post),
        raw=post.raw if post.raw is not None else json.dumps(message, ensure_ascii=False),
        links=_edges(message, chat),
    )


def text_input(post: Post) -> TextInput | None:
    """What the ``context`` signal reads: the caption or text, the chat's title and username,
    the inline bot it came through."""
    message, chat = post.message, post.chat
    via = message.get("via_bot")
    fields = {
        key: value
        for key, value in (
            ("caption" if "caption" in message else "text", _text(message)),
            ("chat_title", chat.get("title")),
            ("username", chat.get("username")),
            ("via_bot", via.get("username") if isinstance(via, dict) else None),
        )
        if isinstance(value, str) and value
    }
    return TextInput(fields) if fields else None


def _text(message: dict[str, Any]) -> str | None:
    for key in ("caption", "text"):
        if isinstance(message.get(key), str):
            return message[key]
    return None


def _meta(post: Post, media: MediaRef | None) -> dict[str, Any]:
    chat, message = post.chat, post.message
    meta = {
        "update": post.kind,
        "chat_type": chat.get("type"),
        "chat_title": chat.get("title"),
        "chat_username": chat.get("username"),
        "message_kind": media.kind if media else "text",
        "media_group_id": message.get("media_group_id"),
        "edit_date": message.get("edit_date"),
        "file_size": media.file_size if media else None,
    }
    return {k: v for k, v in meta.items() if v is not None}


def _edges(message: dict[str, Any], chat: dict[str, Any]) -> tuple[ItemEdge, ...]:
    """Forwarded from (a channel post, a chat, a user or a hidden name), the message replied
    to, the inline bot it was sent via."""
    edges: list[ItemEdge] = []
    forward = _forward_edge(message)
    if forward is not None:
        edges.append(forward)
    reply = message.get("reply_to_message")
    if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
        edges.append(
            ItemEdge("reply_to", chat_id=str(chat["id"]), message_id=str(reply["message_id"]))
        )
    via = message.get("via_bot")
    if isinstance(via, dict) and "id" in via:
        edges.append(ItemEdge("via_bot", actor=f"user{via['id']}", label=_label(via)))
    return tuple(edges)


def _forward_edge(message: dict[str, Any]) -> ItemEdge | None:
    origin = message.get("forward_origin")
    if isinstance(origin, dict):
        kind = origin.get("type")
        if kind == "channel" and isinstance(origin.get("chat"), dict):
            source = origin["chat"]
            return ItemEdge(
                "forwarded_from",
                chat_id=str(source.get("id")),
                message_id=_str(origin.get("message_id")),
                actor=f"channel{source.get('id')}",
                label=_label(source),
            )
        if kind == "chat" and isinstance(origin.get("sender_chat"), dict):
            source = origin["sender_chat"]
            return ItemEdge("forwarded_from", actor=f"chat{source.get('id')}", label=_label(source))
        if kind == "user" and isinstance(origin.get("sender_user"), dict):
            user = origin["sender_user"]
            return ItemEdge("forwarded_from", actor=f"user{user.get('id')}", label=_label(user))
        if kind == "hidden_user":
            return ItemEdge("forwarded_from", label=_str(origin.get("sender_user_name")))
    source = message.get("forward_from_chat")  # before Bot API 7.0
    if isinstance(source, dict):
        return ItemEdge(
            "forwarded_from",
            chat_id=str(source.get("id")),
            message_id=_str(message.get("forward_from_message_id")),
            label=_label(source),
        )
    return None


def _label(entity: dict[str, Any]) -> str | None:
    for key in ("username", "title", "first_name"):
        if isinstance(entity.get(key), str) and entity[key]:
            return entity[key][:_COLUMN]
    return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)[:_COLUMN]
