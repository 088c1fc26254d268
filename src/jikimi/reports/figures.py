"""The figures a regulator, an operator and a transparency report ask for, as plain values.

Each function is one read-only query over a :class:`~sqlalchemy.orm.Session` (the caller holds
the transaction, so a page or report reads all its figures from one snapshot) and returns a
frozen dataclass; nothing here formats, translates or draws. The console's dashboard draws
them (:mod:`jikimi.console.charts`); the transparency reports (DSA Art. 15 and 24) reuse them.

Periods are whole UTC days (:class:`Period`). Counts by day are bucketed in Python rather than
by a ``date()`` in SQL: SQLite and PostgreSQL disagree on dates of time-zone-aware values, and
only the time column of the period's rows is read.

What is counted (``docs/dashboard.md``):

- :func:`notices_by_day`: every notice received, complete or not, by kind.
- :func:`removals_by_day`: removals by reviewers (decisions ``remove``, including resolved
  near-duplicate tasks) and without a person (verdicts ``remove``, one per item).
- :func:`time_to_decision`: every case with a legal clock closed in the period: hours from its
  first notice to its closing against the hours its clock allowed; ``met`` as the API's
  ``deadline_met`` (closed at or before ``due_at``).
- :func:`open_cases_by_queue`: open cases now (not closed, not removed automatically) per
  queue, and how many are past their clock.
- :func:`decision_sources`: automated removals against reviewers' rulings (remove, restrict,
  keep; an escalation is no ruling).
- :func:`matches_by_bank`: hash and person matches recorded in the period, per bank.

Suspected-minor cases and items are counted like any other; no figure names a case, an item or
any content.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Subquery, func, select
from sqlalchemy.orm import Session

from jikimi.cases.notices import NOTICE_KINDS
from jikimi.store.models import Case, Decision, MatchRecord, Notice, VerdictRecord

__all__ = [
    "AUTOMATED",
    "REVIEWER",
    "BankMatches",
    "CaseClock",
    "DailyCounts",
    "DecisionSources",
    "Period",
    "QueueLoad",
    "TimeToDecision",
    "decision_sources",
    "first_notices",
    "matches_by_bank",
    "notices_by_day",
    "open_cases_by_queue",
    "removals_by_day",
    "time_to_decision",
]

AUTOMATED = "automated"  # removed by a policy verdict, without a person
REVIEWER = "reviewer"  # removed (or ruled on) by a person's decision
# States in which a case is no one's work: decided, or removed without a person.
DONE_STATES = ("closed", "actioned")
RULINGS = ("remove", "restrict", "keep")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole UTC days: from ``start`` (a midnight, included) to ``end`` (a midnight, not)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for at in (self.start, self.end):
            if at.tzinfo is None or at.astimezone(UTC).time() != time(0):
                raise ValueError(f"a period runs from UTC midnight to UTC midnight, not {at}")
        if self.end <= self.start:
            raise ValueError("a period ends after it starts")

    @classmethod
    def last_days(cls, days: int, now: datetime) -> Period:
        """The ``days`` UTC days up to and including the day of ``now`` (an aware time)."""
        if days < 1:
            raise ValueError("a period has at least one day")
        if now.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware datetime (UTC)")
        today = now.astimezone(UTC).date()
        return cls(_midnight(today - timedelta(days=days - 1)), _midnight(today) + timedelta(1))

    @classmethod
    def of_dates(cls, first: date, last: date) -> Period:
        """The UTC days from ``first`` to ``last``, both included."""
        if last < first:
            raise ValueError(f"a period ends after it starts: {first} is after {last}")
        return cls(_midnight(first), _midnight(last) + timedelta(1))

    @property
    def days(self) -> tuple[date, ...]:
        first = self.start.astimezone(UTC).date()
        count = (self.end - self.start).days
        return tuple(first + timedelta(days=n) for n in range(count))

    def index(self, at: datetime) -> int | None:
        """The position of ``at``'s UTC day in :attr:`days`, or None outside the period."""
        if not self.start <= at < self.end:
            return None
        return (at.astimezone(UTC).date() - self.start.astimezone(UTC).date()).days


@dataclass(frozen=True, slots=True)
class DailyCounts:
    """Counts per UTC day of a period, by series (a notice kind; who removed)."""

    days: tuple[date, ...]
    series: dict[str, tuple[int, ...]]

    def total(self, key: str | None = None) -> int:
        """All counts, or one series'."""
        if key is not None:
            return sum(self.series.get(key, ()))
        return sum(sum(values) for values in self.series.values())

    def on(self, day: date) -> dict[str, int]:
        """The counts of one day, by series."""
        i = self.days.index(day)
        return {key: values[i] for key, values in self.series.items()}


def _bucket(
    period: Period, keys: Sequence[str], rows: Iterable[tuple[str, datetime]]
) -> DailyCounts:
    counts = {key: [0] * len(period.days) for key in keys}
    for key, at in rows:
        i = period.index(at)
        if i is not None:
            counts.setdefault(key, [0] * len(period.days))[i] += 1
    return DailyCounts(period.days, {key: tuple(values) for key, values in counts.items()})


def notices_by_day(session: Session, period: Period) -> DailyCounts:
    """Notices received per day, one series per kind (every kind, in the documented order)."""
    rows = session.execute(
        select(Notice.kind, Notice.received_at).where(
            Notice.received_at >= period.start, Notice.received_at < period.end
        )
    )
    return _bucket(period, NOTICE_KINDS, ((kind, at) for kind, at in rows))


def removals_by_day(session: Session, period: Period) -> DailyCounts:
    """Removals per day: ``automated`` (verdicts, one per item) and ``reviewer`` (decisions)."""
    automated = session.scalars(
        select(VerdictRecord.created_at).where(
            VerdictRecord.outcome == "remove",
            VerdictRecord.created_at >= period.start,
            VerdictRecord.created_at < period.end,
        )
    )
    reviewer = session.scalars(
        select(Decision.decided_at).where(
            Decision.outcome == "remove",
            Decision.decided_at >= period.start,
            Decision.decided_at < period.end,
        )
    )
    rows = [(AUTOMATED, at) for at in automated] + [(REVIEWER, at) for at in reviewer]
    return _bucket(period, (AUTOMATED, REVIEWER), rows)


@dataclass(frozen=True, slots=True)
class CaseClock:
    """One closed case against its clock: hours it took, hours it was allowed, in time or not."""

    hours_taken: float
    hours_allowed: float
    met: bool
    rule: str | None = None  # the deadline rule that set its clock (cases.deadline_rule)
    origin: str | None = None  # what opened the case: a notice kind, or "verdict"


@dataclass(frozen=True, slots=True)
class TimeToDecision:
    """The closed cases with a legal clock, shortest clock first, then quickest."""

    cases: tuple[CaseClock, ...]

    @property
    def met(self) -> int:
        return sum(c.met for c in self.cases)

    @property
    def missed(self) -> int:
        return len(self.cases) - self.met

    @property
    def share_met(self) -> float | None:
        """The share decided in time, 0 to 1; None without cases."""
        return self.met / len(self.cases) if self.cases else None

    @property
    def median_hours(self) -> float | None:
        return statistics.median(c.hours_taken for c in self.cases) if self.cases else None


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def first_notices() -> Subquery:
    """Each case's first notice receipt (``case_id``, ``received_at``): where its clock starts."""
    return (
        select(Notice.case_id, func.min(Notice.received_at).label("received_at"))
        .where(Notice.case_id.is_not(None))
        .group_by(Notice.case_id)
        .subquery()
    )


def time_to_decision(session: Session, period: Period) -> TimeToDecision:
    """Cases with a clock closed in the period. The clock runs from the case's first notice
    (its receipt), or from its opening when no notice is recorded."""
    first = first_notices()
    rows = session.execute(
        select(
            Case.created_at,
            Case.due_at,
            Case.closed_at,
            Case.deadline_rule,
            Case.origin,
            first.c.received_at,
        )
        .outerjoin(first, first.c.case_id == Case.id)
        .where(
            Case.due_at.is_not(None),
            Case.closed_at.is_not(None),
            Case.closed_at >= period.start,
            Case.closed_at < period.end,
        )
    )
    cases = []
    for created_at, due_at, closed_at, rule, origin, received_at in rows:
        start = _aware(received_at) or created_at
        cases.append(
            CaseClock(
                hours_taken=max(0.0, _hours(closed_at - start)),
                hours_allowed=max(0.0, _hours(due_at - start)),
                met=closed_at <= due_at,
                rule=rule,
                origin=origin,
            )
        )
    cases.sort(key=lambda c: (c.hours_allowed, c.hours_taken, not c.met))
    return TimeToDecision(tuple(cases))


def _aware(at: datetime | None) -> datetime | None:
    """An aggregate's time: SQLite returns the stored UTC wall time without a zone."""
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class QueueLoad:
    queue: str
    open: int
    overdue: int  # of the open cases, those past their clock


def open_cases_by_queue(session: Session, now: datetime) -> tuple[QueueLoad, ...]:
    """Open cases per queue at ``now``, the fullest queue first."""
    late = Case.due_at.is_not(None) & (Case.due_at < now)
    rows = session.execute(
        select(Case.queue, func.count(), func.count().filter(late))
        .where(Case.state.not_in(DONE_STATES))
        .group_by(Case.queue)
    )
    loads = [QueueLoad(queue, int(total), int(overdue)) for queue, total, overdue in rows]
    return tuple(sorted(loads, key=lambda q: (-q.open, q.queue)))


@dataclass(frozen=True, slots=True)
class DecisionSources:
    """Who decided in the period: removals without a person against reviewers' rulings."""

    automated: int
    reviewer: dict[str, int]  # by outcome: remove, restrict, keep

    @property
    def reviewer_total(self) -> int:
        return sum(self.reviewer.values())

    @property
    def total(self) -> int:
        return self.automated + self.reviewer_total

    @property
    def share_automated(self) -> float | None:
        return self.automated / self.total if self.total else None


def decision_sources(session: Session, period: Period) -> DecisionSources:
    automated = session.scalar(
        select(func.count()).where(
            VerdictRecord.outcome == "remove",
            VerdictRecord.created_at >= period.start,
            VerdictRecord.created_at < period.end,
        )
    )
    rows = session.execute(
        select(Decision.outcome, func.count())
        .where(
            Decision.outcome.in_(RULINGS),
            Decision.decided_at >= period.start,
            Decision.decided_at < period.end,
        )
        .group_by(Decision.outcome)
    )
    found = {outcome: int(count) for outcome, count in rows}
    return DecisionSources(int(automated or 0), {o: found.get(o, 0) for o in RULINGS})


@dataclass(frozen=True, slots=True)
class BankMatches:
    bank: str
    matches: int  # all matches recorded, suppressed ones included
    suppressed: int  # of them, those an allow-list or exception set aside

    @property
    def acted_on(self) -> int:
        return self.matches - self.suppressed


def matches_by_bank(session: Session, period: Period) -> tuple[BankMatches, ...]:
    """Matches recorded in the period per bank, the bank with most matches first."""
    rows = session.execute(
        select(
            MatchRecord.bank,
            func.count(),
            func.count().filter(MatchRecord.suppressed_by.is_not(None)),
        )
        .where(MatchRecord.matched_at >= period.start, MatchRecord.matched_at < period.end)
        .group_by(MatchRecord.bank)
    )
    banks = [BankMatches(bank, int(total), int(suppressed)) for bank, total, suppressed in rows]
    return tuple(sorted(banks, key=lambda b: (-b.matches, b.bank)))
