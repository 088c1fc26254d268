"""Sending stored statements of reasons: batches, resuming, no duplicates, custody."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from tests.reports.test_transparency_db import statement
from tests.support.fake_transparency_db import TOKEN, FakeTransparencyDb

from jikimi.errors import ReportInvalid, ReportUnavailable
from jikimi.reports.transparency_db_client import TransparencyDbClient
from jikimi.reports.transparency_db_submit import (
    EVENT,
    KIND,
    pending_statements,
    submit_statements,
)
from jikimi.store.db import write_session
from jikimi.store.models import Case, Decision, ReportSubmission
from jikimi.workspace import Workspace

DECIDED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def add_decisions(ws: Workspace, count: int, **changes: object) -> list[str]:
    """``count`` decided cases with statements; their PUIDs."""
    puids = []
    with write_session(ws.sessions) as session:
        for n in range(count):
            case = Case(queue="adult_ncii", state="closed", origin="takedown_request")
            session.add(case)
            session.flush()
            puid = f"jikimi-{case.id}-{n:04d}"
            session.add(
                Decision(
                    case_id=case.id, outcome="remove", ground="illegal", law="law",
                    terms=None, category="adult_ncii", reasons="r", automated_detection=False,
                    automated_decision="not", decided_by="mod",
                    decided_at=DECIDED + timedelta(minutes=n),
                    statement=statement(puid, **changes),
                )
            )  # fmt: skip
            puids.append(puid)
    return puids


@pytest.fixture
def fake() -> Iterator[FakeTransparencyDb]:
    with FakeTransparencyDb() as server:
        yield server


@pytest.fixture
def client(fake: FakeTransparencyDb) -> Iterator[TransparencyDbClient]:
    with TransparencyDbClient(fake.url, TOKEN, timeout=5) as c:
        yield c


def run(ws: Workspace, client: TransparencyDbClient | None, **kw: object):  # type: ignore[no-untyped-def]
    return submit_statements(
        ws.sessions, ws.custody, client, actor="tester", tool_version="test", **kw
    )  # type: ignore[arg-type]


def submissions(ws: Workspace) -> dict[str, str]:
    with ws.sessions() as session:
        rows = session.scalars(select(ReportSubmission).where(ReportSubmission.kind == KIND))
        return {r.external_id or "": r.state for r in rows}


def test_250_statements_go_as_100_100_50(
    ws: Workspace, fake: FakeTransparencyDb, client: TransparencyDbClient
) -> None:
    puids = add_decisions(ws, 250)
    done = run(ws, client)
    assert [n for _, n in fake.calls] == [100, 100, 50]
    assert (done.pending, done.sent, done.existing, done.batches) == (250, 250, 0, 3)
    assert sorted(fake.stored) == sorted(puids)
    assert set(submissions(ws).values()) == {"finished"}
    assert pending_statements(ws.sessions) == []
    events = [e for e in ws.custody.events() if e.kind == EVENT]
    assert len(events) == 250 and events[0].payload["uuid"] == fake.stored[puids[0]]["uuid"]
    assert ws.custody.verify().ok


def test_a_run_stopped_midway_resumes_without_duplicates(
    ws: Workspace, fake: FakeTransparencyDb, client: TransparencyDbClient
) -> None:
    add_decisions(ws, 250)
    fake.lose_answer_at = 2  # the second batch is stored, but its answer is lost
    with pytest.raises(ReportUnavailable):
        run(ws, client)
    states = submissions(ws)
    assert sum(s == "finished" for s in states.values()) == 100
    assert sum(s == "failed" for s in states.values()) == 100
    assert len(pending_statements(ws.sessions)) == 150
    done = run(ws, client)
    assert (done.sent, done.existing) == (50, 100)
    assert len(fake.stored) == 250  # nothing twice
    assert set(submissions(ws).values()) == {"finished"}
    with ws.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ReportSubmission)) == 250


def test_a_429_stops_the_run_and_nothing_is_finished_twice(
    ws: Workspace, fake: FakeTransparencyDb, client: TransparencyDbClient
) -> None:
    add_decisions(ws, 3)
    fake.fail(429, retry_after="30")
    with pytest.raises(ReportUnavailable):
        run(ws, client)
    assert set(submissions(ws).values()) == {"failed"}
    assert run(ws, client).sent == 3
    assert run(ws, client).pending == 0


def test_an_invalid_statement_stops_everything_before_sending(
    ws: Workspace, fake: FakeTransparencyDb, client: TransparencyDbClient
) -> None:
    add_decisions(ws, 2)
    add_decisions(ws, 1, decision_ground="DECISION_GROUND_WHATEVER")
    with pytest.raises(ReportInvalid) as info:
        run(ws, client)
    assert "decision 3" in str(info.value) and "decision_ground" in str(info.value)
    assert fake.calls == [] and submissions(ws) == {}


def test_dry_run_sends_and_stores_nothing(ws: Workspace, fake: FakeTransparencyDb) -> None:
    add_decisions(ws, 2)
    done = run(ws, None, dry_run=True)
    assert done.pending == 2 and len(done.statements) == 2 and done.sent == 0
    assert fake.calls == [] and submissions(ws) == {}


def test_since_keeps_later_decisions(ws: Workspace) -> None:
    add_decisions(ws, 3)
    later = pending_statements(ws.sessions, since=DECIDED + timedelta(minutes=1))
    assert len(later) == 2
