"""`jikimi worker --once`: the outbox dispatcher alone, as a separate process would run it."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Runner

from jikimi.actions.outbox import OutboxStore
from jikimi.model import Effect
from jikimi.settings import load_settings
from jikimi.store.db import write_session
from jikimi.workspace import Workspace


def test_worker_once_delivers_what_is_due(cli: Runner, workspace: Path) -> None:
    with Workspace.open(load_settings()) as ws:
        outbox = OutboxStore(ws.sessions, ws.custody)
        effect = Effect("verdict", "dry_run", {"platform": "web"}, "k1", {"n": 1})
        with write_session(ws.sessions) as session:
            (entry_id,) = outbox.enqueue(session, [effect])
    run = cli("worker", "--once")
    assert run.code == 0, run.err
    assert "handled 1 effects" in run.out
    with Workspace.open(load_settings()) as ws:
        entry = OutboxStore(ws.sessions).get(entry_id)
    assert entry.state == "delivered" and entry.result and entry.result["dry_run"] is True
    assert cli("worker", "--once").out.strip() == "handled 0 effects"
