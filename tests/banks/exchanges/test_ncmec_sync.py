"""NCMEC hash sharing (a generative-AI environment) through threatexchange's exchange API,
against a fake NCMEC on loopback: entries with several fingerprints, deletions, an entry
shared by two members, malformed XML and a wrong password."""

from __future__ import annotations

import pytest
from tests.banks.exchanges.conftest import NCMEC_LOGIN, Photo
from tests.support.fake_ncmec import FakeNCMEC

from jikimi.banks.exchanges.credentials import Secret
from jikimi.banks.exchanges.kinds import ExchangeKind
from jikimi.banks.exchanges.store import ExchangeStore
from jikimi.errors import ExchangeCredentialsError, ExchangePageError
from jikimi.workspace import Workspace


def _add(
    exchanges: ExchangeStore,
    kinds: dict[str, ExchangeKind],
    fake: FakeNCMEC,
    login: dict[str, Secret] = NCMEC_LOGIN,
) -> None:
    config = {"url": fake.url, "environment": "NGO_Generative_AI"}
    exchanges.add("gen-ai", kinds["ncmec"], bank=None, config=config, credentials=login, actor="t")


def _active(ws: Workspace) -> list[tuple[str, str]]:
    return sorted((e.signal_type, e.value) for e in ws.banks.entries("gen-ai"))


def _seed(fake: FakeNCMEC, photos: list[Photo]) -> None:
    for i, p in enumerate(photos[:3]):
        fake.add(f"img{i}", pdq=p.pdq, md5=p.md5, pdna="0a" * 72)
    fake.add("vid0", kind="video", md5=photos[3].md5)


def test_full_sync_maps_fingerprints_and_marks_the_bank_minors(
    ws: Workspace, exchanges, kinds, syncer, ncmec: FakeNCMEC, photos
) -> None:
    _seed(ncmec, photos)
    _add(exchanges, kinds, ncmec)

    result = syncer.run("gen-ai")

    assert result.status == "ok"
    assert (result.progress.added, result.progress.skipped) == (7, 3)
    assert result.progress.notes == [
        "signal type 'image pdna' is not supported: 3 skipped (first: entry 7-img0)"
    ]
    expected = [("pdq", p.pdq) for p in photos[:3]] + [("md5", p.md5) for p in photos[:3]]
    assert _active(ws) == sorted([*expected, ("video_md5", photos[3].md5)])
    assert ws.banks.get("gen-ai").minors is True
    assert result.checkpoint is not None and result.checkpoint["paging_info"] is None


def test_a_deleted_entry_withdraws_all_its_fingerprints(
    ws: Workspace, exchanges, kinds, syncer, ncmec: FakeNCMEC, photos
) -> None:
    _seed(ncmec, photos)
    _add(exchanges, kinds, ncmec)
    syncer.run("gen-ai")
    assert ws.matcher().match_value("md5", photos[0].md5)

    ncmec.delete("img0")
    result = syncer.run("gen-ai")

    assert result.progress.withdrawn == 2
    matcher = ws.matcher()
    assert matcher.match_value("md5", photos[0].md5) == []
    assert matcher.match_value("pdq", photos[0].pdq) == []
    assert matcher.match_value("pdq", photos[1].pdq)


def test_an_entry_two_members_share_stays_until_both_delete_it(
    ws: Workspace, exchanges, kinds, syncer, ncmec: FakeNCMEC, photos
) -> None:
    ncmec.add("a", member_id=7, pdq=photos[0].pdq)
    ncmec.add("b", member_id=8, pdq=photos[0].pdq)
    _add(exchanges, kinds, ncmec)
    syncer.run("gen-ai")
    assert _active(ws) == [("pdq", photos[0].pdq)]

    ncmec.delete("a")
    assert syncer.run("gen-ai").progress.withdrawn == 0
    assert ws.matcher().match_value("pdq", photos[0].pdq)

    ncmec.delete("b")
    assert syncer.run("gen-ai").progress.withdrawn == 1
    assert ws.matcher().match_value("pdq", photos[0].pdq) == []


def test_malformed_xml_names_the_exchange_and_page(
    ws: Workspace, exchanges, kinds, syncer, ncmec: FakeNCMEC, photos
) -> None:
    _seed(ncmec, photos)
    _add(exchanges, kinds, ncmec)
    ncmec.fault(1, status=200, body=b"<queryResult><images maxTimestamp=")

    with pytest.raises(ExchangePageError, match=r"exchange 'gen-ai': page 1 is malformed"):
        syncer.run("gen-ai")
    assert _active(ws) == []

    assert syncer.run("gen-ai").status == "ok"  # the next run starts over cleanly
    assert len(_active(ws)) == 7


def test_wrong_password_is_a_clear_error_without_it(
    ws: Workspace, exchanges, kinds, syncer, ncmec: FakeNCMEC
) -> None:
    wrong = {"user": NCMEC_LOGIN["user"], "password": Secret("not-the-password")}
    _add(exchanges, kinds, ncmec, wrong)

    with pytest.raises(ExchangeCredentialsError) as caught:
        syncer.run("gen-ai")

    assert "HTTP 401" in str(caught.value) and "not-the-password" not in str(caught.value)
