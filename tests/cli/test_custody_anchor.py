"""`jikimi custody anchor` and the anchors in `jikimi custody verify`, with a local TSA."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.conftest import Runner
from tests.support.local_tsa import LocalTsa, refused_url, running_tsa


@pytest.fixture
def tsa() -> Iterator[LocalTsa]:
    with running_tsa() as local:
        yield local


@pytest.fixture
def anchoring(
    workspace: Path, tsa: LocalTsa, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Runner
) -> Path:
    """A workspace with a few custody events, the TSA configured and its root trusted."""
    roots = tmp_path / "tsa-roots.pem"
    roots.write_bytes(tsa.root_pem)
    monkeypatch.setenv("JIKIMI_TSA_URLS", json.dumps([tsa.url]))
    monkeypatch.setenv("JIKIMI_TSA_CERTIFICATES", str(roots))
    for name in ("one", "two"):
        assert cli("bank", "create", name).code == 0
    return workspace


def test_anchor_then_verify(cli: Runner, anchoring: Path, tsa: LocalTsa) -> None:
    run = cli("custody", "anchor")
    assert run.code == 0, run.err
    assert run.out.startswith("anchor 1: seq 1..")
    assert f"by {tsa.url}" in run.out

    again = cli("custody", "anchor", "--json")
    assert again.code == 0
    assert again.json_lines() == [{"anchored": False}]
    assert cli("custody", "anchor").out == "nothing new to anchor\n"

    verified = cli("custody", "verify")
    assert verified.code == 0, verified.out
    assert "anchor 1: seq 1.." in verified.out and "verifies; unaltered since" in verified.out
    assert verified.out.rstrip().endswith("1 anchors checked")

    assert cli("bank", "create", "three").code == 0
    made = cli("custody", "anchor", "--json").json_lines()[0]
    assert made["anchored"] is True and made["anchor_id"] == 2
    assert [t["tsa"] for t in made["tokens"]] == [tsa.url] and made["failures"] == []
    report = cli("custody", "verify", "--json").json_lines()[0]
    assert report["ok"] is True and report["problems"] == []
    assert [(a["anchor_id"], a["ok"]) for a in report["anchors"]] == [(1, True), (2, True)]
    assert report["anchors"][1]["first_seq"] == report["anchors"][0]["last_seq"] + 1


def test_verify_catches_an_edited_anchored_event(cli: Runner, anchoring: Path) -> None:
    assert cli("custody", "anchor").code == 0
    with sqlite3.connect(anchoring / "jikimi.db") as db:
        db.execute("UPDATE custody_events SET subject = 'bank:forged' WHERE seq = 1")
    run = cli("custody", "verify")
    assert run.code == 1
    assert "problem: anchor 1 (seq 1.." in run.out and "Merkle root does not match" in run.out
    assert "DOES NOT verify" in run.out


def test_one_tsa_down_warns_and_anchors(
    cli: Runner, anchoring: Path, tsa: LocalTsa, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = refused_url()
    monkeypatch.setenv("JIKIMI_TSA_URLS", json.dumps([down, tsa.url]))
    run = cli("custody", "anchor")
    assert run.code == 0
    assert f"warning: {down}: unreachable" in run.err


def test_every_tsa_failing_is_an_error_naming_each(
    cli: Runner, anchoring: Path, tsa: LocalTsa, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = refused_url()
    monkeypatch.setenv("JIKIMI_TSA_URLS", json.dumps([down, tsa.url]))
    tsa.mode = "reject"
    run = cli("custody", "anchor")
    assert run.code == 1
    assert f"{down}: unreachable" in run.err and f"{tsa.url}: refused the request" in run.err
    assert "anchors checked" in cli("custody", "verify").out  # nothing half-stored
    assert cli("custody", "verify", "--json").json_lines()[0]["anchors"] == []


def test_anchor_without_a_tsa_says_what_to_set(cli: Runner, workspace: Path) -> None:
    run = cli("custody", "anchor")
    assert run.code == 1
    assert "set tsa_urls" in run.err


def test_verify_without_trusted_roots_does_not_claim_the_anchor(
    cli: Runner, anchoring: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("custody", "anchor").code == 0
    monkeypatch.delenv("JIKIMI_TSA_CERTIFICATES")
    run = cli("custody", "verify")
    assert run.code == 1
    assert "set tsa_certificates" in run.out
