"""The transparency figures of a period: what DSA Art. 15 and 24 and the US TAKE IT DOWN Act
ask a platform to count, as plain values (``docs/transparency.md``).

Like :mod:`jikimi.reports.figures` (which this reuses), each function is one read-only query
over a :class:`~sqlalchemy.orm.Session` held by the caller, so a report reads every figure from
one snapshot; nothing here formats or writes (:mod:`jikimi.reports.transparency_export` turns a
:class:`TransparencyReport` into the DSA and TAKE IT DOWN shapes).

- :func:`notices_by_kind_and_source`: notices received, by kind and by who sent them.
- :func:`removals_by_ground`: reviewers' removals and restrictions by ground and category.
- :func:`clocks_by_rule`: median and 90th-percentile hours from notice to decision, and the
  share in time, per deadline rule.
- :func:`automation`: automated detections, automated removals, decisions on automated
  detections and automated decisions.
- :func:`suspensions`: notifiers suspended for manifestly unfounded notices (DSA Art. 23).
- :func:`appeals`: internal complaints (DSA Art. 20) filed, upheld, reversed, pending.
- :func:`takedown_log`: each TAKE IT DOWN request and what became of it.

For the DSA template (Commission Implementing Regulation (EU) 2024/2835, Annex I), which counts
by the statement categories (``STATEMENT_CATEGORY_*``) and by who sent a notice:

- :func:`notices_by_category`: notices by kind, jurisdiction and the category of the ruling on
  their case (a notice carries no category when it arrives).
- :func:`measures`: reviewers' removals and restrictions by what opened their case.
- :func:`action_times`: hours from notice to decision of each closed case, with its category.
- :func:`appeal_records`: each appeal filed or decided, with the decision it was against.

No figure names a notifier, a person or any content.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from jikimi.cases.notices import NOTICE_KINDS
from jikimi.reports import dsa_vocab as v
from jikimi.reports import figures as f
from jikimi.store.models import (
    Appeal,
    Case,
    CustodyEventRecord,
    Decision,
    ItemMedia,
    Notice,
    NotifierSuspension,
    VerdictRecord,
)

__all__ = [
    "ART16_KINDS",
    "DEFAULT_DAYS",
    "DSA_CATEGORIES",
    "NOT_SPECIFIED_NOTICE",
    "NOT_SPECIFIED_ORDER",
    "SOURCES",
    "TAKEDOWN_HOURS",
    "ActionTime",
    "AppealCounts",
    "AppealRecord",
    "Automation",
    "ClockSummary",
    "GroundCount",
    "Measure",
    "NoticeCounts",
    "SuspensionCounts",
    "TakedownRecord",
    "TransparencyReport",
    "action_times",
    "appeal_records",
    "appeals",
    "automation",
    "clock_of",
    "clocks_by_rule",
    "measures",
    "median_hours",
    "notice_source",
    "notices_by_category",
    "notices_by_kind_and_source",
    "p90",
    "read_report",
    "removals_by_ground",
    "report_period",
    "suspensions",
    "takedown_log",
]

# Who sent a notice: anyone without an account (the public form and API), a registered
# account (a platform or partner), a trusted flagger (DSA Art. 22), an authority (orders).
SOURCES = ("public", "platform", "trusted_flagger", "authority")
PUBLIC_SENDER = "public"  # Notice.submitted_by of a notice sent without a token
RESTRICTING = ("remove", "restrict")
ORDER = "authority_order"
DEFAULT_DAYS = 30  # a report without dates covers the last 30 UTC days, today included
TAKEDOWN_HOURS = 48  # 47 U.S.C. 223a(a)(3): remove within 48 hours of a valid request
ART16_KINDS = tuple(k for k in NOTICE_KINDS if k != ORDER)  # notices; orders are Art. 9
# The statement category of each decision category, as jikimi.reports.statement puts it in
# the statement of reasons (a test holds the two together).
DSA_CATEGORIES = {
    "adult_ncii": v.CATEGORY_CYBER_VIOLENCE,
    "minors": v.CATEGORY_PROTECTION_OF_MINORS,
    "other": v.CATEGORY_OTHER_VIOLATION_TC,
}
# The template's rows for notices and orders not (yet) put in a category: here, those whose
# case has no ruling (incomplete, sender suspended, or not decided yet).
NOT_SPECIFIED_NOTICE = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"
NOT_SPECIFIED_ORDER = "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER"


def report_period(first: date | None, last: date | None, today: date) -> f.Period:
    """The UTC days from ``first`` to ``last``, both included; ``last`` defaults to ``today``,
    ``first`` to :data:`DEFAULT_DAYS` days before ``last``."""
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    return f.Period.of_dates(first, last)


def notice_source(kind: str, submitted_by: str) -> str:
    """The source of a notice, one of :data:`SOURCES`."""
    if kind == "trusted_flagger":
        return "trusted_flagger"
    if kind == "authority_order":
        return "authority"
    return "public" if submitted_by == PUBLIC_SENDER else "platform"


def p90(values: Sequence[float]) -> float | None:
    """The 90th percentile by the nearest-rank method: the smallest value at or above which
    no more than 10% of the values lie (``sorted[ceil(0.9 n) - 1]``); None without values."""
    if not values:
        return None
    return sorted(values)[math.ceil(0.9 * len(values)) - 1]


def _hours_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _aware(at: datetime | None) -> datetime | None:
    """An aggregate's time: SQLite returns the stored UTC wall time without a zone."""
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _within(
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    period: f.Period,
) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return column >= period.start, column < period.end


@dataclass(frozen=True, slots=True)
class NoticeCounts:
    """Notices received in the period, complete or not."""

    counts: dict[tuple[str, str], int]  # (kind, source) -> notices
    incomplete: int  # of them, those missing a required element or with an invalid one
    orders_by_jurisdiction: dict[str, int]  # authority orders by the issuing jurisdiction

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def by_kind(self) -> dict[str, int]:
        out = dict.fromkeys(NOTICE_KINDS, 0)
        for (kind, _), count in self.counts.items():
            out[kind] = out.get(kind, 0) + count
        return out

    @property
    def by_source(self) -> dict[str, int]:
        out = dict.fromkeys(SOURCES, 0)
        for (_, source), count in self.counts.items():
            out[source] += count
        return out


def notices_by_kind_and_source(session: Session, period: f.Period) -> NoticeCounts:
    rows = session.execute(
        select(Notice.kind, Notice.submitted_by, Notice.complete, Notice.jurisdiction).where(
            *_within(Notice.received_at, period)
        )
    )
    counts: Counter[tuple[str, str]] = Counter()
    orders: Counter[str] = Counter()
    incomplete = 0
    for kind, submitted_by, complete, jurisdiction in rows:
        counts[(kind, notice_source(kind, submitted_by))] += 1
        incomplete += not complete
        if kind == "authority_order":
            orders[jurisdiction or "unknown"] += 1
    return NoticeCounts(dict(sorted(counts.items())), incomplete, dict(sorted(orders.items())))


@dataclass(frozen=True, slots=True)
class GroundCount:
    ground: str  # illegal (the law) or terms (terms and conditions)
    category: str  # adult_ncii, minors, other
    outcome: str  # remove or restrict
    decisions: int


def removals_by_ground(session: Session, period: f.Period) -> tuple[GroundCount, ...]:
    """Reviewers' removals and restrictions decided in the period (near-duplicate tasks
    included), by ground, category and outcome; most first."""
    rows = session.execute(
        select(Decision.ground, Decision.category, Decision.outcome, func.count())
        .where(Decision.outcome.in_(RESTRICTING), *_within(Decision.decided_at, period))
        .group_by(Decision.ground, Decision.category, Decision.outcome)
    )
    found = [GroundCount(g, c, o, int(n)) for g, c, o, n in rows]
    return tuple(sorted(found, key=lambda r: (-r.decisions, r.ground, r.category, r.outcome)))


@dataclass(frozen=True, slots=True)
class ClockSummary:
    """Closed cases with a legal clock under one rule (``None``: every rule together)."""

    rule: str | None
    cases: int
    met: int
    median_hours: float | None
    p90_hours: float | None
    hours_allowed: float | None  # the longest clock the rule gave (orders may set their own)

    @property
    def share_met(self) -> float | None:
        return self.met / self.cases if self.cases else None


def _summary(rule: str | None, clocks: Sequence[f.CaseClock]) -> ClockSummary:
    taken = [c.hours_taken for c in clocks]
    allowed = max((c.hours_allowed for c in clocks), default=None)
    met = sum(c.met for c in clocks)
    return ClockSummary(rule, len(clocks), met, _median(taken), p90(taken), allowed)


def clocks_by_rule(clocks: f.TimeToDecision) -> tuple[ClockSummary, ...]:
    """Every rule together first, then one summary per rule, the shortest clock first."""
    groups: dict[str, list[f.CaseClock]] = defaultdict(list)
    for clock in clocks.cases:
        groups[clock.rule or "unknown"].append(clock)
    per_rule = sorted(
        (_summary(rule, group) for rule, group in groups.items()),
        key=lambda s: (s.hours_allowed or 0.0, s.rule or ""),
    )
    return (_summary(None, clocks.cases), *per_rule)


def clock_of(clocks: f.TimeToDecision, origins: Iterable[str]) -> ClockSummary:
    """The cases opened by one of ``origins`` (notice kinds), every rule together."""
    wanted = set(origins)
    return _summary(None, [c for c in clocks.cases if c.origin in wanted])


@dataclass(frozen=True, slots=True)
class Automation:
    """What automated means did in the period."""

    flagged: int  # verdicts review or remove: content detected by automated means
    removed_automatically: int  # verdicts remove made without a person
    decisions: int  # reviewers' rulings (remove, restrict, keep)
    decisions_on_automated_detection: int  # of them, on cases a verdict opened
    decisions_automated: int  # of them, taken by automated means (always 0 today)


def automation(session: Session, period: f.Period) -> Automation:
    in_period = _within(VerdictRecord.created_at, period)
    flagged = session.scalar(
        select(func.count()).where(VerdictRecord.outcome.in_(("review", "remove")), *in_period)
    )
    removed = session.scalar(
        select(func.count()).where(
            VerdictRecord.outcome == "remove", VerdictRecord.automated.is_(True), *in_period
        )
    )
    total, detected, automated = session.execute(
        select(
            func.count(),
            func.count().filter(Decision.automated_detection.is_(True)),
            func.count().filter(Decision.automated_decision != "not"),
        ).where(Decision.outcome.in_(f.RULINGS), *_within(Decision.decided_at, period))
    ).one()
    return Automation(
        int(flagged or 0), int(removed or 0), int(total), int(detected), int(automated)
    )


@dataclass(frozen=True, slots=True)
class SuspensionCounts:
    """Notifiers suspended for manifestly unfounded notices (DSA Art. 23(2))."""

    imposed: int  # suspensions that began in the period
    lifted: int  # suspensions lifted in the period
    active_at_end: int  # suspensions in force when the period ended


def suspensions(session: Session, period: f.Period) -> SuspensionCounts:
    s = NotifierSuspension
    imposed = session.scalar(select(func.count()).where(*_within(s.suspended_at, period)))
    lifted = session.scalar(select(func.count()).where(*_within(s.lifted_at, period)))
    active = session.scalar(
        select(func.count()).where(
            s.suspended_at < period.end, s.lifted_at.is_(None) | (s.lifted_at >= period.end)
        )
    )
    return SuspensionCounts(int(imposed or 0), int(lifted or 0), int(active or 0))


@dataclass(frozen=True, slots=True)
class AppealCounts:
    """Internal complaints against decisions (DSA Art. 20)."""

    filed: int  # appeals filed in the period
    upheld: int  # appeals decided in the period, the decision kept
    reversed: int  # appeals decided in the period with another outcome
    pending_at_end: int  # filed before the period ended, not decided by then
    median_hours_to_decide: float | None  # of the appeals decided in the period

    @property
    def decided(self) -> int:
        return self.upheld + self.reversed


def appeals(session: Session, period: f.Period) -> AppealCounts:
    filed = session.scalar(select(func.count()).where(*_within(Appeal.filed_at, period)))
    decided = session.execute(
        select(Appeal.outcome, Appeal.filed_at, Appeal.decided_at).where(
            *_within(Appeal.decided_at, period)
        )
    ).all()
    pending = session.scalar(
        select(func.count()).where(
            Appeal.filed_at < period.end,
            Appeal.decided_at.is_(None) | (Appeal.decided_at >= period.end),
        )
    )
    outcomes = Counter(outcome for outcome, _, _ in decided)
    hours = [_hours_between(filed_at, decided_at) for _, filed_at, decided_at in decided]
    return AppealCounts(
        int(filed or 0),
        outcomes["upheld"],
        outcomes["reversed"],
        int(pending or 0),
        _median(hours),
    )


@dataclass(frozen=True, slots=True)
class TakedownRecord:
    """One TAKE IT DOWN removal request and what became of it."""

    notice_id: int
    receipt: str
    received_at: datetime
    complete: bool  # a valid request: every element of 47 U.S.C. 223a(a)(1)(B) present
    missing: tuple[str, ...]
    case_id: int | None
    deadline_at: datetime | None
    removed_at: datetime | None  # the first removal decided on its case after receipt
    items_removed: int  # items that decision removed, identical copies included
    identical_copies_removed: int  # of them, items holding the same files as another
    notes: tuple[str, ...]

    @property
    def hours_to_removal(self) -> float | None:
        if self.removed_at is None:
            return None
        return _hours_between(self.received_at, self.removed_at)

    @property
    def within_48h(self) -> bool | None:
        hours = self.hours_to_removal
        return None if hours is None else hours <= TAKEDOWN_HOURS


def takedown_log(session: Session, period: f.Period) -> tuple[TakedownRecord, ...]:
    """Every ``takedown_request`` notice received in the period, oldest first."""
    notices = session.scalars(
        select(Notice)
        .where(Notice.kind == "takedown_request", *_within(Notice.received_at, period))
        .order_by(Notice.received_at, Notice.id)
    ).all()
    case_ids = {n.case_id for n in notices if n.case_id is not None}
    decisions = session.scalars(
        select(Decision).where(Decision.case_id.in_(case_ids)).order_by(Decision.decided_at)
    ).all()
    removed = _removed_items(session, case_ids, {d.id for d in decisions if d.outcome == "remove"})
    records = []
    for notice in notices:
        mine = [d for d in decisions if d.case_id == notice.case_id]
        removal = next(
            (d for d in mine if d.outcome == "remove" and d.decided_at >= notice.received_at),
            None,
        )
        items = removed.get(removal.id, ()) if removal else ()
        records.append(
            TakedownRecord(
                notice_id=notice.id,
                receipt=notice.receipt,
                received_at=notice.received_at,
                complete=notice.complete,
                missing=tuple(notice.missing),
                case_id=notice.case_id,
                deadline_at=notice.due_at,
                removed_at=removal.decided_at if removal else None,
                items_removed=len(items),
                identical_copies_removed=_copies(session, items),
                notes=_notes(notice, mine, removal),
            )
        )
    return tuple(records)


def _removed_items(
    session: Session, case_ids: set[int], decision_ids: set[int]
) -> dict[int, tuple[int, ...]]:
    """The items each removal decision acted on, from its ``case.decided`` custody event."""
    if not decision_ids:
        return {}
    events = session.scalars(
        select(CustodyEventRecord.payload).where(
            CustodyEventRecord.kind == "case.decided",
            CustodyEventRecord.subject.in_([f"case:{c}" for c in case_ids]),
        )
    )
    return {
        e["decision_id"]: tuple(e.get("items") or ())
        for e in events
        if e.get("decision_id") in decision_ids
    }


def _copies(session: Session, item_ids: Iterable[int]) -> int:
    """Items beyond the first holding the same set of files (by SHA-256)."""
    ids = list(item_ids)
    if not ids:
        return 0
    files: dict[int, set[str]] = defaultdict(set)
    rows = session.execute(
        select(ItemMedia.item_id, ItemMedia.media_sha256).where(
            ItemMedia.item_id.in_(ids), ItemMedia.media_sha256.is_not(None)
        )
    )
    for item_id, sha256 in rows:
        files[item_id].add(sha256)
    # An item without a known file is its own original: nothing shows it is a copy.
    keys = {frozenset(files[i]) if files[i] else ("item", i) for i in ids}
    return len(ids) - len(keys)


def _notes(
    notice: Notice, decisions: Sequence[Decision], removal: Decision | None
) -> tuple[str, ...]:
    notes = []
    if not notice.complete:
        notes.append("incomplete: missing " + ", ".join(notice.missing or ["valid elements"]))
    elif notice.case_id is None:
        notes.append("notifier suspended: no case opened")
    if removal is None and notice.case_id is not None:
        kept = any(d.outcome == "keep" for d in decisions)
        notes.append("kept after review" if kept else "not removed yet")
    if removal is not None:
        hours = _hours_between(notice.received_at, removal.decided_at)
        if hours > TAKEDOWN_HOURS:
            notes.append(f"removed {hours - TAKEDOWN_HOURS:.1f} hours after the 48-hour limit")
    return tuple(notes)


def _last_rulings(session: Session, case_ids: Iterable[int], before: datetime) -> dict[int, str]:
    """The statement category of each case's last ruling (remove, restrict, keep) before
    ``before``; a case without one is left out."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Decision.case_id, Decision.category)
        .where(
            Decision.case_id.in_(ids),
            Decision.outcome.in_(f.RULINGS),
            Decision.decided_at < before,
        )
        .order_by(Decision.decided_at, Decision.id)
    )
    return {case_id: DSA_CATEGORIES.get(category, category) for case_id, category in rows}


def notices_by_category(session: Session, period: f.Period) -> dict[tuple[str, str, str], int]:
    """Notices received in the period by (kind, jurisdiction, statement category). A notice is
    put in the category of the last ruling on its case before the period ended; without one,
    in :data:`NOT_SPECIFIED_NOTICE` (orders: :data:`NOT_SPECIFIED_ORDER`)."""
    rows = session.execute(
        select(Notice.kind, Notice.jurisdiction, Notice.case_id).where(
            *_within(Notice.received_at, period)
        )
    ).all()
    ruled = _last_rulings(session, (c for _, _, c in rows if c is not None), period.end)
    counts: Counter[tuple[str, str, str]] = Counter()
    for kind, jurisdiction, case_id in rows:
        unset = NOT_SPECIFIED_ORDER if kind == ORDER else NOT_SPECIFIED_NOTICE
        category = ruled.get(case_id, unset) if case_id is not None else unset
        counts[(kind, jurisdiction or "unknown", category)] += 1
    return dict(sorted(counts.items()))


@dataclass(frozen=True, slots=True)
class Measure:
    """Reviewers' removals or restrictions of one kind decided in the period."""

    origin: str  # what opened the case: a notice kind, or "verdict" (own initiative)
    ground: str  # illegal or terms
    category: str  # the statement category (DSA_CATEGORIES)
    outcome: str  # remove or restrict
    decisions: int


def measures(session: Session, period: f.Period) -> tuple[Measure, ...]:
    """Removals and restrictions decided in the period by what opened their case, ground,
    category and outcome; a removal on appeal counts as one more measure."""
    rows = session.execute(
        select(Case.origin, Decision.ground, Decision.category, Decision.outcome, func.count())
        .join(Case, Case.id == Decision.case_id)
        .where(Decision.outcome.in_(RESTRICTING), *_within(Decision.decided_at, period))
        .group_by(Case.origin, Decision.ground, Decision.category, Decision.outcome)
    )
    found = [Measure(o, g, DSA_CATEGORIES.get(c, c), out, int(n)) for o, g, c, out, n in rows]
    return tuple(sorted(found, key=lambda m: (m.origin, m.ground, m.category, m.outcome)))


@dataclass(frozen=True, slots=True)
class ActionTime:
    """One case with a legal clock closed in the period (as :func:`figures.time_to_decision`
    counts it), with the category of its last ruling."""

    origin: str
    category: str  # of its last ruling; NOT_SPECIFIED_NOTICE (or _ORDER) without one
    hours: float  # from its first notice (or its opening) to its closing
    jurisdiction: str | None = None  # whose clock applied


def action_times(session: Session, period: f.Period) -> tuple[ActionTime, ...]:
    first = f.first_notices()
    rows = session.execute(
        select(
            Case.id,
            Case.origin,
            Case.created_at,
            Case.closed_at,
            first.c.received_at,
            Case.jurisdiction,
        )
        .outerjoin(first, first.c.case_id == Case.id)
        .where(Case.due_at.is_not(None), *_within(Case.closed_at, period))
    ).all()
    ruled = _last_rulings(session, (r[0] for r in rows), period.end)
    return tuple(
        ActionTime(
            origin,
            ruled.get(case_id, NOT_SPECIFIED_ORDER if origin == ORDER else NOT_SPECIFIED_NOTICE),
            max(0.0, _hours_between(start, closed_at)),
            jurisdiction,
        )
        for case_id, origin, created_at, closed_at, received_at, jurisdiction in rows
        for start in [_aware(received_at) or created_at]
    )


def median_hours(
    times: Iterable[ActionTime], origins: Iterable[str], category: str | None = None
) -> float | None:
    """The median hours of the cases opened by one of ``origins`` (in ``category``, if given)."""
    wanted = set(origins)
    return _median(
        [
            t.hours
            for t in times
            if t.origin in wanted and (category is None or t.category == category)
        ]
    )


@dataclass(frozen=True, slots=True)
class AppealRecord:
    """One appeal filed or decided in the period."""

    appealed: str  # the outcome appealed against: remove, restrict or keep
    origin: str  # what opened the case
    filed: bool  # filed in the period
    outcome: str | None  # upheld or reversed when decided in the period, else None
    hours_to_decide: float | None  # when decided in the period

    @property
    def newly_restricted(self) -> bool:
        """A keep reversed: the appeal imposed a removal or restriction."""
        return self.appealed == "keep" and self.outcome == "reversed"


def appeal_records(session: Session, period: f.Period) -> tuple[AppealRecord, ...]:
    rows = session.execute(
        select(Appeal.filed_at, Appeal.decided_at, Appeal.outcome, Decision.outcome, Case.origin)
        .join(Decision, Decision.id == Appeal.decision_id)
        .join(Case, Case.id == Appeal.case_id)
        .where(
            or_(
                and_(*_within(Appeal.filed_at, period)),
                and_(*_within(Appeal.decided_at, period)),
            )
        )
        .order_by(Appeal.filed_at, Appeal.id)
    )
    records = []
    for filed_at, decided_at, outcome, appealed, origin in rows:
        decided = decided_at is not None and period.start <= decided_at < period.end
        records.append(
            AppealRecord(
                appealed=appealed,
                origin=origin,
                filed=period.start <= filed_at < period.end,
                outcome=outcome if decided else None,
                hours_to_decide=_hours_between(filed_at, decided_at) if decided else None,
            )
        )
    return tuple(records)


@dataclass(frozen=True, slots=True)
class TransparencyReport:
    """Every transparency figure of one period, read from one snapshot."""

    period: f.Period
    notices: NoticeCounts
    removals: tuple[GroundCount, ...]
    automated_removals: int  # policy verdicts remove (one per item), as the dashboard counts
    clocks: tuple[ClockSummary, ...]  # every rule together first, then per rule
    orders_clock: ClockSummary  # cases an authority order opened (DSA Art. 9)
    notices_clock: ClockSummary  # cases any other notice opened (DSA Art. 16)
    automation: Automation
    suspensions: SuspensionCounts
    appeals: AppealCounts
    banks: tuple[f.BankMatches, ...]
    takedowns: tuple[TakedownRecord, ...]
    notice_categories: dict[tuple[str, str, str], int]  # (kind, jurisdiction, category)
    measures: tuple[Measure, ...]
    action_times: tuple[ActionTime, ...]
    appeal_records: tuple[AppealRecord, ...]


def read_report(session: Session, period: f.Period) -> TransparencyReport:
    clocks = f.time_to_decision(session, period)
    return TransparencyReport(
        period=period,
        notices=notices_by_kind_and_source(session, period),
        removals=removals_by_ground(session, period),
        automated_removals=f.removals_by_day(session, period).total(f.AUTOMATED),
        clocks=clocks_by_rule(clocks),
        orders_clock=clock_of(clocks, [ORDER]),
        notices_clock=clock_of(clocks, [k for k in NOTICE_KINDS if k != ORDER]),
        automation=automation(session, period),
        suspensions=suspensions(session, period),
        appeals=appeals(session, period),
        banks=f.matches_by_bank(session, period),
        takedowns=takedown_log(session, period),
        notice_categories=notices_by_category(session, period),
        measures=measures(session, period),
        action_times=action_times(session, period),
        appeal_records=appeal_records(session, period),
    )
