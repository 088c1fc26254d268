"""The drop-box connector: settled files become items, then move out of the inbox."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.web.helpers import jpeg

from jikimi.connectors.folder_watch import FolderWatch, SidecarError, WatchOptions, read_sidecar
from jikimi.store.models import Item, ItemMedia, OutboxRecord
from jikimi.web.service import Service


@pytest.fixture
def service(service: Service) -> Service:
    service.refresh_matcher(force=True)  # what `jikimi watch` does before the first look
    return service


def _watch(service: Service, inbox: Path, **options: object) -> FolderWatch:
    opts = WatchOptions(**{"settle_seconds": 0.0, **options})  # type: ignore[arg-type]
    return FolderWatch(service, inbox, opts, actor="dropbox")


def _bank_known(service: Service, image: bytes) -> None:
    service.ws.banks.create("known", auto_action=True, actor="tester")
    path = service.tmp / "bank.jpg"
    path.write_bytes(image)
    pdq = service.check_pipeline.cascade.run(path).media.signals["pdq"].value
    path.unlink()
    service.ws.banks.add("known", [("pdq", pdq)], actor="tester")
    service.refresh_matcher(force=True)


def _items(service: Service) -> list[Item]:
    with service.ws.sessions() as s:
        return list(s.scalars(select(Item).order_by(Item.id)))


def test_dropped_files_become_items_and_move_to_done(service: Service, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    (inbox / "room-a").mkdir(parents=True)
    known = jpeg(11)
    _bank_known(service, known)
    (inbox / "room-a" / "known.jpg").write_bytes(known)
    (inbox / "other.jpg").write_bytes(jpeg(12))
    (inbox / "room-a" / "known.jpg.jikimi.json").write_text(
        json.dumps(
            {
                "platform": "telegram",
                "chat_id": "-100123",
                "message_id": 42,
                "url": "https://t.me/somechannel/42",
                "posted_at": "2024-08-26T09:15:00Z",
                "text": "caption",
                "file_ids": ["AQADxyz"],
            }
        ),
        encoding="utf-8",
    )
    watch = _watch(service, inbox)

    taken = {t.file: t for t in watch.poll()}

    assert set(taken) == {"other.jpg", "room-a/known.jpg"}
    assert taken["room-a/known.jpg"].outcome == "remove"
    assert taken["other.jpg"].outcome != "remove"
    assert all(t.created and t.error is None for t in taken.values())
    by_platform = {i.platform: i for i in _items(service)}
    telegram = by_platform["telegram"]
    assert (telegram.chat_id, telegram.message_id, telegram.text) == ("-100123", "42", "caption")
    assert telegram.posted_at is not None and telegram.posted_at.year == 2024
    assert by_platform["folder"].meta["dropped_as"] == "other.jpg"
    with service.ws.sessions() as s:
        file_ids = s.scalars(select(ItemMedia.file_id).where(ItemMedia.item_id == telegram.id))
        assert list(file_ids) == ["AQADxyz"]
        assert s.scalar(select(func.count()).select_from(OutboxRecord)) >= 1  # the removal
    assert not list((inbox / "room-a").iterdir()) and not (inbox / "other.jpg").exists()
    assert (watch.done_dir / "room-a" / "known.jpg").read_bytes() == known
    assert (watch.done_dir / "room-a" / "known.jpg.jikimi.json").exists()
    assert watch.poll() == []  # nothing left to take


def test_a_file_still_being_written_waits_until_it_settles(
    service: Service, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    growing = inbox / "upload.jpg"
    growing.write_bytes(jpeg(13)[:1000])
    (inbox / "upload.jpg.part").write_bytes(b"partial")
    (inbox / ".hidden.jpg").write_bytes(jpeg(14))
    watch = _watch(service, inbox, settle_seconds=0.05)

    assert watch.poll() == []  # first look: not yet seen twice
    growing.write_bytes(jpeg(13))  # the copy finishes
    past = time.time() - 1
    os.utime(growing, (past, past))
    assert watch.poll() == []  # changed since the last look
    [taken] = watch.poll()

    assert taken.file == "upload.jpg" and taken.created
    assert (inbox / "upload.jpg.part").exists() and (inbox / ".hidden.jpg").exists()


def test_a_bad_sidecar_sends_the_file_to_failed_with_the_reason(
    service: Service, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.jpg").write_bytes(jpeg(15))
    (inbox / "a.jpg.jikimi.json").write_text('{"chat_id": [1], "colour": "red"}')
    (inbox / "b.jpg").write_bytes(jpeg(16))
    watch = _watch(service, inbox)

    taken = {t.file: t for t in watch.poll()}

    assert taken["b.jpg"].created  # the rest of the batch goes on
    error = taken["a.jpg"].error or ""
    assert "unknown field 'colour'" in error and "chat_id must be a string" in error
    assert (watch.failed_dir / "a.jpg").exists()
    assert (watch.failed_dir / "a.jpg.jikimi.json").exists()
    assert "move the file back" in (watch.failed_dir / "a.jpg.error.txt").read_text()
    assert [i.meta["dropped_as"] for i in _items(service)] == ["b.jpg"]


def test_a_corrupt_file_is_recorded_with_its_error(service: Service, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "broken.jpg").write_bytes(jpeg(17)[:300])

    [taken] = _watch(service, inbox, after="delete").poll()

    assert taken.created and taken.item_id is not None
    with service.ws.sessions() as s:
        link = s.scalars(select(ItemMedia).where(ItemMedia.item_id == taken.item_id)).one()
    assert link.error
    assert not (inbox / "broken.jpg").exists()


def test_a_run_killed_before_the_move_records_nothing_twice(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.jpg").write_bytes(jpeg(18))
    watch = _watch(service, inbox)

    def killed(path: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(watch, "_finish", killed)
    with pytest.raises(KeyboardInterrupt):
        watch.poll()
    monkeypatch.undo()
    [again] = _watch(service, inbox).poll()

    assert not again.created  # the same item, answered from its external_id
    assert len(_items(service)) == 1
    assert not (inbox / "a.jpg").exists()


def test_symlinks_are_not_followed(service: Service, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    secret = tmp_path / "elsewhere.jpg"
    secret.write_bytes(jpeg(19))
    (inbox / "link.jpg").symlink_to(secret)

    assert _watch(service, inbox).poll() == []
    assert secret.exists()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[1, 2]", "must hold a JSON object"),
        ("{not json", "not valid UTF-8 JSON"),
        ('{"posted_at": "yesterday"}', "posted_at must be an ISO 8601 time"),
        ('{"posted_at": "2024-08-26T09:15:00"}', "with a zone"),
        ('{"file_ids": "AQ"}', "file_ids must be a list"),
        (" " * 70_000 + "{}", "larger than 64 KiB"),
    ],
)
def test_sidecar_problems_say_what_to_fix(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "x.jpg.jikimi.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SidecarError, match=expected):
        read_sidecar(path)
