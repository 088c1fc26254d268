"""The dashboard: how much came in, how fast it was handled, and what waits, as charts.

Reviewers and auditors (``cases:decide`` or ``audit:read``) see, over the last 7, 30 or 90
UTC days: notices per day by kind, removals per day (automated or by reviewers), time to
decision against the legal deadline, open cases per queue now, the share of automated
decisions, and matches per bank; then tables of removals by ground, appeals and notifier
suspensions. Figures come from :mod:`jikimi.reports.figures` and
:mod:`jikimi.reports.transparency`, charts from :mod:`jikimi.console.charts` (SVG drawn here,
no script). Only counts are shown: no case, item or content, so suspected-minor cases are
counted without anything about them being revealed. ``audit:read`` holders also get the
transparency exports (``/console/dashboard/export``), as ``GET /v1/stats`` gives them.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission
from jikimi.console import charts
from jikimi.console.charts import PALETTE, Bar, Category, Series, Slice, Strip, Swatch
from jikimi.console.i18n import catalog
from jikimi.console.sessions import SignedIn
from jikimi.console.web import ConsoleForbidden, language_of, render, signed_in
from jikimi.reports import figures as f
from jikimi.reports import transparency as tr
from jikimi.reports.transparency_export import SHAPES
from jikimi.web.api.stats import FORMATS, check_choice, export_response, read

router = APIRouter(include_in_schema=False)

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
# Rows of the deadline chart: the most common clocks, the rest in one "other" row.
CLOCK_ROWS = 7
KIND_COLOURS = {
    "takedown_request": PALETTE["blue"],
    "dsa_notice": PALETTE["sky"],
    "authority_order": PALETTE["green"],
    "trusted_flagger": PALETTE["purple"],
    "user_report": PALETTE["orange"],
}
AUTOMATED_COLOUR, REVIEWER_COLOUR = PALETTE["orange"], PALETTE["blue"]
MET_COLOUR, LATE_COLOUR = PALETTE["green"], PALETTE["vermillion"]

Text = Callable[..., str]


def any_of(*needed: Permission) -> Callable[..., Awaitable[SignedIn]]:
    """A dependency admitting signed-in users whose role has at least one of ``needed``
    (:func:`~jikimi.console.web.permitted` asks for all of them)."""

    async def check(who: SignedIn = Depends(signed_in)) -> SignedIn:
        if not any(who.principal.can(p) for p in needed):
            raise ConsoleForbidden(who, needed)
        return who

    return check


@dataclass(frozen=True, slots=True)
class Figures:
    """Every figure of the page, read in one transaction."""

    period: f.Period
    notices: f.DailyCounts
    removals: f.DailyCounts
    clocks: f.TimeToDecision
    queues: tuple[f.QueueLoad, ...]
    sources: f.DecisionSources
    banks: tuple[f.BankMatches, ...]
    grounds: tuple[tr.GroundCount, ...]
    appeals: tr.AppealCounts
    suspensions: tr.SuspensionCounts


def read_figures(sessions: sessionmaker[Session], period: f.Period, now: datetime) -> Figures:
    with sessions() as session:
        return Figures(
            period,
            f.notices_by_day(session, period),
            f.removals_by_day(session, period),
            f.time_to_decision(session, period),
            f.open_cases_by_queue(session, now),
            f.decision_sources(session, period),
            f.matches_by_bank(session, period),
            tr.removals_by_ground(session, period),
            tr.appeals(session, period),
            tr.suspensions(session, period),
        )


@dataclass(frozen=True, slots=True)
class Table:
    """The numbers of a chart as a table (for screen readers, and to copy figures from)."""

    head: list[str]
    rows: list[list[str]]


@dataclass(frozen=True, slots=True)
class Panel:
    """One chart of the page; ``chart`` is None when there is nothing to draw."""

    id: str
    heading: str
    summary: str
    chart: Markup | None
    empty: str
    table: Table
    notes: list[str] = field(default_factory=list)


def _days(days: str) -> int:
    return int(days) if days in {str(p) for p in PERIODS} else DEFAULT_DAYS


@router.get("/console/dashboard")
async def dashboard(
    request: Request,
    days: str = "",
    who: SignedIn = Depends(any_of(Permission.CASES_DECIDE, Permission.AUDIT_READ)),
) -> Response:
    chosen = _days(days)
    service = request.app.state.service
    now = service.now()
    period = f.Period.last_days(chosen, now)
    figures = await run_in_threadpool(read_figures, service.ws.sessions, period, now)
    lang = language_of(request, who)
    texts = catalog()

    def t(key: str, **values: Any) -> str:
        return texts.text(key, lang, **values)

    context = {
        "days": chosen,
        "periods": PERIODS,
        "period_start": figures.period.days[0].isoformat(),
        "period_end": figures.period.days[-1].isoformat(),
        "panels": panels(figures, t, chosen),
        "facts": fact_tables(figures, t),
        "exports": [(t(f"dashboard.export.{shape}"), shape) for shape in SHAPES]
        if who.principal.can(Permission.AUDIT_READ)
        else [],
    }
    return render(request, "dashboard.html", context, who=who)


@router.get("/console/dashboard/export")
async def export(
    request: Request,
    days: str = "",
    shape: str = "summary",
    fmt: str = Query("csv", alias="format"),
    _: SignedIn = Depends(any_of(Permission.AUDIT_READ)),
) -> Response:
    """The transparency exports of the dashboard's period, as ``GET /v1/stats`` gives them
    (the session's sign-in instead of a token)."""
    check_choice(shape, SHAPES, "shape")
    check_choice(fmt, FORMATS, "format")
    service = request.app.state.service
    period = f.Period.last_days(_days(days), service.now())
    report = await run_in_threadpool(read, service, period)
    return export_response(report, shape, fmt)


def panels(figures: Figures, t: Text, days: int) -> list[Panel]:
    """The page's panels, in reading order."""
    return [
        _notices(figures, t, days),
        _removals(figures, t, days),
        _deadlines(figures, t),
        _queues(figures, t),
        _sources(figures, t, days),
        _banks(figures, t, days),
    ]


# -- helpers --------------------------------------------------------------------------------


def _num(n: float) -> str:
    return f"{round(n):,}"


def _share(part: float | None) -> str:
    return "\u2013" if part is None else f"{round(100 * part)}%"


def _hours(h: float | None) -> str:
    return "\u2013" if h is None else f"{h:,.1f}"


def _day(t: Text, day: date) -> str:
    months = t("dashboard.months").split()
    return t("dashboard.day", day=day.day, month=months[day.month - 1])


def _named(t: Text, prefix: str, key: str) -> str:
    """A translated name (a queue, a notice kind), or the key as it is (a policy's own
    queue has no translation)."""
    full = f"dashboard.{prefix}.{key}"
    return t(full) if full in catalog() else key


def _daily_table(t: Text, counts: f.DailyCounts, labels: dict[str, str]) -> Table:
    head = [t("dashboard.table.day"), *labels.values(), t("dashboard.table.total")]
    rows = []
    for day in counts.days:
        values = counts.on(day)
        line = [values.get(key, 0) for key in labels]
        rows.append([day.isoformat(), *map(_num, line), _num(sum(line))])
    totals = [counts.total(key) for key in labels]
    rows.append([t("dashboard.table.total"), *map(_num, totals), _num(sum(totals))])
    return Table(head, rows)


def _columns(
    chart_id: str, t: Text, title: str, desc: str, counts: f.DailyCounts, series: list[Series]
) -> Markup:
    return charts.stacked_columns(
        chart_id,
        title=title,
        desc=desc,
        categories=[Category(d.isoformat(), _day(t, d)) for d in counts.days],
        series=series,
        value_label=t("dashboard.axis.count"),
        category_label=t("dashboard.axis.day"),
    )


# -- the panels -----------------------------------------------------------------------------


def _notices(figures: Figures, t: Text, days: int) -> Panel:
    counts = figures.notices
    kinds = [k for k in counts.series if counts.total(k)] or list(counts.series)
    labels = {k: _named(t, "kind", k) for k in kinds}
    heading = t("dashboard.notices.title")
    summary = t("dashboard.notices.summary", days=days, total=_num(counts.total()))
    parts = "; ".join(f"{labels[k]}: {_num(counts.total(k))}" for k in kinds if counts.total(k))
    series = [
        Series(k, labels[k], counts.series[k], KIND_COLOURS.get(k, PALETTE["grey"])) for k in kinds
    ]
    chart = None
    if counts.total():
        chart = _columns("chart-notices", t, heading, f"{summary} {parts}", counts, series)
    return Panel(
        "notices",
        heading,
        summary,
        chart,
        t("dashboard.notices.empty"),
        _daily_table(t, counts, labels),
    )


def _removals(figures: Figures, t: Text, days: int) -> Panel:
    counts = figures.removals
    labels = {
        f.AUTOMATED: t("dashboard.removals.automated"),
        f.REVIEWER: t("dashboard.removals.reviewer"),
    }
    colours = {f.AUTOMATED: AUTOMATED_COLOUR, f.REVIEWER: REVIEWER_COLOUR}
    heading = t("dashboard.removals.title")
    summary = t(
        "dashboard.removals.summary",
        days=days,
        total=_num(counts.total()),
        automated=_num(counts.total(f.AUTOMATED)),
        reviewer=_num(counts.total(f.REVIEWER)),
    )
    series = [Series(k, labels[k], counts.series[k], colours[k]) for k in labels]
    chart = None
    if counts.total():
        chart = _columns("chart-removals", t, heading, summary, counts, series)
    return Panel(
        "removals",
        heading,
        summary,
        chart,
        t("dashboard.removals.empty"),
        _daily_table(t, counts, labels),
        [t("dashboard.removals.note")],
    )


def clock_strips(clocks: f.TimeToDecision, t: Text) -> list[Strip]:
    """The deadline chart's rows: one per clock length (in whole hours), the most common
    first up to :data:`CLOCK_ROWS`, shortest on top; the rest together in a last row."""
    rounded = [(round(c.hours_allowed), c) for c in clocks.cases]
    common = Counter(h for h, _ in rounded).most_common()
    kept = sorted(h for h, _ in common[:CLOCK_ROWS]) if len(common) > CLOCK_ROWS + 1 else None
    if kept is None:
        kept = sorted(h for h, _ in common)
    strips = []
    for hours in kept:
        group = [c for h, c in rounded if h == hours]
        strips.append(
            Strip(
                f"clock-{hours}",
                t("dashboard.deadlines.row", hours=_num(hours)),
                (float(hours),),
                tuple((c.hours_taken, c.met) for c in group),
            )
        )
    rest = [c for h, c in rounded if h not in kept]
    if rest:
        strips.append(
            Strip(
                "clock-other",
                t("dashboard.deadlines.other_row"),
                tuple(sorted({c.hours_allowed for c in rest})),
                tuple((c.hours_taken, c.met) for c in rest),
            )
        )
    return strips


def _deadlines(figures: Figures, t: Text) -> Panel:
    clocks = figures.clocks
    heading = t("dashboard.deadlines.title")
    summary = t(
        "dashboard.deadlines.summary",
        total=_num(len(clocks.cases)),
        met=_num(clocks.met),
        share=_share(clocks.share_met),
        median=_hours(clocks.median_hours),
        p90=_hours(tr.p90([c.hours_taken for c in clocks.cases])),
    )
    strips = clock_strips(clocks, t)
    chart = None
    if clocks.cases:
        chart = charts.strip_plot(
            "chart-deadlines",
            title=heading,
            desc=summary,
            strips=strips,
            value_label=t("dashboard.axis.hours"),
            point_text=t("dashboard.deadlines.point"),
            within=Swatch("met", t("dashboard.deadlines.met"), MET_COLOUR),
            beyond=Swatch("missed", t("dashboard.deadlines.missed"), LATE_COLOUR),
            mark_label=t("dashboard.deadlines.deadline"),
        )
    rows = []
    for strip in strips:
        met = sum(ok for _, ok in strip.points)
        taken = [v for v, _ in strip.points]
        count = len(strip.points)
        median, p90 = statistics.median(taken), tr.p90(taken)
        rows.append(
            [strip.label, _num(count), _num(met), _num(count - met), _hours(median), _hours(p90)]
        )
    head = [
        t("dashboard.deadlines.clock"),
        t("dashboard.table.cases"),
        t("dashboard.deadlines.met"),
        t("dashboard.deadlines.missed"),
        t("dashboard.deadlines.median"),
        t("dashboard.deadlines.p90"),
    ]
    return Panel(
        "deadlines",
        heading,
        summary,
        chart,
        t("dashboard.deadlines.empty"),
        Table(head, rows),
        [t("dashboard.deadlines.note")],
    )


def _queues(figures: Figures, t: Text) -> Panel:
    queues = figures.queues
    heading = t("dashboard.queues.title")
    total, overdue = sum(q.open for q in queues), sum(q.overdue for q in queues)
    summary = t("dashboard.queues.summary", open=_num(total), overdue=_num(overdue))
    legend = [
        Swatch("overdue", t("dashboard.queues.overdue"), LATE_COLOUR),
        Swatch("in_time", t("dashboard.queues.in_time"), REVIEWER_COLOUR),
    ]
    bars = [
        Bar(
            q.queue,
            _named(t, "queue", q.queue),
            (q.overdue, q.open - q.overdue),
            t("dashboard.queues.note_bar", open=_num(q.open), overdue=_num(q.overdue))
            if q.overdue
            else _num(q.open),
        )
        for q in queues
    ]
    chart = None
    if total:
        chart = charts.stacked_bars(
            "chart-queues",
            title=heading,
            desc=summary,
            bars=bars,
            legend=legend,
            value_label=t("dashboard.axis.open_cases"),
        )
    head = [t("dashboard.queues.queue"), t("dashboard.queues.open"), t("dashboard.queues.overdue")]
    rows = [[b.label, _num(q.open), _num(q.overdue)] for b, q in zip(bars, queues, strict=True)]
    return Panel("queues", heading, summary, chart, t("dashboard.queues.empty"), Table(head, rows))


def _sources(figures: Figures, t: Text, days: int) -> Panel:
    sources = figures.sources
    heading = t("dashboard.sources.title")
    summary = t(
        "dashboard.sources.summary",
        days=days,
        total=_num(sources.total),
        automated=_num(sources.automated),
        reviewer=_num(sources.reviewer_total),
        share=_share(sources.share_automated),
    )
    slices = [
        Slice(f.AUTOMATED, t("dashboard.sources.automated"), sources.automated, AUTOMATED_COLOUR),
        Slice(f.REVIEWER, t("dashboard.sources.reviewer"), sources.reviewer_total, REVIEWER_COLOUR),
    ]
    chart = None
    if sources.total:
        chart = charts.donut(
            "chart-sources",
            title=heading,
            desc=summary,
            slices=slices,
            centre=_share(sources.share_automated),
            centre_note=t("dashboard.sources.centre"),
        )
    head = [t("dashboard.sources.source"), t("dashboard.table.decisions")]
    rows = [[t("dashboard.sources.automated"), _num(sources.automated)]]
    rows += [
        [t(f"dashboard.sources.outcome.{outcome}"), _num(count)]
        for outcome, count in sources.reviewer.items()
    ]
    rows.append([t("dashboard.table.total"), _num(sources.total)])
    return Panel(
        "sources",
        heading,
        summary,
        chart,
        t("dashboard.sources.empty"),
        Table(head, rows),
        [t("dashboard.sources.note")],
    )


def _banks(figures: Figures, t: Text, days: int) -> Panel:
    banks = figures.banks
    heading = t("dashboard.banks.title")
    total = sum(b.matches for b in banks)
    summary = t(
        "dashboard.banks.summary",
        days=days,
        total=_num(total),
        banks=_num(len(banks)),
        suppressed=_num(sum(b.suppressed for b in banks)),
    )
    legend = [
        Swatch("matched", t("dashboard.banks.matched"), PALETTE["blue"]),
        Swatch("suppressed", t("dashboard.banks.suppressed"), PALETTE["grey"]),
    ]
    bars = [Bar(b.bank, b.bank, (b.acted_on, b.suppressed)) for b in banks]
    chart = None
    if total:
        chart = charts.stacked_bars(
            "chart-banks",
            title=heading,
            desc=summary,
            bars=bars,
            legend=legend,
            value_label=t("dashboard.axis.matches"),
        )
    head = [
        t("dashboard.banks.bank"),
        t("dashboard.banks.matches"),
        t("dashboard.banks.suppressed"),
    ]
    rows = [[b.bank, _num(b.matches), _num(b.suppressed)] for b in banks]
    return Panel("banks", heading, summary, chart, t("dashboard.banks.empty"), Table(head, rows))


# -- the tables under the charts --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Facts:
    """A table of figures shown as it is (no chart): removals by ground, appeals, suspensions."""

    id: str
    heading: str
    summary: str
    table: Table


def fact_tables(figures: Figures, t: Text) -> list[Facts]:
    grounds, appeals, held = figures.grounds, figures.appeals, figures.suspensions
    by_ground = Table(
        [
            t("dashboard.grounds.ground"),
            t("dashboard.grounds.category"),
            t("dashboard.grounds.outcome"),
            t("dashboard.table.decisions"),
        ],
        [
            [
                t(f"dashboard.grounds.ground.{g.ground}"),
                _named(t, "grounds.category", g.category),
                t(f"dashboard.grounds.outcome.{g.outcome}"),
                _num(g.decisions),
            ]
            for g in grounds
        ],
    )
    value = t("dashboard.table.value")
    return [
        Facts(
            "grounds",
            t("dashboard.grounds.title"),
            t("dashboard.grounds.summary", total=_num(sum(g.decisions for g in grounds))),
            by_ground,
        ),
        Facts(
            "appeals",
            t("dashboard.appeals.title"),
            t(
                "dashboard.appeals.summary",
                filed=_num(appeals.filed),
                reversed=_num(appeals.reversed),
                decided=_num(appeals.decided),
            ),
            Table(
                [t("dashboard.appeals.figure"), value],
                [
                    [t("dashboard.appeals.filed"), _num(appeals.filed)],
                    [t("dashboard.appeals.upheld"), _num(appeals.upheld)],
                    [t("dashboard.appeals.reversed"), _num(appeals.reversed)],
                    [t("dashboard.appeals.pending"), _num(appeals.pending_at_end)],
                    [t("dashboard.appeals.median"), _hours(appeals.median_hours_to_decide)],
                ],
            ),
        ),
        Facts(
            "suspensions",
            t("dashboard.suspensions.title"),
            t("dashboard.suspensions.summary", imposed=_num(held.imposed)),
            Table(
                [t("dashboard.appeals.figure"), value],
                [
                    [t("dashboard.suspensions.imposed"), _num(held.imposed)],
                    [t("dashboard.suspensions.lifted"), _num(held.lifted)],
                    [t("dashboard.suspensions.active"), _num(held.active_at_end)],
                ],
            ),
        ),
    ]
