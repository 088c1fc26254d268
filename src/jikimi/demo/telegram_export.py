"""A small Telegram Desktop export for the example run and the demo: benign synthetic pictures
and harmless text only, written the way Telegram Desktop writes ``result.json`` (one chat at
the root, pretty-printed with one-space indents, Unicode unescaped).

It shows what an investigator's export holds: a photo posted in a group, the same photo
forwarded from a channel and posted again through an inline bot, a reply, a mixed text array
with entities, a photo the export did not save (a placeholder), and a service message.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jikimi.demo.synthetic import photo_like

CHAT_ID = 1_700_123_456
CHAT_NAME = "동네 사진 모임 (demo)"
T0 = 1_724_630_400  # 2024-08-26 00:00 UTC
NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
#: The picture posted, forwarded and sent through a bot (relative to the export folder).
KNOWN_PHOTO = "photos/photo_1@26-08-2024_09-15-00.jpg"
OTHER_PHOTO = "photos/photo_2@26-08-2024_09-20-00.jpg"


def write_demo_export(folder: Path, *, known_seed: int = 1) -> Path:
    """Write the export into ``folder`` (created); returns the path of ``result.json``.
    ``known_seed`` is the synthetic picture reused across messages (bank it to see matches)."""
    photos = folder / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    photo_like(1280, 720, seed=known_seed).save(folder / KNOWN_PHOTO)
    photo_like(1280, 720, seed=known_seed + 100).save(folder / OTHER_PHOTO)
    messages = [
        _service(1, "create_group", actor="Organiser", actor_id="user100"),
        _message(2, "user101", "Member A", "Morning, everyone!"),
        _message(
            3,
            "user102",
            "Member B",
            ["Photo from the walk ", {"type": "hashtag", "text": "#garden"}],
            photo=KNOWN_PHOTO,
        ),
        _message(
            4,
            "user103",
            "Member C",
            "",
            photo=KNOWN_PHOTO,
            forwarded_from="Photo channel (demo)",
            forwarded_from_id="channel1700999000",
        ),
        _message(5, "user101", "Member A", "Lovely colours", reply_to_message_id=3),
        _message(
            6,
            "user104",
            "Member D",
            "made with a bot",
            photo=KNOWN_PHOTO,
            via_bot="@demo_picture_bot",
        ),
        _message(7, "user102", "Member B", "", photo=NOT_INCLUDED),
        _message(
            8,
            "user105",
            "Member E",
            "Another one",
            photo=OTHER_PHOTO,
        ),
    ]
    export = {"name": CHAT_NAME, "type": "private_supergroup", "id": CHAT_ID, "messages": messages}
    result = folder / "result.json"
    result.write_text(json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8")
    return result


def _message(
    message_id: int, author_id: str, author: str, text: str | list[Any], **extra: Any
) -> dict[str, Any]:
    when = T0 + 33_300 + message_id * 60
    out: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "date": _local(when),
        "date_unixtime": str(when),
        "from": author,
        "from_id": author_id,
    }
    out.update(extra)
    if "photo" in extra:
        out["width"], out["height"] = 1280, 720
    out["text"] = text
    out["text_entities"] = _entities(text)
    return out


def _service(message_id: int, action: str, *, actor: str, actor_id: str) -> dict[str, Any]:
    when = T0 + 33_300
    return {
        "id": message_id,
        "type": "service",
        "date": _local(when),
        "date_unixtime": str(when),
        "actor": actor,
        "actor_id": actor_id,
        "action": action,
        "title": CHAT_NAME,
        "members": [],
        "text": "",
        "text_entities": [],
    }


def _entities(text: str | list[Any]) -> list[dict[str, str]]:
    parts = [text] if isinstance(text, str) else text
    return [
        {"type": "plain", "text": p} if isinstance(p, str) else dict(p) for p in parts if p != ""
    ]


def _local(unix: int) -> str:
    """The export's local time string (the demo's exporter was on Korean time, UTC+9)."""
    local = datetime.fromtimestamp(unix, UTC) + timedelta(hours=9)
    return local.strftime("%Y-%m-%dT%H:%M:%S")
