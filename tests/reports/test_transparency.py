"""The transparency figures on a known history made through the API (tests/reports/
transparency_seed.py), on SQLite and PostgreSQL: every figure exact, medians and 90th
percentiles worked out by hand; an empty period gives zeros."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from tests.reports.transparency_seed import FIRST_DAY, LAST_DAY, T0, Clock, Seeded, seed

from jikimi.reports.figures import Period
from jikimi.reports.transparency import (
    TransparencyReport,
    p90,
    read_report,
    report_period,
)
from jikimi.web.service import Service

US_RULE_HOURS, KR_RULE_HOURS, DSA_RULE_HOURS = 48.0, 24.0, 72.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def seeded(client: TestClient, tokens: dict[str, str], clock: Clock) -> Seeded:
    return seed(client, tokens, clock)


def _report(service: Service, first: date = FIRST_DAY, last: date = LAST_DAY) -> TransparencyReport:
    with service.ws.sessions() as session:
        return read_report(session, Period.of_dates(first, last))


def test_p90_is_the_nearest_rank() -> None:
    assert p90([]) is None
    assert p90([7.0]) == 7.0
    assert p90([10.0, 30.0]) == 30.0  # ceil(0.9 * 2) = 2nd
    assert p90([float(n) for n in range(1, 11)]) == 9.0  # ceil(9) = 9th
    assert p90([float(n) for n in range(20, 0, -1)]) == 18.0  # order does not matter
    assert p90([1.0, 2.0, 3.0, 4.0, 50.0, 10.0, 30.0]) == 50.0  # ceil(6.3) = 7th


def test_a_period_of_dates_and_the_default() -> None:
    period = report_period(date(2026, 3, 2), date(2026, 3, 5), date(2026, 11, 1))
    assert period.start.isoformat() == "2026-03-02T00:00:00+00:00"
    assert period.end.isoformat() == "2026-03-06T00:00:00+00:00"  # the last day included
    default = report_period(None, None, date(2026, 3, 31))
    assert default.days[0] == date(2026, 3, 2) and default.days[-1] == date(2026, 3, 31)
    with pytest.raises(ValueError, match="after"):
        report_period(date(2026, 3, 5), date(2026, 3, 2), date(2026, 3, 31))


def test_notices_removals_and_automation(service: Service, seeded: Seeded) -> None:
    report = _report(service)
    notices = report.notices
    assert notices.total == 4 and notices.incomplete == 1
    assert notices.counts == {
        ("authority_order", "authority"): 1,
        ("dsa_notice", "public"): 1,
        ("takedown_request", "public"): 2,
    }
    assert notices.by_source == {"public": 3, "platform": 0, "trusted_flagger": 0, "authority": 1}
    assert notices.by_kind["takedown_request"] == 2 and notices.by_kind["user_report"] == 0
    assert notices.orders_by_jurisdiction == {"KR": 1}
    # Three removals on the law; the keep that the appeal reversed is no removal.
    assert [(g.ground, g.category, g.outcome, g.decisions) for g in report.removals] == [
        ("illegal", "adult_ncii", "remove", 3)
    ]
    assert report.automated_removals == 0
    a = report.automation
    assert (a.flagged, a.removed_automatically, a.decisions) == (0, 0, 4)
    assert (a.decisions_on_automated_detection, a.decisions_automated) == (0, 0)


def test_time_to_decision_per_rule(service: Service, seeded: Seeded) -> None:
    everything, *rules = _report(service).clocks
    # 10 h (48 h clock), 30 h (24 h clock: late), 56 h (72 h clock, after the appeal).
    assert everything.rule is None and everything.cases == 3 and everything.met == 2
    assert everything.median_hours == 30.0 and everything.p90_hours == 56.0
    assert everything.share_met == pytest.approx(2 / 3)
    assert [(r.hours_allowed, r.cases, r.met, r.median_hours, r.p90_hours) for r in rules] == [
        (KR_RULE_HOURS, 1, 0, 30.0, 30.0),
        (US_RULE_HOURS, 1, 1, 10.0, 10.0),
        (DSA_RULE_HOURS, 1, 1, 56.0, 56.0),
    ]
    assert all(r.rule for r in rules)  # each names its rule
    report = _report(service)
    assert report.orders_clock.cases == 1 and report.orders_clock.median_hours == 30.0
    assert report.notices_clock.cases == 2 and report.notices_clock.median_hours == 33.0


def test_appeals_suspensions_and_banks(service: Service, seeded: Seeded) -> None:
    report = _report(service)
    appeals = report.appeals
    assert (appeals.filed, appeals.upheld, appeals.reversed, appeals.pending_at_end) == (
        1,
        0,
        1,
        0,
    )
    assert appeals.median_hours_to_decide == 6.0
    held = report.suspensions
    assert (held.imposed, held.lifted, held.active_at_end) == (2, 1, 1)
    # A period that ends before the lifting: both suspensions were in force at its end.
    early = _report(service, FIRST_DAY, date(2026, 3, 4)).suspensions  # ends 5 March 00:00
    assert (early.imposed, early.lifted, early.active_at_end) == (2, 0, 2)
    assert report.banks == ()  # no bank matched these uploads


def test_the_takedown_log(service: Service, seeded: Seeded) -> None:
    done, incomplete = _report(service).takedowns
    assert done.notice_id == seeded.takedown_notice and done.case_id == seeded.takedown_case
    assert done.complete and done.received_at == T0
    assert done.hours_to_removal == 10.0 and done.within_48h is True
    assert done.deadline_at is not None and done.deadline_at.hour == T0.hour
    assert (done.items_removed, done.identical_copies_removed) == (2, 1)
    assert done.notes == ()
    assert incomplete.notice_id == seeded.incomplete_notice
    assert not incomplete.complete and incomplete.missing == ("signature",)
    assert incomplete.case_id is None and incomplete.removed_at is None
    assert incomplete.within_48h is None
    assert incomplete.notes == ("incomplete: missing signature",)


def test_a_period_with_nothing_gives_zeros(service: Service, seeded: Seeded) -> None:
    report = _report(service, date(2025, 1, 1), date(2025, 1, 31))
    assert report.notices.total == 0 and report.notices.counts == {}
    assert report.removals == () and report.takedowns == () and report.banks == ()
    everything, *rules = report.clocks
    assert everything.cases == 0 and everything.median_hours is None and rules == []
    assert everything.share_met is None
    assert report.appeals.filed == 0 and report.appeals.median_hours_to_decide is None
    assert report.suspensions.imposed == 0 and report.suspensions.active_at_end == 0
    assert report.automation.decisions == 0


def test_figures_are_read_in_utc_days(service: Service, seeded: Seeded) -> None:
    """The first day alone: the notices and the first removal, not the later decisions."""
    report = _report(service, FIRST_DAY, FIRST_DAY)
    assert report.notices.total == 4
    assert [g.decisions for g in report.removals] == [1]  # T0+10 h is 2 March 19:00
    assert report.clocks[0].cases == 1
    assert isinstance(report.takedowns[0].received_at, datetime)
