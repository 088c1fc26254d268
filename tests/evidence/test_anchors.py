"""Custody anchors: the Merkle tree against known vectors and properties, anchors made with a
local TSA and verified offline on SQLite and PostgreSQL, tampering caught."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from tests.support.local_tsa import LocalTsa, refused_url

from jikimi.errors import CustodyError, TimestampError
from jikimi.evidence.anchors import (
    ANCHORED,
    Anchorer,
    anchors,
    inclusion_path,
    inclusion_proof,
    merkle_root,
    verify_anchors,
    verify_inclusion,
    verify_proof,
)
from jikimi.evidence.custody import CustodyLog, event_hash
from jikimi.evidence.timestamps import TimeStamper, TimestampToken, verify_token
from jikimi.settings import load_settings
from jikimi.signals.registry import Registry
from jikimi.store.db import write_session
from jikimi.store.leases import Leases
from jikimi.store.models import CustodyAnchor, CustodyEventRecord
from jikimi.web.service import ANCHOR_JOB, Service, ServiceOptions
from jikimi.workspace import Workspace


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _leaf(d: bytes) -> bytes:
    return _h(b"\x00" + d)


def _node(left: bytes, right: bytes) -> bytes:
    return _h(b"\x01" + left + right)


LEAVES = [bytes([i]) * 32 for i in range(1, 6)]
A, B, C, D, E = (_leaf(x) for x in LEAVES)


# -- the tree ----------------------------------------------------------------------------------


def test_roots_by_hand_for_1_2_3_5_leaves() -> None:
    assert merkle_root(LEAVES[:1]) == A
    assert merkle_root(LEAVES[:2]) == _node(A, B)
    assert merkle_root(LEAVES[:3]) == _node(_node(A, B), C)
    assert merkle_root(LEAVES) == _node(_node(_node(A, B), _node(C, D)), E)
    with pytest.raises(ValueError):
        merkle_root([])


def test_paths_by_hand() -> None:
    assert inclusion_path(LEAVES[:1], 0) == []
    assert inclusion_path(LEAVES[:2], 1) == [A]
    assert inclusion_path(LEAVES[:3], 0) == [B, C]
    assert inclusion_path(LEAVES[:3], 2) == [_node(A, B)]
    assert inclusion_path(LEAVES, 2) == [D, _node(A, B), E]
    assert inclusion_path(LEAVES, 4) == [_node(_node(A, B), _node(C, D))]
    with pytest.raises(IndexError):
        inclusion_path(LEAVES, 5)


# The RFC 6962 reference inputs and roots used by certificate-transparency and Trillian.
CT_LEAVES = [
    bytes.fromhex(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("size", range(1, 9))
def test_rfc_6962_reference_roots(size: int) -> None:
    assert merkle_root(CT_LEAVES[:size]).hex() == CT_ROOTS[size - 1]


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40, unique=True))
def test_every_leaf_proves_and_a_wrong_one_does_not(leaves: list[bytes]) -> None:
    root, size = merkle_root(leaves), len(leaves)
    for index, leaf in enumerate(leaves):
        path = inclusion_path(leaves, index)
        assert verify_inclusion(leaf, index, size, path, root)
        assert not verify_inclusion(_h(leaf), index, size, path, root)
        if size > 1:
            assert not verify_inclusion(leaf, (index + 1) % size, size, path, root)
            assert not verify_inclusion(leaf, index, size, path[:-1], root)


# -- anchors in the store -----------------------------------------------------------------------


def _append(log: CustodyLog, n: int) -> None:
    for i in range(n):
        log.append("test.event", f"item:{i}", {"i": i, "text": "명확"}, actor="a", tool_version="t")


@pytest.fixture
def log(sessions: sessionmaker[Session]) -> CustodyLog:
    custody = CustodyLog(sessions)
    _append(custody, 5)
    return custody


AnchorerFor = Callable[..., Anchorer]


@pytest.fixture
def anchorer_for(sessions: sessionmaker[Session], log: CustodyLog) -> AnchorerFor:
    def make(*urls: str) -> Anchorer:
        return Anchorer(
            sessions, log, TimeStamper(urls, timeout=5), actor="tester", tool_version="t"
        )

    return make


def test_anchor_verify_and_prove(
    sessions: sessionmaker[Session], log: CustodyLog, anchorer_for: AnchorerFor, local_tsa: LocalTsa
) -> None:
    made = anchorer_for(local_tsa.url).anchor()
    assert made is not None
    assert (made.first_seq, made.last_seq) == (1, 5)
    hashes = [e.hash for e in log.events()]
    assert made.merkle_root == merkle_root([bytes.fromhex(h) for h in hashes[:5]]).hex()
    assert [t.tsa for t in made.tokens] == [local_tsa.url] and made.failures == []
    root = bytes.fromhex(made.merkle_root)
    assert verify_token(made.tokens[0].token, root, roots=[local_tsa.root_pem]).ok

    recorded = log.events(after_seq=5)
    assert [(e.seq, e.kind) for e in recorded] == [(6, ANCHORED)]
    assert recorded[0].payload == {
        "first_seq": 1,
        "last_seq": 5,
        "merkle_root": made.merkle_root,
        "tsas": [local_tsa.url],
        "tsa_failures": [],
    }
    assert log.verify().ok
    report = verify_anchors(sessions, roots=[local_tsa.root_pem])
    assert report.ok, report.problems
    assert [(c.first_seq, c.last_seq) for c in report.checks] == [(1, 5)]
    assert report.checks[0].times == [(local_tsa.url, made.tokens[0].time)]

    for event in log.events()[:5]:
        proof = inclusion_proof(sessions, event.seq)
        assert proof is not None and proof.anchor_id == made.id
        assert verify_proof(proof, event.hash)
        assert not verify_proof(proof, hashes[(event.seq % 5)])  # another event's hash
    assert inclusion_proof(sessions, 6) is None
    assert anchors(sessions)[0].tokens == made.tokens


def test_next_anchor_covers_only_new_events(
    sessions: sessionmaker[Session], log: CustodyLog, anchorer_for: AnchorerFor, local_tsa: LocalTsa
) -> None:
    anchorer = anchorer_for(local_tsa.url)
    assert anchorer.anchor() is not None
    assert anchorer.anchor() is None  # only the anchor's own event is new
    assert local_tsa.requests == 1
    _append(log, 2)
    second = anchorer.anchor()
    assert second is not None and (second.first_seq, second.last_seq) == (6, 8)
    report = verify_anchors(sessions, roots=[local_tsa.root_pem])
    assert report.ok, report.problems
    assert len(report.checks) == 2
    proof = inclusion_proof(sessions, 6)
    assert proof is not None and proof.anchor_id == second.id


def test_an_empty_log_has_nothing_to_anchor(
    sessions: sessionmaker[Session], local_tsa: LocalTsa
) -> None:
    anchorer = Anchorer(
        sessions, CustodyLog(sessions), TimeStamper([local_tsa.url]), actor="t", tool_version="t"
    )
    assert anchorer.anchor() is None
    assert local_tsa.requests == 0
    assert verify_anchors(sessions, roots=[]).ok


def _tamper(sessions: sessionmaker[Session], *statements: str) -> None:
    with write_session(sessions) as s:
        for statement in statements:
            s.execute(text(statement))


def _rehash(sessions: sessionmaker[Session], seq: int) -> None:
    """Give an edited event a hash that matches its new contents, as a careful forger would."""
    with write_session(sessions) as s:
        row = s.get(CustodyEventRecord, seq)
        assert row is not None
        row.hash = event_hash(
            seq=row.seq,
            at=row.at,
            kind=row.kind,
            subject=row.subject,
            actor=row.actor,
            tool_version=row.tool_version,
            payload=row.payload,
            prev_hash=row.prev_hash,
        )


TAMPERING = {
    "edited": ["UPDATE custody_events SET subject = 'item:forged' WHERE seq = 3"],
    "deleted": ["DELETE FROM custody_events WHERE seq = 3"],
    "reordered": [
        "UPDATE custody_events SET seq = -1 WHERE seq = 2",
        "UPDATE custody_events SET seq = 2 WHERE seq = 3",
        "UPDATE custody_events SET seq = 3 WHERE seq = -1",
    ],
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_tampering_inside_an_anchored_range_is_caught(
    sessions: sessionmaker[Session],
    anchorer_for: AnchorerFor,
    local_tsa: LocalTsa,
    how: str,
) -> None:
    assert anchorer_for(local_tsa.url).anchor() is not None
    _tamper(sessions, *TAMPERING[how])
    report = verify_anchors(sessions, roots=[local_tsa.root_pem])
    assert not report.ok
    assert any(
        p.startswith("anchor 1 (seq 1..5)") and "Merkle root does not match" in p
        for p in report.problems
    ), report.problems
    if how == "deleted":
        assert any("events missing: seq 3" in p for p in report.problems)


def test_an_edit_with_a_recomputed_hash_is_still_caught(
    sessions: sessionmaker[Session], anchorer_for: AnchorerFor, local_tsa: LocalTsa
) -> None:
    assert anchorer_for(local_tsa.url).anchor() is not None
    _tamper(sessions, "UPDATE custody_events SET subject = 'item:forged' WHERE seq = 5")
    _rehash(sessions, 5)
    report = verify_anchors(sessions, roots=[local_tsa.root_pem])
    assert any("Merkle root does not match" in p for p in report.problems), report.problems


def test_a_removed_anchor_is_noticed(
    sessions: sessionmaker[Session], log: CustodyLog, anchorer_for: AnchorerFor, local_tsa: LocalTsa
) -> None:
    anchorer = anchorer_for(local_tsa.url)
    assert anchorer.anchor() is not None
    _append(log, 1)
    assert anchorer.anchor() is not None
    with write_session(sessions) as s:
        s.execute(delete(CustodyAnchor).where(CustodyAnchor.first_seq == 1))
    problems = verify_anchors(sessions, roots=[local_tsa.root_pem]).problems
    assert any("starts at seq 6" in p for p in problems), problems
    assert any(p.startswith("seq 6 records an anchor of seq 1..5") for p in problems), problems


def test_tokens_need_a_trusted_root(
    sessions: sessionmaker[Session],
    anchorer_for: AnchorerFor,
    local_tsa: LocalTsa,
    other_tsa: LocalTsa,
) -> None:
    assert anchorer_for(local_tsa.url).anchor() is not None
    untrusted = verify_anchors(sessions, roots=[other_tsa.root_pem])
    assert not untrusted.ok
    assert any(
        f"token of {local_tsa.url}: the token does not verify" in p for p in untrusted.problems
    )
    unconfigured = verify_anchors(sessions, roots=[])
    assert any("set tsa_certificates" in p for p in unconfigured.problems)


def test_an_edited_stored_root_is_caught(
    sessions: sessionmaker[Session], anchorer_for: AnchorerFor, local_tsa: LocalTsa
) -> None:
    assert anchorer_for(local_tsa.url).anchor() is not None
    with write_session(sessions) as s:
        s.execute(update(CustodyAnchor).values(merkle_root="00" * 32))
    problems = verify_anchors(sessions, roots=[local_tsa.root_pem]).problems
    assert any("Merkle root does not match" in p for p in problems)
    assert any("the token is for another digest" in p for p in problems)


def _counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(CustodyAnchor)) or 0,
            s.scalar(select(func.count()).select_from(CustodyEventRecord)) or 0,
        )


def test_no_token_means_nothing_stored(
    sessions: sessionmaker[Session], anchorer_for: AnchorerFor, local_tsa: LocalTsa
) -> None:
    local_tsa.mode = "garbage"
    with pytest.raises(TimestampError, match=local_tsa.url):
        anchorer_for(local_tsa.url).anchor()
    assert _counts(sessions) == (0, 5)


def test_one_tsa_down_is_recorded_in_the_anchor(
    sessions: sessionmaker[Session], log: CustodyLog, anchorer_for: AnchorerFor, local_tsa: LocalTsa
) -> None:
    down = refused_url()
    made = anchorer_for(down, local_tsa.url).anchor()
    assert made is not None
    assert [t.tsa for t in made.tokens] == [local_tsa.url]
    assert [f.tsa for f in made.failures] == [down]
    payload = log.events(after_seq=5)[0].payload
    assert payload["tsas"] == [local_tsa.url]
    assert payload["tsa_failures"][0]["tsa"] == down
    assert verify_anchors(sessions, roots=[local_tsa.root_pem]).ok


def test_anchors_name_tsas_without_credentials(
    sessions: sessionmaker[Session], log: CustodyLog, anchorer_for: AnchorerFor, local_tsa: LocalTsa
) -> None:
    down = refused_url()

    def secret(url: str) -> str:
        return url.replace("http://", "http://tsa-user:s3cret-pw@") + "?key=q-secret"

    made = anchorer_for(secret(down), secret(local_tsa.url)).anchor()
    assert made is not None
    payload = log.events(after_seq=5)[0].payload
    assert payload["tsas"] == [local_tsa.url]
    assert payload["tsa_failures"][0]["tsa"] == down
    with sessions() as s:
        stored = s.scalars(select(CustodyAnchor.tokens)).one()
    for text_ in (str(payload), str(stored), str(made.failures)):
        assert "s3cret-pw" not in text_ and "q-secret" not in text_ and "tsa-user" not in text_


def test_a_damaged_log_is_not_anchored(
    sessions: sessionmaker[Session], anchorer_for: AnchorerFor, local_tsa: LocalTsa
) -> None:
    _tamper(sessions, "UPDATE custody_events SET subject = 'item:forged' WHERE seq = 2")
    with pytest.raises(CustodyError, match="seq 2"):
        anchorer_for(local_tsa.url).anchor()
    assert local_tsa.requests == 0
    assert _counts(sessions) == (0, 5)


def _wait_for(condition: Callable[[], bool], limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def _service_anchor_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "jikimi-anchors"]


@pytest.mark.parametrize("configured", [True, False])
def test_the_service_anchors_periodically_when_tsas_are_configured(
    tmp_path: Path,
    database_url: str,
    local_tsa: LocalTsa,
    monkeypatch: pytest.MonkeyPatch,
    configured: bool,
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("JIKIMI_HOME", str(home))
    settings = load_settings(
        home=home,
        database_url=database_url,
        operator="tester",
        tsa_urls=[local_tsa.url] if configured else [],
        custody_anchor_minutes=0.001,
    )
    with Workspace.init(settings) as ws:
        _append(ws.custody, 3)
        service = Service(ws, ServiceOptions(run_dispatcher=False, registry=Registry()))
        service.start()
        try:
            if configured:
                _wait_for(lambda: bool(anchors(ws.sessions)))
                assert anchors(ws.sessions)[0].created_by == "tester"
            else:
                assert _service_anchor_threads() == []
        finally:
            service.stop()
        assert _service_anchor_threads() == []


def test_of_two_server_processes_one_anchors_and_the_other_takes_over(
    tmp_path: Path, database_url: str, local_tsa: LocalTsa, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("JIKIMI_HOME", str(home))
    settings = load_settings(
        home=home,
        database_url=database_url,
        operator="tester",
        tsa_urls=[local_tsa.url],
        custody_anchor_minutes=0.001,
    )
    with Workspace.init(settings) as ws, Workspace.open(settings) as other_ws:
        services = [
            Service(w, ServiceOptions(run_dispatcher=False, registry=Registry()))
            for w in (ws, other_ws)
        ]
        leases = Leases(ws.sessions)
        for service in services:
            service.start()
        try:
            _append(ws.custody, 3)
            _wait_for(lambda: bool(anchors(ws.sessions)))
            first = leases.holder(ANCHOR_JOB, now=datetime.now(UTC))
            [running] = [s for s in services if s.holder == first]
            [waiting] = [s for s in services if s is not running]
            time.sleep(0.3)  # several periods: the waiting one never anchors meanwhile
            assert {a.created_by for a in anchors(ws.sessions)} == {"tester"}
            assert len(anchors(ws.sessions)) == 1  # nothing new after the first anchor
            running.stop()
            _append(ws.custody, 2)
            _wait_for(lambda: len(anchors(ws.sessions)) == 2)
            assert leases.holder(ANCHOR_JOB, now=datetime.now(UTC)) == waiting.holder
            assert verify_anchors(ws.sessions, roots=[local_tsa.root_pem]).ok
        finally:
            for service in services:
                service.stop()


def test_an_anchor_made_meanwhile_is_not_doubled(
    sessions: sessionmaker[Session], anchorer_for: AnchorerFor, local_tsa: LocalTsa
) -> None:
    class StampThenRace(TimeStamper):
        def stamp(self, digest: bytes) -> list[TimestampToken]:
            tokens = super().stamp(digest)
            assert anchorer_for(local_tsa.url).anchor() is not None  # wins the race
            return tokens

    slow = Anchorer(
        sessions, CustodyLog(sessions), StampThenRace([local_tsa.url]), actor="t", tool_version="t"
    )
    with pytest.raises(CustodyError, match="another anchor was made meanwhile"):
        slow.anchor()
    assert _counts(sessions) == (1, 6)
    assert verify_anchors(sessions, roots=[local_tsa.root_pem]).ok
