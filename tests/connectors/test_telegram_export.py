"""The Telegram Desktop export reader, on exports generated here (benign text and a plain
colour JPEG only)."""

from __future__ import annotations

import json
import time
import tracemalloc
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from jikimi.connectors import json_slices
from jikimi.connectors import telegram_export as te
from jikimi.connectors.telegram_export import (
    Actor,
    ExportChat,
    ExportMessage,
    ExportProblem,
    MediaRef,
    links,
    read_export,
)
from jikimi.errors import ExportError, JikimiError

NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
TOO_LARGE = "(File exceeds maximum size. Change data exporting settings to download.)"
UNAVAILABLE = "(File unavailable, please try again later)"
T0 = 1_700_000_000


def msg(message_id: int | None, **fields: Any) -> dict[str, Any]:
    """A message as Telegram Desktop writes it, ``id`` first; ``None`` leaves the id out."""
    out: dict[str, Any] = {} if message_id is None else {"id": message_id}
    out.setdefault("type", "message")
    out["date"] = "2023-11-14T22:13:20"
    out["date_unixtime"] = str(T0 + (message_id or 0))
    out["from"] = "Alice"
    out["from_id"] = "user1001"
    out["text"] = ""
    out["text_entities"] = []
    out.update(fields)
    return out


def write_export(folder: Path, root: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "result.json").write_text(
        json.dumps(root, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return folder


def one_chat(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": "Garden club", "type": "private_group", "id": 4242, "messages": messages}


def write_photo(folder: Path, relative: str) -> Path:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (40, 120, 200)).save(path, "JPEG")
    return path


def messages_of(results: list[Any]) -> list[ExportMessage]:
    return [r for r in results if isinstance(r, ExportMessage)]


def problems_of(results: list[Any]) -> list[ExportProblem]:
    return [r for r in results if isinstance(r, ExportProblem)]


@pytest.fixture
def rich_export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    write_photo(folder, "photos/photo_1@14-11-2023_22-13-20.jpg")
    outside = tmp_path / "outside.jpg"
    write_photo(tmp_path, "outside.jpg")
    (folder / "files").mkdir()
    (folder / "files" / "escape.jpg").symlink_to(outside)
    messages = [
        msg(
            1,
            text="hello garden",
            text_entities=[{"type": "plain", "text": "hello garden"}],
            photo="photos/photo_1@14-11-2023_22-13-20.jpg",
            width=8,
            height=8,
        ),
        msg(
            2,
            text=[
                "see ",
                {"type": "link", "text": "example.org"},
                " and ",
                {"type": "bold", "text": "this"},
            ],
            text_entities=[
                {"type": "plain", "text": "see "},
                {"type": "link", "text": "example.org"},
                {"type": "plain", "text": " and "},
                {"type": "text_link", "text": "this", "href": "https://example.org/x"},
            ],
            forwarded_from="Seed Library",
            reply_to_message_id=1,
            via_bot="@gif",
            score=1.5,
            some_future_key={"nested": [1, 2]},
        ),
        {
            "id": 3,
            "type": "service",
            "date": "2023-11-14T22:13:23",
            "date_unixtime": str(T0 + 3),
            "actor": "Bob",
            "actor_id": "channel77",
            "action": "pin_message",
            "message_id": 1,
            "text": "",
            "text_entities": [],
        },
        msg(4, file=NOT_INCLUDED, thumbnail=TOO_LARGE),
        msg(5, photo=UNAVAILABLE),
        msg(6, photo="/etc/hostname"),
        msg(7, file="../outside.jpg"),
        msg(8, file="files/escape.jpg"),
        msg(9, photo="photos/not_there.jpg"),
        msg(10, type="sticker_pack_event", from_id="peer99"),
        msg(None, text="no id here"),
        msg(11, date_unixtime="yesterday"),
        msg(12, text="after the bad ones 안녕", from_id=None, **{"from": None}),
    ]
    return write_export(folder, one_chat(messages))


def test_one_chat_layout_reads_every_message_in_order(rich_export: Path) -> None:
    results = list(read_export(rich_export))
    messages = messages_of(results)
    assert [m.id for m in messages] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12]
    chat = ExportChat(id=4242, name="Garden club", type="private_group", left=False)
    assert {m.chat for m in messages} == {chat}
    first = messages[0]
    assert first.type == "message"
    assert first.date_utc == datetime.fromtimestamp(T0 + 1, UTC)
    assert first.date_utc.tzinfo is UTC
    assert first.date_local == "2023-11-14T22:13:20"
    assert first.sender == Actor("user", 1001, "user1001")
    assert first.sender_name == "Alice"
    assert first.text == "hello garden"
    assert first.forwarded_from is None and first.reply_to is None and first.via_bot is None


def test_mixed_text_is_flattened_and_entities_kept(rich_export: Path) -> None:
    second = messages_of(list(read_export(rich_export)))[1]
    assert second.text == "see example.org and this"
    assert [(e.type, e.text) for e in second.entities] == [
        ("plain", "see "),
        ("link", "example.org"),
        ("plain", " and "),
        ("text_link", "this"),
    ]
    assert second.entities[3].attrs == (("href", "https://example.org/x"),)


def test_propagation_fields_and_links(rich_export: Path) -> None:
    second = messages_of(list(read_export(rich_export)))[1]
    assert second.forwarded_from == "Seed Library"
    assert second.reply_to == 1
    assert second.via_bot == "@gif"
    assert links(second) == [
        ("forwarded_from", "Seed Library"),
        ("reply_to", "4242:1"),
        ("via_bot", "@gif"),
    ]


def test_raw_is_the_message_as_written_with_unknown_keys(rich_export: Path) -> None:
    second = messages_of(list(read_export(rich_export)))[1]
    assert second.raw in (rich_export / "result.json").read_bytes()
    decoded = json.loads(second.raw)
    assert decoded["some_future_key"] == {"nested": [1, 2]}
    assert decoded["score"] == 1.5


def test_service_message_uses_actor(rich_export: Path) -> None:
    service = messages_of(list(read_export(rich_export)))[2]
    assert service.type == "service"
    assert service.sender == Actor("channel", 77, "channel77")
    assert service.sender_name == "Bob"
    assert json.loads(service.raw)["action"] == "pin_message"


def test_unknown_type_and_unknown_actor_are_kept(rich_export: Path) -> None:
    by_id = {m.id: m for m in messages_of(list(read_export(rich_export)))}
    assert by_id[10].type == "sticker_pack_event"
    assert by_id[10].sender == Actor("unknown", None, "peer99")
    assert by_id[12].sender is None and by_id[12].sender_name is None
    assert by_id[12].text == "after the bad ones 안녕"
    assert "안녕".encode() in by_id[12].raw


def test_media_present_placeholders_and_absent(rich_export: Path) -> None:
    by_id = {m.id: m for m in messages_of(list(read_export(rich_export)))}
    (photo,) = by_id[1].media
    assert photo.field == "photo" and photo.missing is None and photo.error is None
    assert photo.path == (rich_export / "photos/photo_1@14-11-2023_22-13-20.jpg").resolve()
    with Image.open(photo.path) as image:
        assert image.size == (8, 8)
    assert by_id[4].media == (
        MediaRef("file", missing="not_included"),
        MediaRef("thumbnail", missing="too_large"),
    )
    assert by_id[5].media == (MediaRef("photo", missing="unavailable"),)
    assert by_id[9].media == (MediaRef("photo", missing="absent"),)
    assert by_id[2].media == ()


def test_media_escaping_the_folder_is_refused_and_the_message_still_yields(
    rich_export: Path,
) -> None:
    by_id = {m.id: m for m in messages_of(list(read_export(rich_export)))}
    (absolute,) = by_id[6].media
    (climb,) = by_id[7].media
    (link,) = by_id[8].media
    for ref in (absolute, climb, link):
        assert ref.path is None and ref.missing is None and ref.error
    assert "absolute path" in absolute.error
    assert "'..'" in climb.error
    assert "symlink" in link.error


def test_symlinks_inside_the_folder_are_followed_and_directory_escapes_refused(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "export"
    target = write_photo(folder, "photos/real.jpg")
    (folder / "photos" / "alias.jpg").symlink_to(target)
    write_photo(tmp_path, "elsewhere/other.jpg")
    (folder / "video_files").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    write_export(
        folder, one_chat([msg(1, photo="photos/alias.jpg"), msg(2, file="video_files/other.jpg")])
    )
    first, second = messages_of(list(read_export(folder)))
    assert first.media == (MediaRef("photo", path=target.resolve()),)
    assert second.media[0].error and "symlink" in second.media[0].error


def test_records_are_frozen(rich_export: Path) -> None:
    first = messages_of(list(read_export(rich_export)))[0]
    with pytest.raises(AttributeError):
        first.text = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "photos/a\x00.jpg",
        "C:\\Users\\x\\photo.jpg",
        "\\\\server\\share\\a.jpg",
        "photos\\..\\..\\x.jpg",
    ],
)
def test_odd_and_windows_shaped_paths_are_refused(tmp_path: Path, value: str) -> None:
    ref = te._media("photo", value, tmp_path.resolve())
    assert ref.error and ref.path is None


def test_malformed_messages_are_problems_in_place(rich_export: Path) -> None:
    results = list(read_export(rich_export))
    problems = problems_of(results)
    assert [p.message for p in problems] == [
        "message has no integer id",
        "bad or missing date_unixtime: 'yesterday'",
    ]
    assert problems[0].where == "chat 4242, message #11 of result.json"
    assert problems[1].where == "chat 4242, message 11"
    # In place: the problem for the id-less message sits between messages 10 and 12.
    kinds = [r.id if isinstance(r, ExportMessage) else "problem" for r in results]
    assert kinds[-4:] == [10, "problem", "problem", 12]


def test_full_account_layout_with_left_chats(tmp_path: Path) -> None:
    # Saved Messages has no name: not a problem, only a missing chat id is.
    root = {
        "about": "Here is the data you requested.",
        "personal_information": {"user_id": 1001, "first_name": "Alice"},
        "chats": {
            "about": "This page lists all chats from this export.",
            "list": [
                {
                    "type": "saved_messages",
                    "id": 1001,
                    "messages": [msg(1), msg(2)],
                },
                {"name": None, "type": "personal_chat", "id": 2002, "messages": [msg(5)]},
                {"name": "Empty", "type": "personal_chat", "id": 2003, "messages": []},
                {
                    "name": "Bob",
                    "type": "personal_chat",
                    "id": 3003,
                    "messages": [msg(7, text="hi")],
                },
            ],
        },
        "left_chats": {
            "about": "This page lists all supergroups and channels from this export "
            "that you've left.",
            "list": [
                {"name": "Old club", "type": "public_supergroup", "id": 9009, "messages": [msg(3)]}
            ],
        },
    }
    results = list(read_export(write_export(tmp_path / "acct", root)))
    assert problems_of(results) == []
    got = [(m.chat, m.id) for m in messages_of(results)]
    assert got == [
        (ExportChat(1001, None, "saved_messages", False), 1),
        (ExportChat(1001, None, "saved_messages", False), 2),
        (ExportChat(2002, None, "personal_chat", False), 5),
        (ExportChat(3003, "Bob", "personal_chat", False), 7),
        (ExportChat(9009, "Old club", "public_supergroup", True), 3),
    ]


def test_chat_header_after_messages_is_reported_once(tmp_path: Path) -> None:
    root = {"chats": {"list": [{"messages": [msg(1), msg(2)], "name": "Late", "id": 5}]}}
    path = tmp_path / "late"
    path.mkdir()
    # json.dumps keeps insertion order, so messages come before the header here.
    (path / "result.json").write_text(json.dumps(root), encoding="utf-8")
    results = list(read_export(path))
    problems = problems_of(results)
    assert len(problems) == 1
    assert problems[0].where == "chat ?"
    assert problems[0].message.startswith("chat id not seen before its messages")
    assert [m.chat for m in messages_of(results)] == [ExportChat(None, None, None, False)] * 2


def test_truncated_file_yields_the_good_messages_then_one_problem(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "cut", one_chat([msg(i, text=f"m{i}") for i in range(1, 6)]))
    data = (folder / "result.json").read_bytes()
    cut = data.index(b'"m4"')
    (folder / "result.json").write_bytes(data[:cut])
    results = list(read_export(folder))
    assert [m.id for m in messages_of(results)] == [1, 2, 3]
    assert isinstance(results[-1], ExportProblem)
    assert results[-1].message.startswith("result.json is truncated or malformed after 3 messages:")
    assert len(problems_of(results)) == 1


def test_malformed_json_is_reported_not_raised(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "result.json").write_bytes(b'{"name": "x", "messages": [ {"id": 1,, } ]}')
    (problem,) = list(read_export(folder))
    assert "truncated or malformed after 0 messages" in problem.message


def test_not_an_export_is_reported(tmp_path: Path) -> None:
    folder = write_export(tmp_path / "other", {"hello": "world"})
    (problem,) = list(read_export(folder))
    assert "no 'messages'" in problem.message


def test_missing_result_json_raises_export_error(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"no result\.json in .*point at the folder"):
        list(read_export(tmp_path))
    (tmp_path / "messages.html").write_text("<html></html>", encoding="utf-8")
    with pytest.raises(ExportError, match="HTML export"):
        list(read_export(tmp_path))
    assert issubclass(ExportError, JikimiError)


def test_result_json_path_itself_is_accepted(rich_export: Path) -> None:
    assert len(messages_of(list(read_export(rich_export / "result.json")))) == 11


def test_public_api_matches_all() -> None:
    public = {name for name in vars(te) if not name.startswith("_")}
    exported = set(te.__all__)
    assert exported <= public
    assert {"read_export", "links", "ExportMessage", "ExportProblem", "MediaRef"} <= exported


def _write_big_export(path: Path, target_bytes: int) -> int:
    """Stream a one-chat export of about ``target_bytes`` without holding it in memory."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{"name": "Big", "type": "public_channel", "id": 1, "messages": [\n')
        written = 0
        while written < target_bytes:
            if count:
                out.write(",\n")
            line = json.dumps(
                msg(
                    count + 1,
                    text=["benign note ", {"type": "bold", "text": f"number {count}"}, " " * 40],
                    text_entities=[{"type": "plain", "text": "benign note "}],
                    reply_to_message_id=max(count, 1),
                    photo=NOT_INCLUDED,
                )
            )
            out.write(line)
            written += len(line) + 2
            count += 1
        out.write("\n]}\n")
    return count


@pytest.mark.parametrize("megabytes", [5, pytest.param(50, marks=pytest.mark.slow)])
def test_a_large_export_streams_in_little_memory(tmp_path: Path, megabytes: int) -> None:
    # Loaded whole, even the 5 MB export would take several times 20 MB as Python objects.
    folder = tmp_path / "big"
    folder.mkdir()
    expected = _write_big_export(folder / "result.json", megabytes * 1024 * 1024)
    assert (folder / "result.json").stat().st_size > megabytes * 1000 * 1000
    started = time.monotonic()
    tracemalloc.start()
    try:
        seen = 0
        for result in read_export(folder):
            assert isinstance(result, ExportMessage)
            seen += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == expected
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert time.monotonic() - started < 600


# -- raw is the file's own bytes -----------------------------------------------------------

# Text as Telegram Desktop writes it: Korean, emoji, quotes and backslashes, mixed text arrays.
TRICKY = [
    msg(
        1,
        text=["안녕 ", {"type": "bold", "text": "정원 🌱"}, ' say "hi" \\ C:\\x'],
        text_entities=[
            {"type": "plain", "text": "안녕 "},
            {"type": "bold", "text": "정원 🌱"},
            {"type": "mention_name", "text": "민", "user_id": 1002},
            {"type": "text_link", "text": '"q"', "href": "https://example.org/a\\b"},
        ],
    ),
    msg(2, text="end with a backslash \\", poll={"answers": [{"text": "예", "voters": 3}]}),
    msg(3, text="👍🏽 \u0000-free \t tab", reactions=[{"emoji": "❤", "count": 2.5}]),
]


def desktop_json(
    value: Any, found: list[bytes], path: tuple[str, ...] = (), depth: int = 0
) -> bytes:
    """``value`` encoded as ``json.dumps(value, indent=1, ensure_ascii=False)`` does, piece by
    piece, appending to ``found`` the bytes of every value at a ``messages[*]`` path."""
    pad = b" " * (depth + 1)
    if isinstance(value, dict) and value:
        members = [
            json.dumps(key, ensure_ascii=False).encode() + b": "
            + desktop_json(item, found, (*path, key), depth + 1)
            for key, item in value.items()
        ]  # fmt: skip
        out = b"{\n" + pad + (b",\n" + pad).join(members) + b"\n" + pad[1:] + b"}"
    elif isinstance(value, list) and value:
        items = [desktop_json(item, found, (*path, "*"), depth + 1) for item in value]
        out = b"[\n" + pad + (b",\n" + pad).join(items) + b"\n" + pad[1:] + b"]"
    else:
        out = json.dumps(value, ensure_ascii=False).encode()
    if path[-2:] == ("messages", "*"):
        found.append(out)
    return out


def account(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "about": "Here is the data you requested.",
        "chats": {"about": "chats", "list": [{**one_chat(messages[:2])}]},
        "left_chats": {"about": "left", "list": [{**one_chat(messages[2:]), "id": 77}]},
    }


@pytest.mark.parametrize("layout", [one_chat, account])
def test_raw_is_the_exact_slice_of_a_telegram_desktop_file(tmp_path: Path, layout: Any) -> None:
    root = layout(TRICKY)
    expected: list[bytes] = []
    data = desktop_json(root, expected)
    assert data == json.dumps(root, indent=1, ensure_ascii=False).encode()
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "result.json").write_bytes(data)
    results = list(read_export(folder))
    assert problems_of(results) == []
    raws = [m.raw for m in messages_of(results)]
    assert raws == expected and len(raws) == 3
    assert [json.loads(raw) for raw in raws] == TRICKY
    assert raws[0] != json.dumps(TRICKY[0], sort_keys=True, ensure_ascii=False).encode()
    assert messages_of(results)[0].text == '안녕 정원 🌱 say "hi" \\ C:\\x'


@pytest.mark.parametrize("chunk", [1, 2, 7])
def test_tiny_read_chunks_give_the_same_messages(
    tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_export(tmp_path / "export", account(TRICKY))
    expected = list(read_export(folder))
    monkeypatch.setattr(te, "scan", partial(json_slices.scan, chunk_bytes=chunk))
    assert list(read_export(folder)) == expected


@pytest.mark.parametrize(
    ("needle", "keep", "where"),
    [
        ("정", 2, "inside a string"),  # mid-character
        ("\\\\", 1, "inside a string"),  # between a backslash and the character it escapes
        ('"text_link",', 12, "inside a value"),  # between two keys
    ],
)
def test_a_file_cut_mid_string_or_mid_message_keeps_what_came_before(
    tmp_path: Path, needle: str, keep: int, where: str
) -> None:
    folder = write_export(tmp_path / "cut", one_chat([msg(9, text="first"), *TRICKY]))
    data = (folder / "result.json").read_bytes()
    cut = data.index(needle.encode(), data.index(b'"id": 1,')) + keep
    (folder / "result.json").write_bytes(data[:cut])
    results = list(read_export(folder))
    assert [m.id for m in messages_of(results)] == [9]
    (problem,) = problems_of(results)
    assert results[-1] is problem
    assert problem.message.startswith("result.json is truncated or malformed after 1 messages:")
    assert where in problem.message


def test_a_deeply_nested_message_is_a_problem_and_reading_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "deep"
    folder.mkdir()
    hostile = b'{"id": 2, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    body = b", ".join([json.dumps(msg(1)).encode(), hostile, json.dumps(msg(3)).encode()])
    (folder / "result.json").write_bytes(b'{"id": 5, "messages": [' + body + b"]}")
    results = list(read_export(folder))
    assert [m.id for m in messages_of(results)] == [1, 3]
    (problem,) = problems_of(results)
    assert problem.where == "chat 5, message #2 of result.json"
    assert f"nested deeper than {json_slices.MAX_DEPTH} levels" in problem.message


def test_a_message_over_the_size_bound_is_a_problem_and_reading_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(te, "scan", partial(json_slices.scan, max_slice_bytes=4096))
    folder = write_export(tmp_path / "big", one_chat([msg(1), msg(2, text="x" * 10_000), msg(3)]))
    results = list(read_export(folder))
    assert [m.id for m in messages_of(results)] == [1, 3]
    (problem,) = problems_of(results)
    assert problem.where == "chat 4242, message #2 of result.json"
    assert "longer than 4096 bytes" in problem.message
