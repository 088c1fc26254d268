"""``jikimi report dsa`` and ``jikimi report kcsc``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.conftest import Runner
from tests.reports.test_kcsc import seed_case
from tests.reports.test_transparency_db_submit import add_decisions
from tests.support.fake_transparency_db import TOKEN, FakeTransparencyDb

from jikimi.reports.kcsc import CSV_COLUMNS
from jikimi.workspace import Workspace


@pytest.fixture
def fake(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTransparencyDb]:
    with FakeTransparencyDb() as server:
        monkeypatch.setenv("JIKIMI_DSA_TDB_URL", server.url)
        monkeypatch.setenv("JIKIMI_DSA_TDB_TOKEN", TOKEN)
        yield server


def seed(count: int, **changes: object) -> list[str]:
    with Workspace.open() as ws:
        return add_decisions(ws, count, **changes)


def test_dry_run_writes_the_statements_and_sends_nothing(
    cli: Runner, fake: FakeTransparencyDb, tmp_path: Path
) -> None:
    puids = seed(3)
    out = tmp_path / "sor.json"
    run = cli("report", "dsa", "--dry-run", "--out", out, "--json")
    assert run.code == 0, run.err
    assert run.json_lines() == [
        {"pending": 3, "sent": 0, "existing": 0, "batches": 0, "dry_run": True}
    ]
    assert [s["puid"] for s in json.loads(out.read_text())["statements"]] == puids
    assert fake.calls == []


def test_send_then_nothing_left(cli: Runner, fake: FakeTransparencyDb) -> None:
    seed(3)
    run = cli("report", "dsa")
    assert run.code == 0, run.err
    assert "3 statement(s) sent, 0 already in the database, in 1 call(s)" in run.out
    assert len(fake.stored) == 3
    again = cli("report", "dsa", "--json")
    assert again.json_lines()[0]["pending"] == 0 and len(fake.calls) == 1


def test_since_keeps_later_decisions(cli: Runner, fake: FakeTransparencyDb) -> None:
    seed(2)  # decided on 2026-03-02
    assert cli("report", "dsa", "--since", "2026-03-03", "--json").json_lines()[0]["pending"] == 0
    assert cli("report", "dsa", "--since", "2026-03-02", "--json").json_lines()[0]["sent"] == 2


def test_an_invalid_statement_stops_with_the_problem(cli: Runner, fake: FakeTransparencyDb) -> None:
    seed(1, automated_decision="AUTOMATED_DECISION_SOMETIMES")
    run = cli("report", "dsa")
    assert run.code == 1
    assert "automated_decision" in run.err and "nothing was sent" in run.err
    assert fake.calls == []


def test_without_a_token_says_which_setting(
    cli: Runner, fake: FakeTransparencyDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JIKIMI_DSA_TDB_TOKEN")
    seed(1)
    run = cli("report", "dsa")
    assert run.code == 1 and "dsa_tdb_token" in run.err
    assert cli("report", "dsa", "--dry-run").code == 0  # a dry run needs no token


def test_kcsc_writes_csv_and_pdf(cli: Runner, workspace: Path, tmp_path: Path) -> None:
    with Workspace.open() as ws:
        case_id = seed_case(ws)
    out = tmp_path / "kcsc"
    run = cli("report", "kcsc", str(case_id), "--out", out, "--json")
    assert run.code == 0, run.err
    files = run.json_lines()[0]["files"]
    rows = list(csv.reader(io.StringIO(Path(files["csv"]).read_text(encoding="utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 3
    assert Path(files["pdf"]).read_bytes().startswith(b"%PDF-")
    with Workspace.open() as ws:
        assert [e.kind for e in ws.custody.events()][-1] == "report.kcsc.built"


def test_kcsc_unknown_case(cli: Runner, workspace: Path, tmp_path: Path) -> None:
    run = cli("report", "kcsc", "42", "--out", tmp_path)
    assert run.code == 1 and "no case 42" in run.err
