"""The figures behind the dashboard and the transparency reports, on known rows, on SQLite and
PostgreSQL: the edges of a period (UTC midnights), what is counted and what is not."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session, sessionmaker

from jikimi.cases.notices import NOTICE_KINDS
from jikimi.reports.figures import (
    AUTOMATED,
    REVIEWER,
    BankMatches,
    Period,
    QueueLoad,
    decision_sources,
    matches_by_bank,
    notices_by_day,
    open_cases_by_queue,
    removals_by_day,
    time_to_decision,
)
from jikimi.store.models import (
    Case,
    Decision,
    Item,
    MatchRecord,
    MediaRecord,
    Notice,
    VerdictRecord,
)

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)
PERIOD = Period.last_days(7, NOW)  # 4 to 10 March 2026
START, END = PERIOD.start, PERIOD.end
SECOND = timedelta(seconds=1)


def _case(session: Session, *, state: str = "new", queue: str = "adult_ncii", **kw: object) -> Case:
    at = kw.pop("created_at", START)
    case = Case(
        state=state, queue=queue, origin="takedown_request", created_at=at, updated_at=at, **kw
    )
    session.add(case)
    session.flush()
    return case


def _notice(session: Session, kind: str, at: datetime, case: Case | None = None) -> Notice:
    notice = Notice(
        kind=kind,
        jurisdiction="US",
        received_at=at,
        body={"kind": kind},
        missing=[],
        invalid=[],
        complete=True,
        notifier=None,
        submitted_by="public",
        receipt=secrets.token_hex(8),
        case_id=case.id if case else None,
        due_at=None,
    )
    session.add(notice)
    return notice


def _decision(session: Session, case: Case, outcome: str, at: datetime) -> None:
    session.add(
        Decision(
            case_id=case.id,
            outcome=outcome,
            ground="illegal",
            law="A law",
            terms=None,
            category="adult_ncii",
            reasons="Reasons.",
            automated_detection=False,
            automated_decision="not",
            decided_by="test-moderator",
            decided_at=at,
            statement=None,
        )
    )


def _verdict(session: Session, outcome: str, at: datetime) -> None:
    item = Item(platform="telegram", meta={}, submitted_by="platform", received_at=at)
    session.add(item)
    session.flush()
    session.add(
        VerdictRecord(
            item_id=item.id,
            outcome=outcome,
            queue=None,
            priority=0,
            automated=outcome != "review",
            suspected_minor=False,
            actions=[],
            reasons=[],
            policy_version="test",
            created_at=at,
        )
    )


def _match(session: Session, bank: str, at: datetime, suppressed: str | None = None) -> None:
    sha = secrets.token_hex(32)
    session.add(MediaRecord(sha256=sha, size=1, signals={}, notes=[], first_seen=at, last_seen=at))
    session.flush()
    session.add(
        MatchRecord(
            media_sha256=sha,
            scan_id="scan",
            bank=bank,
            entry_id=1,
            signal_type="pdq",
            distance=0.0,
            bank_kind="known-abuse",
            transform=None,
            suppressed_by=suppressed,
            matched_at=at,
            detail=None,
        )
    )


def test_a_period_is_whole_utc_days_up_to_today() -> None:
    assert PERIOD.start == datetime(2026, 3, 4, tzinfo=UTC)
    assert PERIOD.end == datetime(2026, 3, 11, tzinfo=UTC)
    assert PERIOD.days[0] == date(2026, 3, 4) and PERIOD.days[-1] == date(2026, 3, 10)
    assert len(PERIOD.days) == 7
    # The same instant seen from Seoul is still 10 March in UTC.
    seoul = NOW.astimezone(timezone(timedelta(hours=9)))
    assert seoul.date() == date(2026, 3, 11)
    assert Period.last_days(7, seoul) == PERIOD
    assert PERIOD.index(START) == 0 and PERIOD.index(END - SECOND) == 6
    assert PERIOD.index(START - SECOND) is None and PERIOD.index(END) is None
    with pytest.raises(ValueError, match="naive"):
        Period.last_days(7, datetime(2026, 3, 10))
    with pytest.raises(ValueError, match="at least one day"):
        Period.last_days(0, NOW)
    with pytest.raises(ValueError, match="midnight"):
        Period(NOW, NOW + timedelta(days=1))


def test_notices_are_counted_per_utc_day_and_kind(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        _notice(s, "takedown_request", START)  # the first instant of the period
        _notice(s, "takedown_request", START + timedelta(hours=23, minutes=59))
        _notice(s, "dsa_notice", END - SECOND)  # the last instant
        _notice(s, "authority_order", datetime(2026, 3, 7, 12, tzinfo=UTC))
        _notice(s, "user_report", START - SECOND)  # the day before: not counted
        _notice(s, "user_report", END)  # tomorrow: not counted
        s.commit()
        counts = notices_by_day(s, PERIOD)
    assert list(counts.series) == list(NOTICE_KINDS)  # every kind, in the documented order
    assert counts.series["takedown_request"] == (2, 0, 0, 0, 0, 0, 0)
    assert counts.series["dsa_notice"] == (0, 0, 0, 0, 0, 0, 1)
    assert counts.on(date(2026, 3, 7))["authority_order"] == 1
    assert counts.total("user_report") == 0
    assert counts.total() == 4


def test_removals_by_reviewers_and_without_a_person(sessions: sessionmaker[Session]) -> None:
    day = datetime(2026, 3, 9, 8, tzinfo=UTC)
    with sessions() as s:
        case = _case(s, state="closed")
        _decision(s, case, "remove", day)
        _decision(s, case, "remove", day + timedelta(days=1))
        _decision(s, case, "keep", day)  # not a removal
        _decision(s, case, "remove", START - SECOND)  # before the period
        _verdict(s, "remove", day)
        _verdict(s, "remove", day)
        _verdict(s, "review", day)  # went to people
        _verdict(s, "allow", day)
        s.commit()
        counts = removals_by_day(s, PERIOD)
    assert list(counts.series) == [AUTOMATED, REVIEWER]
    assert counts.on(date(2026, 3, 9)) == {AUTOMATED: 2, REVIEWER: 1}
    assert counts.on(date(2026, 3, 10)) == {AUTOMATED: 0, REVIEWER: 1}
    assert counts.total(AUTOMATED) == 2 and counts.total(REVIEWER) == 2


def test_time_to_decision_against_each_cases_clock(sessions: sessionmaker[Session]) -> None:
    t = datetime(2026, 3, 5, 9, tzinfo=UTC)
    hours = timedelta(hours=1)
    with sessions() as s:
        # Decided in 10 hours on a 48-hour clock.
        quick = _case(s, state="closed", created_at=t, due_at=t + 48 * hours)
        quick.closed_at = t + 10 * hours
        _notice(s, "takedown_request", t, quick)
        # Decided in 30 hours on a 24-hour clock: late.
        late = _case(s, state="closed", created_at=t, due_at=t + 24 * hours)
        late.closed_at = t + 30 * hours
        _notice(s, "authority_order", t, late)
        # Exactly on the deadline counts as in time (closed_at <= due_at, as the API's).
        edge = _case(s, state="closed", created_at=t, due_at=t + 24 * hours)
        edge.closed_at = t + 24 * hours
        # Opened by a verdict at t, a notice at t + 2 h started the clock: measured from it.
        joined = _case(s, state="closed", created_at=t - 5 * hours, due_at=t + 26 * hours)
        joined.closed_at = t + 8 * hours
        _notice(s, "trusted_flagger", t + 2 * hours, joined)
        _notice(s, "trusted_flagger", t + 4 * hours, joined)
        # Not counted: open, no clock, closed before the period.
        _case(s, created_at=t, due_at=t + 24 * hours)
        unclocked = _case(s, state="closed", created_at=t)
        unclocked.closed_at = t + hours
        old = _case(s, state="closed", created_at=t - 10 * 24 * hours, due_at=t)
        old.closed_at = START - SECOND
        s.commit()
        figure = time_to_decision(s, PERIOD)
    taken = [(c.hours_allowed, c.hours_taken, c.met) for c in figure.cases]
    assert taken == [(24, 6, True), (24, 24, True), (24, 30, False), (48, 10, True)]
    assert figure.met == 3 and figure.missed == 1
    assert figure.share_met == 0.75
    assert figure.median_hours == 17  # (10 + 24) / 2


def test_no_closed_case_is_no_share(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        figure = time_to_decision(s, PERIOD)
    assert figure.cases == () and figure.share_met is None and figure.median_hours is None


def test_open_cases_by_queue_with_the_overdue_part(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        _case(s, queue="adult_ncii", due_at=NOW - SECOND)  # overdue
        _case(s, queue="adult_ncii", due_at=NOW + SECOND)
        _case(s, queue="adult_ncii")  # no clock: never overdue
        _case(s, queue="authority", state="escalated", due_at=NOW - timedelta(days=2))
        _case(s, queue="appeals", state="appealed")
        _case(s, queue="child_safety", suspected_minor=True)  # counted, nothing else shown
        _case(s, queue="adult_ncii", state="closed", due_at=NOW - SECOND)
        _case(s, queue="auto_removed", state="actioned")  # removed without a person
        s.commit()
        queues = open_cases_by_queue(s, NOW)
    assert queues == (
        QueueLoad("adult_ncii", 3, 1),
        QueueLoad("appeals", 1, 0),
        QueueLoad("authority", 1, 1),
        QueueLoad("child_safety", 1, 0),
    )


def test_automated_removals_against_reviewers_rulings(sessions: sessionmaker[Session]) -> None:
    day = datetime(2026, 3, 6, tzinfo=UTC)
    with sessions() as s:
        case = _case(s, state="closed")
        for outcome in ("remove", "remove", "restrict", "keep", "escalate"):
            _decision(s, case, outcome, day)
        _decision(s, case, "keep", END)  # after the period
        for _ in range(5):
            _verdict(s, "remove", day)
        _verdict(s, "allow", day)
        s.commit()
        sources = decision_sources(s, PERIOD)
    assert sources.automated == 5
    assert sources.reviewer == {"remove": 2, "restrict": 1, "keep": 1}  # escalation: no ruling
    assert sources.reviewer_total == 4 and sources.total == 9
    assert sources.share_automated == pytest.approx(5 / 9)


def test_matches_per_bank(sessions: sessionmaker[Session]) -> None:
    day = datetime(2026, 3, 8, tzinfo=UTC)
    with sessions() as s:
        for _ in range(3):
            _match(s, "ncii-hashes", day)
        _match(s, "ncii-hashes", day, suppressed="known-benign:memes")
        _match(s, "decided-removals", day)
        _match(s, "decided-removals", day)
        _match(s, "old-bank", START - SECOND)
        s.commit()
        banks = matches_by_bank(s, PERIOD)
    assert banks == (BankMatches("ncii-hashes", 4, 1), BankMatches("decided-removals", 2, 0))
    assert banks[0].acted_on == 3


def test_every_figure_is_documented() -> None:
    from pathlib import Path

    from jikimi.reports import figures

    text = (Path(__file__).resolve().parents[2] / "docs" / "dashboard.md").read_text()
    names = [n for n in figures.__all__ if callable(getattr(figures, n)) and n[0].islower()]
    assert names
    missing = [n for n in names if f"`{n}`" not in text]
    assert not missing, f"figures missing from docs/dashboard.md: {missing}"
