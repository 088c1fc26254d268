"""`jikimi demo`: a whole flow on synthetic, benign data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.conftest import Runner

from jikimi.actions.outbox import OutboxStore
from jikimi.settings import load_settings
from jikimi.workspace import Workspace


def test_jikimi_demo_builds_a_whole_flow(
    cli: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "demo"
    run = cli("demo", "--home", home, "--no-serve", "--json")
    assert run.code == 0, run.err
    demo = json.loads(run.out.strip().splitlines()[-1])
    outcomes = {i["label"]: i["outcome"] for i in demo["items"]}
    assert outcomes["exact copy of a banked picture"] == "remove"
    assert outcomes["mirrored copy of a banked picture"] == "remove"
    assert outcomes["picture from the review bank"] == "review"
    assert outcomes["unrelated picture"] == "allow"
    cases = {i["label"]: i["case_id"] for i in demo["items"]}
    notices = {n["kind"]: n["case_id"] for n in demo["notices"]}
    # The takedown names the message under review: it joins that case, on a 48-hour clock.
    assert notices["takedown_request"] == cases["picture from the review bank"]
    assert notices["authority_order"] and notices["user_report"]
    assert {u["role"] for u in demo["users"]} == {"admin", "moderator", "platform"}
    assert all(u["token"].startswith("jkm_") for u in demo["users"])
    # The dry-run sink recorded what would have been done; the custody log verifies.
    monkeypatch.setenv("JIKIMI_HOME", str(home))
    with Workspace.open(load_settings()) as ws:
        effects = OutboxStore(ws.sessions).list()
    assert effects and {(e.sink, e.state) for e in effects} == {("dry_run", "delivered")}
    assert all(e.result and e.result["dry_run"] for e in effects)
    verified = cli("custody", "verify")
    assert verified.code == 0, verified.err
    # Running it again remakes the demo; a folder that is not a demo's is refused.
    assert cli("demo", "--home", home, "--no-serve", "--json").code == 0
    other = tmp_path / "precious"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    refused = cli("demo", "--home", other, "--no-serve")
    assert refused.code == 1 and "not a Jikimi demo" in refused.err
    assert (other / "notes.txt").read_text() == "mine"
