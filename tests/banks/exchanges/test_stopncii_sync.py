"""The sync loop against a fake StopNCII: full sync, checkpoints, resume after a failure,
withdrawals, malformed pages, time boxes and auth, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select
from tests.banks.exchanges.conftest import STOPNCII_KEYS, Photo
from tests.support.fake_stopncii import FakeStopNCII

from jikimi.banks.exchanges.credentials import Secret
from jikimi.banks.exchanges.kinds import ExchangeKind
from jikimi.banks.exchanges.store import ExchangeStore, checkpoint_name
from jikimi.banks.exchanges.sync import ExchangeSync, SyncProgress
from jikimi.errors import (
    ExchangeBusy,
    ExchangeCredentialsError,
    ExchangePageError,
)
from jikimi.store.checkpoints import Checkpoints
from jikimi.store.models import BankEntry
from jikimi.workspace import Workspace


def _add(
    exchanges: ExchangeStore,
    kinds: dict[str, ExchangeKind],
    fake: FakeStopNCII,
    keys: dict[str, Secret] = STOPNCII_KEYS,
) -> None:
    exchanges.add(
        "sn", kinds["stopncii"], bank=None, config={"url": fake.url}, credentials=keys, actor="t"
    )


def _active(ws: Workspace, bank: str = "sn") -> list[tuple[str, str]]:
    return sorted((e.signal_type, e.value) for e in ws.banks.entries(bank))


def _seed(fake: FakeStopNCII, photos: list[Photo], n: int = 5) -> None:
    for p in photos[:n]:
        fake.add(p.pdq)


def test_full_sync_fills_the_bank_and_skips_unknown_types(
    ws: Workspace, exchanges, kinds, syncer: ExchangeSync, stopncii: FakeStopNCII, photos
) -> None:
    _seed(stopncii, photos, 4)
    stopncii.add(photos[4].md5, "VideoMD5")
    stopncii.add("https://example.invalid/x", "URL")
    _add(exchanges, kinds, stopncii)
    seen: list[int] = []

    result = syncer.run("sn", on_progress=lambda p: seen.append(p.pages))

    assert result.status == "ok"
    assert (result.progress.pages, result.progress.added, result.progress.skipped) == (3, 5, 1)
    assert seen == [1, 2, 3]
    assert result.progress.notes == [
        "signal type 'URL' is not supported: 1 skipped (first: hash https://example.)"
    ]
    expected = sorted([("pdq", p.pdq) for p in photos[:4]] + [("video_md5", photos[4].md5)])
    assert _active(ws) == expected
    bank = ws.banks.get("sn")
    assert (bank.source, bank.kind, bank.auto_action, bank.minors) == (
        "exchange:sn",
        "known-abuse",
        False,
        False,
    )
    assert {e.source for e in ws.banks.entries("sn")} == {"exchange:sn"}
    saved = Checkpoints(ws.sessions).load(checkpoint_name("sn"))
    assert (
        saved is not None
        and saved["state"]["update_time"]
        == stopncii.records["https://example.invalid/x"]["lastModtimestamp"]
    )
    info = exchanges.get("sn")
    assert info.last_sync_status == "ok" and info.last_sync_counts["added"] == 5


def test_next_sync_fetches_from_the_checkpoint(
    ws: Workspace, exchanges, kinds, syncer, stopncii: FakeStopNCII, photos
) -> None:
    _seed(stopncii, photos, 2)
    _add(exchanges, kinds, stopncii)
    syncer.run("sn")
    last = stopncii.records[photos[1].pdq]["lastModtimestamp"]
    stopncii.add(photos[2].pdq)

    result = syncer.run("sn")

    assert stopncii.requests[-1]["startTimestamp"] == str(last)
    assert result.progress.added == 1
    assert len(_active(ws)) == 3


def test_failure_midway_keeps_earlier_pages_and_resumes_without_duplicates(
    ws: Workspace, exchanges, kinds, syncer, stopncii: FakeStopNCII, photos
) -> None:
    _seed(stopncii, photos, 5)  # pages of two, two, one
    _add(exchanges, kinds, stopncii)
    stopncii.fault(2, status=400, body=b'{"message": "invalid nextPageToken"}')

    with pytest.raises(ExchangePageError) as caught:
        syncer.run("sn")

    assert caught.value.page == 2
    assert "exchange 'sn'" in str(caught.value) and "page 2" in str(caught.value)
    assert _active(ws) == sorted(("pdq", p.pdq) for p in photos[:2])
    saved = Checkpoints(ws.sessions).load(checkpoint_name("sn"))
    page_one_end = stopncii.records[photos[1].pdq]["lastModtimestamp"]
    assert saved is not None and saved["state"]["update_time"] == page_one_end
    info = exchanges.get("sn")
    assert info.last_sync_status == "error" and "page 2" in (info.last_sync_error or "")

    before = len(stopncii.requests)
    result = syncer.run("sn")

    assert result.status == "ok"
    assert stopncii.requests[before]["startTimestamp"] == str(page_one_end)
    assert _active(ws) == sorted(("pdq", p.pdq) for p in photos[:5])
    with ws.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(BankEntry))
    assert rows == 5  # the record fetched twice was added once


def test_withdrawn_and_deleted_hashes_stop_matching_at_the_next_lookup(
    ws: Workspace, exchanges, kinds, syncer, stopncii: FakeStopNCII, photos
) -> None:
    _seed(stopncii, photos, 3)
    _add(exchanges, kinds, stopncii)
    syncer.run("sn")
    assert ws.matcher().match_value("pdq", photos[0].pdq)
    assert ws.matcher().match_value("pdq", photos[1].pdq)

    stopncii.set_status(photos[0].pdq, "Withdrawn")
    stopncii.set_status(photos[1].pdq, "Deleted")
    result = syncer.run("sn")

    assert result.progress.withdrawn == 2
    matcher = ws.matcher()
    assert matcher.match_value("pdq", photos[0].pdq) == []
    assert matcher.match_value("pdq", photos[1].pdq) == []
    assert [m.bank for m in matcher.match_value("pdq", photos[2].pdq)] == ["sn"]
    tombs = [e for e in ws.banks.entries("sn", include_withdrawn=True) if e.withdrawn_at]
    assert {t.value for t in tombs} == {photos[0].pdq, photos[1].pdq}
    assert {t.withdraw_reason for t in tombs} == {"withdrawn upstream (exchange sn)"}
    events = [e for e in ws.custody.events() if e.kind == "bank.entry_withdrawn"]
    assert sorted(e.payload["entry_id"] for e in events) == sorted(t.entry_id for t in tombs)
    assert {e.payload["exchange"] for e in events} == {"sn"}

    stopncii.set_status(photos[0].pdq, "Active")  # submitted again
    syncer.run("sn")
    assert [m.bank for m in ws.matcher().match_value("pdq", photos[0].pdq)] == ["sn"]


def test_malformed_page_is_a_clear_error_and_earlier_pages_stay(
    ws: Workspace, exchanges, kinds, syncer, stopncii: FakeStopNCII, photos
) -> None:
    _seed(stopncii, photos, 4)
    _add(exchanges, kinds, stopncii)
    stopncii.fault(2, status=200, body=b'{"count": 2, "hashRecords": [')

    with pytest.raises(ExchangePageError, match=r"exchange 'sn': page 2 is malformed"):
        syncer.run("sn")

    assert _active(ws) == sorted(("pdq", p.pdq) for p in photos[:2])


def test_time_box_stops_between_pages_and_the_next_run_resumes(
    ws: Workspace, exchanges, kinds, stopncii: FakeStopNCII, photos
) -> None:
    _seed(stopncii, photos, 5)
    _add(exchanges, kinds, stopncii)
    ticks = itertools.count(step=10)
    timed = ExchangeSync(
        ws.sessions, exchanges, kinds, actor="t", environ={}, clock=lambda: next(ticks)
    )

    first = timed.run("sn", max_seconds=25)  # start 0, checks at 10, 20: two pages; 30 stops

    assert (first.status, first.progress.pages) == ("timed_out", 2)
    assert len(_active(ws)) == 4
    assert exchanges.get("sn").last_sync_status == "timed_out"
    second = timed.run("sn", max_seconds=100)
    assert second.status == "ok"
    assert len(_active(ws)) == 5


@pytest.mark.parametrize(
    ("keys", "status"),
    [
        ({"subscription_key": "wrong-subscription", "fetch_function_key": None}, 401),
        ({"subscription_key": None, "fetch_function_key": "wrong-function-key"}, 403),
    ],
)
def test_wrong_keys_are_a_clear_error_without_the_keys(
    ws: Workspace, exchanges, kinds, syncer, stopncii: FakeStopNCII, photos, keys, status
) -> None:
    _seed(stopncii, photos, 1)
    given = {k: Secret(v) if v else STOPNCII_KEYS[k] for k, v in keys.items()}
    _add(exchanges, kinds, stopncii, given)

    with pytest.raises(ExchangeCredentialsError) as caught:
        syncer.run("sn")

    message = str(caught.value)
    assert f"HTTP {status}" in message and "exchange 'sn'" in message
    for secret in given.values():
        assert secret.reveal() not in message
    assert _active(ws) == []


def test_a_second_sync_moving_the_checkpoint_is_refused(
    ws: Workspace, exchanges, kinds, syncer, stopncii: FakeStopNCII, photos
) -> None:
    _seed(stopncii, photos, 4)
    _add(exchanges, kinds, stopncii)

    def other_sync_moves_it(progress: SyncProgress) -> None:
        Checkpoints(ws.sessions).save(checkpoint_name("sn"), {"state": {"moved": True}})

    with pytest.raises(ExchangeBusy, match="another sync"):
        syncer.run("sn", on_progress=other_sync_moves_it)
    assert len(_active(ws)) == 2  # page 2 was not applied
