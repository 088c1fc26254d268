"""Telegram exports become items through the service, on SQLite and PostgreSQL: the item
fields, raw JSON, the propagation graph, media (hashed, missing, refused), resume without
duplicates, a truncated file, a known-abuse match. Benign generated data only."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.connectors.export_factory import CHAT_ID, CHAT_TITLE, T0, build_export, message

from jikimi.connectors.export_ingest import (
    ExportSummary,
    MessageResult,
    checkpoint_name,
    ingest_export,
)
from jikimi.store.checkpoints import Checkpoints
from jikimi.store.models import Item, ItemLink, ItemMedia
from jikimi.web.service import Service

ACTOR = "tester"


@pytest.fixture(autouse=True)
def _indexes_loaded(service: Service) -> None:
    service.refresh_matcher(force=True)  # what the service's start does in a thread


def _run(service: Service, folder: Path) -> tuple[ExportSummary, list[MessageResult]]:
    summary = ExportSummary(str(folder))
    results = list(ingest_export(service, folder, actor=ACTOR, summary=summary))
    return summary, results


def _by_id(results: list[MessageResult]) -> dict[int, MessageResult]:
    return {r.message_id: r for r in results if r.message_id is not None}


def _count(service: Service, model: type) -> int:
    with service.ws.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_every_message_becomes_an_item_with_its_fields(service: Service, tmp_path: Path) -> None:
    export = build_export(tmp_path / "export")
    summary, results = _run(service, export.folder)

    assert summary.messages == 13 and summary.recorded == 13 and summary.already_recorded == 0
    assert summary.media == 2  # the photo and the file on disk
    assert summary.missing_media == 5  # 3 placeholders, an unexported folder, a thumbnail
    assert summary.failed == 1 and summary.problems == 1  # the path climbing out
    assert summary.exit_code == 3
    by_id = _by_id(results)
    assert all(r.item_id is not None and r.created for r in by_id.values())

    item = service.items.get(by_id[2].item_id)
    assert item is not None
    assert (item["platform"], item["chat_id"], item["message_id"]) == ("telegram", "4242", "2")
    assert item["author_id"] == "user1001"
    assert item["posted_at"].timestamp() == T0 + 2
    assert item["text"] == "Our tomatoes"
    assert item["external_id"] == f"telegram-export:{CHAT_ID}:2"
    assert item["meta"]["chat_title"] == CHAT_TITLE
    assert item["meta"]["date_local"] == "2023-11-15T07:13:20"
    assert item["meta"]["sender_name"] == "Alice"
    (photo,) = item["media"]
    assert photo["sha256"] == hashlib.sha256(export.photos[photo["filename"]]).hexdigest()
    assert photo["filename"] == "photos/photo_1@15-11-2023_07-13-21.jpg"

    mixed = service.items.get(by_id[3].item_id)
    assert mixed is not None and mixed["text"] == "See https://example.org/roses now"
    service_msg = service.items.get(by_id[12].item_id)
    assert service_msg is not None
    assert (
        service_msg["author_id"] == "user1002" and service_msg["meta"]["message_type"] == "service"
    )


def test_missing_and_refused_media_are_recorded_with_their_reason(
    service: Service, tmp_path: Path
) -> None:
    export = build_export(tmp_path / "export")
    _, results = _run(service, export.folder)
    by_id = _by_id(results)

    def media_errors(message_id: int) -> list[str]:
        item = service.items.get(by_id[message_id].item_id)
        assert item is not None
        return [m["error"] for m in item["media"]]

    assert media_errors(6) == ["photo not in the export: Telegram Desktop's export settings "
                               "left this file out"]  # fmt: skip
    assert "over the export's size limit" in media_errors(7)[0]
    assert "could not deliver" in media_errors(8)[0]
    assert "not in the folder" in media_errors(10)[0]
    assert not by_id[6].problems and not by_id[10].problems  # missing is not a failure
    (refused,) = media_errors(9)
    assert refused.startswith("photo refused: path climbs out")
    assert by_id[9].problems == [refused]
    assert by_id[9].item_id is not None  # the message is kept all the same
    item6 = service.items.get(by_id[6].item_id)
    assert item6 is not None
    assert item6["meta"]["missing_media"] == [{"field": "photo", "reason": "not_included"}]
    file_and_thumb = service.items.get(by_id[13].item_id)
    assert file_and_thumb is not None
    assert [m["sha256"] is not None for m in file_and_thumb["media"]] == [True, False]


def test_raw_is_the_message_json_byte_for_byte(service: Service, tmp_path: Path) -> None:
    export = build_export(tmp_path / "export")
    _, results = _run(service, export.folder)
    for r in results:
        assert r.message_id is not None and r.item_id is not None
        item = service.items.get(r.item_id)
        assert item is not None
        assert item["raw"].encode("utf-8") == export.raw_slice(r.message_id)
    unknown = service.items.get(_by_id(results)[11].item_id)
    assert unknown is not None
    assert json.loads(unknown["raw"])["zz_new_key"] == [1, 2]
    assert unknown["meta"]["message_type"] == "poll_of_the_future"


def test_the_propagation_graph_is_stored(service: Service, tmp_path: Path) -> None:
    export = build_export(tmp_path / "export")
    _, results = _run(service, export.folder)
    by_id = _by_id(results)

    def links(message_id: int) -> list[dict[str, str]]:
        item = service.items.get(by_id[message_id].item_id)
        assert item is not None
        return item["links"]

    assert links(3) == [{"kind": "reply_to", "chat_id": "4242", "message_id": "1"}]
    assert links(4) == [{"kind": "forwarded_from", "actor": "channel777", "label": "Seed Exchange"}]
    assert links(5) == [{"kind": "via_bot", "actor": "@gardenbot", "label": "@gardenbot"}]
    assert links(1) == []
    assert _count(service, ItemLink) == 3


def test_account_layout_with_a_left_chat(service: Service, tmp_path: Path) -> None:
    export = build_export(tmp_path / "export", layout="account")
    summary, results = _run(service, export.folder)
    assert summary.messages == 14 and summary.recorded == 14
    left = _by_id(results)[100]
    item = service.items.get(left.item_id)
    assert item is not None
    assert item["chat_id"] == "5151" and item["meta"]["chat_left"] is True
    assert item["meta"]["chat_title"] == "Old chat"


def test_a_rerun_records_nothing_twice_and_reads_no_media(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = build_export(tmp_path / "export")
    first, results = _run(service, export.folder)
    items, media = _count(service, Item), _count(service, ItemMedia)

    def no_hashing(*args: object, **kwargs: object) -> None:
        raise AssertionError("an already recorded message was analysed again")

    monkeypatch.setattr(service.item_pipeline, "analyze", no_hashing)
    again, rerun = _run(service, export.folder)
    assert (_count(service, Item), _count(service, ItemMedia)) == (items, media)
    assert again.recorded == 0 and again.already_recorded == 13
    assert [r.item_id for r in rerun] == [r.item_id for r in results]
    assert _by_id(rerun)[2].as_dict()["skipped"] == "already recorded"
    assert _by_id(rerun)[2].verdict == _by_id(results)[2].verdict
    assert again.failed == first.failed  # the refused path is still reported


def test_a_message_recorded_by_a_concurrent_run_is_not_recorded_twice(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = build_export(tmp_path / "export")
    _, results = _run(service, export.folder)
    # Another run recorded each message between our look-up and our write.
    monkeypatch.setattr(service.items, "find_external", lambda *args: None)
    again, rerun = _run(service, export.folder)
    assert _count(service, Item) == 13
    assert again.recorded == 0 and again.already_recorded == 13
    assert [r.item_id for r in rerun] == [r.item_id for r in results]
    assert _by_id(rerun)[6].media == _by_id(results)[6].media


def test_a_killed_run_resumes_without_duplicates(service: Service, tmp_path: Path) -> None:
    export = build_export(tmp_path / "export")
    summary = ExportSummary(str(export.folder))
    run = ingest_export(service, export.folder, actor=ACTOR, summary=summary)
    done = [next(run) for _ in range(5)]
    run.close()  # the generator stops as a killed process would, after message 5
    assert _count(service, Item) == 5
    progress = Checkpoints(service.ws.sessions).load(checkpoint_name(export.folder))
    assert progress is not None and progress["messages_done"] == 5

    resumed, results = _run(service, export.folder)
    assert resumed.already_recorded == 5 and resumed.recorded == 8
    assert _count(service, Item) == 13
    assert [r.item_id for r in results[:5]] == [r.item_id for r in done]
    progress = Checkpoints(service.ws.sessions).load(checkpoint_name(export.folder))
    assert progress is not None and progress["messages_done"] == 13


def test_a_truncated_export_keeps_what_came_before(service: Service, tmp_path: Path) -> None:
    export = build_export(tmp_path / "export")
    data = export.result.read_bytes()
    cut = data.index(b'"id": 6')  # inside message 6
    export.result.write_bytes(data[:cut])
    summary, results = _run(service, export.folder)
    assert summary.recorded == 5 and summary.failed == 1 and summary.exit_code == 3
    last = results[-1]
    assert last.where == "result.json" and last.item_id is None
    assert "truncated or malformed after 5 messages" in last.problems[0]
    assert "run the same command" in last.problems[0]


def test_a_known_abuse_photo_in_an_export_matches(service: Service, tmp_path: Path) -> None:
    export = build_export(tmp_path / "export")
    known = hashlib.sha256(export.photos["photos/photo_1@15-11-2023_07-13-21.jpg"]).hexdigest()
    service.ws.banks.create("known", actor=ACTOR, auto_action=True)
    service.ws.banks.add("known", [("sha256", known)], actor=ACTOR)
    service.refresh_matcher(force=True)

    summary, results = _run(service, export.folder)
    hit = _by_id(results)[2]
    assert hit.known_abuse and hit.verdict == "remove"
    assert {m.signal_type for m in hit.matches} == {"sha256"}
    assert summary.matched == 1 and summary.exit_code == 5  # the refused path too
    item = service.items.get(hit.item_id)
    assert item is not None and item["case_id"] is not None

    again, rerun = _run(service, export.folder)
    assert again.matched == 1, "a re-run matches stored hashes against the banks again"
    assert _by_id(rerun)[2].verdict == "remove"


def test_context_reads_the_caption_and_chat_title(service: Service, tmp_path: Path) -> None:
    texts: list[dict[str, str]] = []
    real = service.item_pipeline.analyze

    def spy(uploads, *, text=None, signals=()):  # type: ignore[no-untyped-def]
        texts.append(dict(text.fields) if text else {})
        return real(uploads, text=text, signals=signals)

    service.item_pipeline.analyze = spy  # type: ignore[method-assign]
    msgs = [
        message(1, text="hello"),
        message(2, photo="photos/a.jpg", text="a caption", via_bot="@gardenbot"),
    ]
    export = build_export(tmp_path / "export", messages=msgs)
    _run(service, export.folder)
    assert texts == [
        {"text": "hello", "chat_title": CHAT_TITLE},
        {"caption": "a caption", "chat_title": CHAT_TITLE, "via_bot": "@gardenbot"},
    ]
