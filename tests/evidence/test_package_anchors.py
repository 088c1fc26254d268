"""Evidence packages carry custody-anchor inclusion proofs (data/anchors.json) and verify checks
them: an anchored case proves its events, later events are listed as not yet anchored, and an
edited root, path node, token or event is caught, as is a malformed file, never a traceback."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.evidence.package_case import build_case, rebag
from tests.support.local_tsa import LocalTsa

from jikimi.evidence import package_anchors
from jikimi.evidence.anchors import Anchorer, inclusion_proof, inclusion_proofs
from jikimi.evidence.custody import event_hash
from jikimi.evidence.package import export_case
from jikimi.evidence.package_verify import verify_package
from jikimi.evidence.timestamps import TimeStamper
from jikimi.web.service import Service

sqlite = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def settings_overrides(local_tsa: LocalTsa) -> dict[str, object]:
    return {"keep_media": True, "tsa_urls": [local_tsa.url], "tsa_timeout_seconds": 5}


def _anchor(service: Service, local_tsa: LocalTsa) -> Any:
    ws = service.ws
    stamper = TimeStamper([local_tsa.url], timeout=5)
    made = Anchorer(ws.sessions, ws.custody, stamper, actor="tester", tool_version="t").anchor()
    assert made is not None
    return made


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name.split("/", 1)[1]: zf.read(name) for name in zf.namelist()}


@pytest.fixture
def anchored(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    tmp_path: Path,
    local_tsa: LocalTsa,
) -> tuple[Path, Any, int]:
    """A case whose events are anchored, then one more event on the case, exported: the
    package, the anchor, and the seq of the event after it."""
    built = build_case(client, service, tokens)
    made = _anchor(service, local_tsa)
    later = service.ws.custody.append(
        "test.note", f"case:{built.case_id}", {"after": "the anchor"}, actor="t", tool_version="t"
    )
    summary = export_case(service, built.case_id, tmp_path / "case.zip", actor="investigator")
    return summary.path, made, later.seq


def test_an_anchored_case_proves_its_events(
    anchored: tuple[Path, Any, int], local_tsa: LocalTsa
) -> None:
    package, made, later = anchored
    files = _members(package)
    doc = json.loads(files["data/anchors.json"])
    seqs = [json.loads(line)["seq"] for line in files["data/custody.jsonl"].splitlines()]
    [anchor] = doc["anchors"]
    assert (anchor["id"], anchor["first_seq"], anchor["last_seq"]) == (
        made.id,
        made.first_seq,
        made.last_seq,
    )
    assert anchor["tree_size"] == made.last_seq - made.first_seq + 1
    assert anchor["merkle_root"] == made.merkle_root
    assert [base64.b64decode(t["token"]) for t in anchor["tokens"]] == [
        t.token for t in made.tokens
    ]
    proved = [p["seq"] for p in doc["proofs"]]
    assert proved == [s for s in seqs if s != later] and len(proved) >= 5
    assert doc["not_yet_anchored"] == [later]

    # The manifest, and so its time-stamp, covers anchors.json.
    manifest = json.loads(files["data/manifest.jsonld"])
    assert (
        manifest["jikimi:files"]["data/anchors.json"]
        == hashlib.sha256(files["data/anchors.json"]).hexdigest()
    )
    report = files["data/report.html"].decode()
    assert f"{len(proved)} are proved included in time-stamped custody anchors" in report
    assert "1 are not yet anchored" in report

    check = verify_package(package, roots=[local_tsa.root_pem])
    assert check.ok, check.problems
    stamped = made.tokens[0].time.isoformat()
    assert (
        f"custody anchor {made.id} (events {made.first_seq}..{made.last_seq}, stamped "
        f"{stamped}): {len(proved)} events proved included"
    ) in check.holds
    assert f"custody anchors: 1 events not yet anchored (seq {later}); a later export can " in (
        "\n".join(check.holds)
    )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_proofs_for_many_seqs_are_the_single_proofs(service: Service, local_tsa: LocalTsa) -> None:
    """The fast path (each anchor's tree built once) against :func:`inclusion_proof`, over
    anchors of 1 to 9 new events, on both stores."""
    ws = service.ws
    for size in range(1, 10):
        for i in range(size):
            ws.custody.append("test.event", f"item:{i}", {"i": i}, actor="a", tool_version="t")
        made = _anchor(service, local_tsa)
    # Not anchored: the last anchor's own event, one after it, and a seq beyond the log.
    last = ws.custody.append("test.event", "item:x", {}, actor="a", tool_version="t").seq
    wanted = [*range(1, last + 1), last + 100]
    found = inclusion_proofs(ws.sessions, wanted)
    fast = {p.seq: p for _, proofs in found for p in proofs}
    assert len(found) == 9
    assert sorted(fast) == list(range(1, made.last_seq + 1)) and made.last_seq == last - 2
    for seq in fast:
        assert fast[seq] == inclusion_proof(ws.sessions, seq), seq
    assert inclusion_proofs(ws.sessions, []) == []
    [covering] = [a.id for a, _ in found if a.first_seq <= 3 <= a.last_seq]
    assert [a.id for a, _ in inclusion_proofs(ws.sessions, [3])] == [covering]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_an_unanchored_case_lists_every_event(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    tmp_path: Path,
    local_tsa: LocalTsa,
) -> None:
    built = build_case(client, service, tokens)
    summary = export_case(service, built.case_id, tmp_path / "case.zip", actor="investigator")
    files = _members(summary.path)
    doc = json.loads(files["data/anchors.json"])
    seqs = [json.loads(line)["seq"] for line in files["data/custody.jsonl"].splitlines()]
    assert (doc["anchors"], doc["proofs"], doc["not_yet_anchored"]) == ([], [], seqs)
    check = verify_package(summary.path, roots=[local_tsa.root_pem])
    assert check.ok, check.problems
    assert any(
        h.startswith(f"custody anchors: {len(seqs)} events not yet anchored") for h in check.holds
    )


# -- tampering --------------------------------------------------------------------------------


def _edit_anchors(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def edit(bag_dir: Path) -> None:
        path = bag_dir / "data" / "anchors.json"
        doc = json.loads(path.read_bytes())
        change(doc)
        path.write_text(json.dumps(doc))

    return edit


def _flip(hex_value: str) -> str:
    return ("0" if hex_value[0] != "0" else "1") + hex_value[1:]


def _edit_event(seq: int) -> Callable[[Path], None]:
    """The event ``seq`` in custody.jsonl edited and given the hash of its new contents."""

    def edit(bag_dir: Path) -> None:
        path = bag_dir / "data" / "custody.jsonl"
        lines = []
        for line in path.read_bytes().splitlines():
            event = json.loads(line)
            if event["seq"] == seq:
                event["actor"] = "someone-else"
                event["hash"] = event_hash(
                    **{k: event[k] for k in event if k not in {"hash", "at"}},
                    at=datetime.fromisoformat(event["at"]),
                )
            lines.append(json.dumps(event, sort_keys=True).encode())
        path.write_bytes(b"\n".join(lines) + b"\n")

    return edit


def _tampering(bag_dir: Path, how: str) -> int:
    """Tamper with the unpacked package; the seq the problem should name."""
    doc = json.loads((bag_dir / "data" / "anchors.json").read_bytes())
    seqs = {
        json.loads(line)["seq"]
        for line in (bag_dir / "data" / "custody.jsonl").read_bytes().splitlines()
    }
    # An event whose successor is not in the package: no prev_hash there shows its edit.
    seq = next(p["seq"] for p in doc["proofs"] if p["seq"] + 1 not in seqs)

    def change(d: dict[str, Any]) -> None:
        anchor, proof = d["anchors"][0], next(p for p in d["proofs"] if p["seq"] == seq)
        if how == "root":
            anchor["merkle_root"] = _flip(anchor["merkle_root"])
        elif how == "path node":
            proof["path"][0] = _flip(proof["path"][0])
        else:
            token = (bag_dir / "tokens" / "1.tsr").read_bytes()  # over the manifest
            anchor["tokens"][0]["token"] = base64.b64encode(token).decode()

    if how == "event":
        _edit_event(seq)(bag_dir)
    else:
        _edit_anchors(change)(bag_dir)
    return seq


@sqlite
@pytest.mark.parametrize("how", ["root", "path node", "token", "event"])
def test_tampering_is_caught(
    anchored: tuple[Path, Any, int], tmp_path: Path, local_tsa: LocalTsa, how: str
) -> None:
    package, made, _ = anchored
    named: list[int] = []
    edited = rebag(package, tmp_path / "edited.zip", lambda d: named.append(_tampering(d, how)))
    check = verify_package(edited, roots=[local_tsa.root_pem])
    assert not check.ok
    anchor = f"custody anchor {made.id} (events {made.first_seq}..{made.last_seq})"
    mine = [p for p in check.problems if p.startswith(anchor)]
    if how == "token":
        assert mine == [f"{anchor}: token 1 of {local_tsa.url}: the token is for another digest"]
    else:
        assert f"{anchor}: event seq {named[0]} is not under the anchor's root: the event in " in (
            "\n".join(mine)
        ), check.problems
    if how == "root":  # the tokens are over the real root
        assert any("the token is for another digest" in p for p in mine), mine
    if how == "event":  # the forger recomputed the event's hash: the chain check alone passes
        assert any(h.startswith("custody: ") for h in check.holds), check.problems
    assert not [h for h in check.holds if h.startswith(anchor)]


@sqlite
def test_anchor_tokens_need_the_tsa_root(
    anchored: tuple[Path, Any, int], local_tsa: LocalTsa, other_tsa: LocalTsa
) -> None:
    package, made, _ = anchored
    for roots in ([other_tsa.root_pem], []):
        problems = verify_package(package, roots=roots).problems
        assert any(
            p.startswith(f"custody anchor {made.id} ") and f"token 1 of {local_tsa.url}" in p
            for p in problems
        ), problems


# -- malformed anchors.json ---------------------------------------------------------------------

HEX = "ab" * 32


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": package_anchors.FORMAT,
        "tree": "",
        "note": "",
        "anchors": [
            {
                "id": 1,
                "first_seq": 1,
                "last_seq": 2,
                "tree_size": 2,
                "merkle_root": HEX,
                "tokens": [{"tsa": "t", "time": "", "token": "AAAA"}],
            }
        ],
        "proofs": [{"seq": 1, "anchor_id": 1, "path": [HEX]}],
        "not_yet_anchored": [3],
    }
    doc.update(changes)
    return doc


def _anchor_with(**changes: Any) -> list[dict[str, Any]]:
    return [{**_doc()["anchors"][0], **changes}]


def _proof_with(**changes: Any) -> list[dict[str, Any]]:
    return [{**_doc()["proofs"][0], **changes}]


MALFORMED: dict[str, tuple[bytes, str]] = {
    "not json": (b"{", "Expecting"),
    "a list": (b"[]", "not an object with the keys"),
    "an unknown key": (json.dumps({**_doc(), "x": 1}).encode(), "not an object with the keys"),
    "another format": (json.dumps(_doc(format="v9")).encode(), "format is not"),
    "deep nesting": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "non-hex root": (
        json.dumps(_doc(anchors=_anchor_with(merkle_root="zz" * 32))).encode(),
        "merkle_root is not a SHA-256 hex value",
    ),
    "uppercase root": (
        json.dumps(_doc(anchors=_anchor_with(merkle_root=HEX.upper()))).encode(),
        "merkle_root is not a SHA-256 hex value",
    ),
    "tree size": (
        json.dumps(_doc(anchors=_anchor_with(tree_size=5))).encode(),
        "do not agree",
    ),
    "seq a bool": (
        json.dumps(_doc(anchors=_anchor_with(first_seq=True))).encode(),
        "a seq is not an integer",
    ),
    "a huge seq": (
        json.dumps(_doc(anchors=_anchor_with(last_seq=2**70, tree_size=2**70))).encode(),
        "a seq is not an integer",
    ),
    "no token": (json.dumps(_doc(anchors=_anchor_with(tokens=[]))).encode(), "no time-stamp"),
    "token not base64": (
        json.dumps(
            _doc(anchors=_anchor_with(tokens=[{"tsa": "t", "time": "", "token": "!!"}]))
        ).encode(),
        "not base64",
    ),
    "too many tokens": (
        json.dumps(
            _doc(anchors=_anchor_with(tokens=[{"tsa": "t", "time": "", "token": ""}] * 17))
        ).encode(),
        "over the limit of 16",
    ),
    "a path of 65 nodes": (
        json.dumps(_doc(proofs=_proof_with(path=[HEX] * 65))).encode(),
        "over the limit of 64",
    ),
    "a non-hex node": (
        json.dumps(_doc(proofs=_proof_with(path=["g" * 64]))).encode(),
        "path is not a list of SHA-256 hex values",
    ),
    "an unknown anchor": (
        json.dumps(_doc(proofs=_proof_with(anchor_id=7))).encode(),
        "is not an anchor of the file",
    ),
    "outside its anchor": (
        json.dumps(_doc(proofs=_proof_with(seq=3))).encode(),
        "seq 3 is outside anchor 1",
    ),
    "proved twice": (
        json.dumps(_doc(proofs=_proof_with() * 2)).encode(),
        "seq 1 is proved twice",
    ),
    "an anchor twice": (
        json.dumps(_doc(anchors=_anchor_with() * 2)).encode(),
        "id 1 is listed twice",
    ),
    "overlapping anchors": (
        json.dumps(
            _doc(anchors=_anchor_with() + _anchor_with(id=2, first_seq=2, tree_size=1))
        ).encode(),
        "anchors 1 and 2 overlap",
    ),
    "pending not a list": (
        json.dumps(_doc(not_yet_anchored="3")).encode(),
        "not_yet_anchored is not a list",
    ),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_file_is_a_problem(case: str) -> None:
    raw, expected = MALFORMED[case]
    checked = package_anchors.verify(raw, {1: HEX, 3: HEX}, [])
    assert checked.holds == []
    [problem] = checked.problems
    assert problem.startswith("custody anchors: data/anchors.json is not what Jikimi writes (")
    assert expected in problem


def test_too_many_entries_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(package_anchors, "MAX_PROOFS", 1)
    raw = json.dumps(_doc(proofs=_proof_with() + _proof_with(seq=2))).encode()
    [problem] = package_anchors.verify(raw, {1: HEX}, []).problems
    assert "proofs: 2 entries, over the limit of 1" in problem


def test_an_event_before_the_last_anchor_cannot_be_unanchored() -> None:
    """Anchors leave no gaps: listing events 1..2 as not yet anchored while keeping the anchor
    of 3..4 means anchor 1 (and the proofs of its events) was left out."""
    later = _anchor_with(first_seq=3, last_seq=4)
    raw = json.dumps(_doc(anchors=later, proofs=[], not_yet_anchored=[1, 2, 5])).encode()
    problems = package_anchors.verify(raw, {1: HEX, 2: HEX, 5: HEX}, []).problems
    gaps = [p for p in problems if "its anchor was left out" in p]
    assert [p.split(",")[0] for p in gaps] == [
        "custody anchors: event seq 1 is listed as not yet anchored",
        "custody anchors: event seq 2 is listed as not yet anchored",
    ]


def test_the_events_and_the_file_must_agree() -> None:
    """Each event of custody.jsonl is proved or listed; a listed one is in the package and in
    no anchor; a proof names an event of the package."""
    raw = json.dumps(_doc(not_yet_anchored=[2, 4])).encode()
    problems = package_anchors.verify(raw, {2: HEX, 3: HEX}, []).problems
    assert "custody anchors: event seq 3 is neither proved nor listed as not yet anchored" in (
        problems
    )
    assert (
        "custody anchors: event seq 4 is listed as not yet anchored but is not in "
        "data/custody.jsonl"
    ) in problems
    assert (
        "custody anchors: event seq 2 is listed as not yet anchored but custody anchor 1 covers it"
    ) in problems
    assert any(
        p.startswith("custody anchor 1 (events 1..2): proves event seq 1, which is not in")
        for p in problems
    ), problems


@sqlite
@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda d: (d / "data" / "anchors.json").write_bytes(b"\x00\xff"), id="bytes"),
        pytest.param(
            _edit_anchors(lambda doc: doc["proofs"][0].update(seq="1")), id="seq a string"
        ),
    ],
)
def test_a_malformed_file_in_a_package_is_a_problem(
    anchored: tuple[Path, Any, int],
    tmp_path: Path,
    local_tsa: LocalTsa,
    edit: Callable[[Path], None],
) -> None:
    package, _, _ = anchored
    check = verify_package(
        rebag(package, tmp_path / "edited.zip", edit), roots=[local_tsa.root_pem]
    )
    anchors = [p for p in check.problems if p.startswith("custody anchors")]
    assert len(anchors) == 1, check.problems
    assert "could not be checked" not in anchors[0]


@sqlite
def test_removed_proofs_show_in_the_manifest_check(
    anchored: tuple[Path, Any, int], tmp_path: Path, local_tsa: LocalTsa
) -> None:
    package, _, _ = anchored
    edited = rebag(
        package, tmp_path / "edited.zip", lambda d: (d / "data" / "anchors.json").unlink()
    )
    check = verify_package(edited, roots=[local_tsa.root_pem])
    assert not check.ok
    assert [p for p in check.problems if p.startswith("manifest") and "anchors.json" in p]
    assert any(h.startswith("custody anchors: no data/anchors.json") for h in check.holds)
