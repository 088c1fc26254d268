"""Telegram Desktop exports generated for tests: benign text and synthetic benign photos only.

:func:`build_export` writes one export with every shape the ingest must handle: photos and
files on disk, a forward (with a typed ``forwarded_from_id``), replies, an inline bot, mixed
text arrays, the three "not saved" placeholders, a media folder that is missing, a path that
climbs out of the folder, an unknown message type with unknown keys, and a service message.
Each message is written as compact JSON (``sort_keys``, ``ensure_ascii=False``); the reader keeps
each message's own bytes as ``raw``, whatever their form, so a test can compare the stored
``raw`` with the file's bytes.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jikimi.demo.synthetic import photo_like

NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
TOO_LARGE = "(File exceeds maximum size. Change data exporting settings to download.)"
UNAVAILABLE = "(File unavailable, please try again later)"
T0 = 1_700_000_000
CHAT_ID = 4242
CHAT_TITLE = "Garden club"

Layout = Literal["chat", "account"]


def jpeg(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    out = io.BytesIO()
    photo_like(*size, seed=seed).save(out, format="JPEG", quality=90)
    return out.getvalue()


def message(message_id: int, **fields: Any) -> dict[str, Any]:
    """A message shaped as Telegram Desktop writes it."""
    out: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "date": "2023-11-15T07:13:20",
        "date_unixtime": str(T0 + message_id),
        "from": "Alice",
        "from_id": "user1001",
        "text": "",
        "text_entities": [],
    }
    out.update(fields)
    return out


@dataclass
class Export:
    """A generated export: its folder, the messages per chat id, photo bytes by path."""

    folder: Path
    chats: dict[int, list[dict[str, Any]]]
    photos: dict[str, bytes] = field(default_factory=dict)

    @property
    def result(self) -> Path:
        return self.folder / "result.json"

    def messages(self) -> list[dict[str, Any]]:
        return [m for chat in self.chats.values() for m in chat]

    def raw_slice(self, message_id: int) -> bytes:
        """The bytes of one message object as they stand in result.json."""
        data = self.result.read_bytes()
        (obj,) = [m for m in self.messages() if m["id"] == message_id]
        encoded = canonical(obj)
        assert data.count(encoded) == 1
        start = data.index(encoded)
        return data[start : start + len(encoded)]


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False).encode("utf-8")


def rich_messages(photo: str = "photos/photo_1@15-11-2023_07-13-21.jpg") -> list[dict[str, Any]]:
    return [
        message(1, text="Welcome to the garden club", text_entities=[
            {"type": "plain", "text": "Welcome to the garden club"}]),
        message(2, photo=photo, width=320, height=240, text="Our tomatoes"),
        message(3, text=["See ", {"type": "link", "text": "https://example.org/roses"}, " now"],
                reply_to_message_id=1),
        message(4, forwarded_from="Seed Exchange", forwarded_from_id="channel777",
                text="Forwarded news"),
        message(5, via_bot="@gardenbot", text="Inline result"),
        message(6, photo=NOT_INCLUDED, text="not saved"),
        message(7, file=TOO_LARGE, mime_type="video/mp4"),
        message(8, file=UNAVAILABLE),
        message(9, photo="../outside.jpg", text="escape attempt"),
        message(10, photo="stickers/sticker.webp", text="folder not exported"),
        message(11, type="poll_of_the_future", poll={"question": "Roses?"}, zz_new_key=[1, 2]),
        {"id": 12, "type": "service", "date": "2023-11-15T07:13:32",
         "date_unixtime": str(T0 + 12), "actor": "Bob", "actor_id": "user1002",
         "action": "invite_members", "members": ["Carol"], "text": "", "text_entities": []},
        message(13, file="files/notes.jpg", thumbnail=NOT_INCLUDED, text="a file"),
    ]  # fmt: skip


def build_export(
    folder: Path,
    *,
    layout: Layout = "chat",
    messages: list[dict[str, Any]] | None = None,
    photo_seed: int = 1,
) -> Export:
    """Write an export to ``folder``; ``layout`` "account" nests the chat (and a second, left
    chat) under ``chats.list`` / ``left_chats.list``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder.parent / "outside.jpg").write_bytes(jpeg(99))
    msgs = rich_messages() if messages is None else messages
    export = Export(folder, {CHAT_ID: msgs})
    for m in msgs:
        for key in ("photo", "file"):
            value = m.get(key)
            if isinstance(value, str) and value.startswith(("photos/", "files/")):
                data = jpeg(photo_seed + len(export.photos))
                path = folder / value
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                export.photos[value] = data
    header = {"name": CHAT_TITLE, "type": "private_group", "id": CHAT_ID}
    if layout == "chat":
        body = _chat_json(header, msgs)
    else:
        left = [message(100, text="Old news from a chat we left", from_id="user1003")]
        export.chats[5151] = left
        left_header = {"name": "Old chat", "type": "public_channel", "id": 5151}
        body = (
            b'{"about": "Here is the data you requested.",\n "chats": {"about": "chats",'
            b' "list": [' + _chat_json(header, msgs) + b']},\n "left_chats": {"about": "left",'
            b' "list": [' + _chat_json(left_header, left) + b"]}\n}"
        )
    export.result.write_bytes(body)
    return export


def _chat_json(header: dict[str, Any], msgs: list[dict[str, Any]]) -> bytes:
    head = json.dumps(header, ensure_ascii=False, indent=1)[:-2].encode("utf-8")
    return head + b',\n "messages": [\n  ' + b",\n  ".join(canonical(m) for m in msgs) + b"\n ]\n}"


def zip_folder(folder: Path, *, prefix: str = "ChatExport_2023-11-15/") -> bytes:
    """The export folder zipped as Telegram users do: one top folder holding it."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(folder).as_posix())
    return out.getvalue()
