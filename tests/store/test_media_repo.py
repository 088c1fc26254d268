from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from jikimi.evidence.custody import CustodyLog
from jikimi.model import Match, MediaInfo, MediaSignals, Signal
from jikimi.store.media_repo import MediaStore

SHA = "ab" * 32
PDQ = "cd" * 32


def _media(sha: str | None = SHA, **kw: object) -> MediaSignals:
    return MediaSignals(
        file="/in/a.jpg",
        size=1234,
        sha256=sha,
        signals={"sha256": Signal("sha256", sha or ""), "pdq": Signal("pdq", PDQ, 90)}
        if sha
        else {},
        info=MediaInfo("image", "image/jpeg", 640, 480, orientation=6),
        pdq_quality=90,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def media(sessions: sessionmaker[Session]) -> MediaStore:
    return MediaStore(sessions)


def test_record_then_get(media: MediaStore, sessions: sessionmaker[Session]) -> None:
    assert not media.seen(SHA)
    match = Match("ncii", 7, "pdq", 3, transform="rotate90")
    media.record(_media(), source_path="/in/a.jpg", matches=[match], scan_id="s1", actor="bot")
    assert media.seen(SHA)
    got = media.get(SHA)
    assert got is not None
    assert (got["size"], got["media_type"], got["mime"], got["width"], got["height"]) == (
        1234,
        "image",
        "image/jpeg",
        640,
        480,
    )
    assert got["orientation"] == 6 and got["pdq_quality"] == 90
    assert got["signals"] == {"sha256": SHA, "pdq": PDQ}
    assert got["matches"] == [match.as_dict()]
    assert [s["path"] for s in got["sightings"]] == ["/in/a.jpg"]
    assert got["first_seen"].utcoffset() is not None
    assert got["kept_in_vault"] is False
    (event,) = CustodyLog(sessions).events(subject=f"media:{SHA}")
    assert event.kind == "media.seen"
    assert event.payload["matches"] == [match.as_dict()]
    assert event.actor == "bot"


def test_re_record_adds_a_sighting_not_a_second_media(media: MediaStore) -> None:
    match = Match("ncii", 7, "pdq", 3)
    media.record(_media(), source_path="/in/a.jpg", matches=[match], scan_id="s1", actor="bot")
    media.record(
        _media(),
        source_path="/other/copy.jpg",
        matches=[match, Match("other", 9, "sha256", 0)],
        scan_id="s2",
        actor="bot",
    )
    got = media.get(SHA)
    assert got is not None
    assert [(s["path"], s["scan_id"]) for s in got["sightings"]] == [
        ("/in/a.jpg", "s1"),
        ("/other/copy.jpg", "s2"),
    ]
    assert [(m["bank"], m["entry_id"]) for m in got["matches"]] == [("ncii", 7), ("other", 9)]
    assert got["last_seen"] >= got["first_seen"]


def test_given_custody_log_and_vault_flag_are_used(
    media: MediaStore, sessions: sessionmaker[Session]
) -> None:
    log = CustodyLog(sessions)
    kw = {"source_path": "/a", "matches": [], "scan_id": "s", "actor": "a"}
    media.record(_media(), custody=log, tool_version="scan/9", kept_in_vault=True, **kw)
    media.record(_media(), custody=log, tool_version="scan/9", kept_in_vault=False, **kw)
    got = media.get(SHA)
    assert got is not None and got["kept_in_vault"] is True
    events = log.events()
    assert [(e.tool_version, e.payload["kept_in_vault"]) for e in events] == [
        ("scan/9", True),
        ("scan/9", False),
    ]


def test_record_requires_a_sha256(media: MediaStore) -> None:
    with pytest.raises(ValueError, match="record_failure"):
        media.record(_media(None), source_path="/x", matches=[], scan_id="s", actor="a")


def test_failures_are_kept_by_path_and_scan(media: MediaStore) -> None:
    failed = MediaSignals(
        file="/in/big.mp4", size=10**10, error="too big", error_reason="too_large"
    )
    media.record_failure(failed, source_path="/in/big.mp4", scan_id="s1")
    media.record_failure(failed, source_path="/in/big.mp4", scan_id="s1")
    media.record_failure(failed, source_path="/in/big.mp4", scan_id="s2")
    (row,) = media.failures("s1")
    assert (row["path"], row["size"], row["error_reason"]) == ("/in/big.mp4", 10**10, "too_large")
    assert len(media.failures("s2")) == 1
    assert media.get("0" * 64) is None


def test_custody_chain_verifies_after_recording(
    media: MediaStore, sessions: sessionmaker[Session]
) -> None:
    for i in range(3):
        media.record(_media(f"{i:064x}"), source_path=f"/f{i}", matches=[], scan_id="s", actor="a")
    report = CustodyLog(sessions).verify()
    assert report.ok and report.checked == 3
