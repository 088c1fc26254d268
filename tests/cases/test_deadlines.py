"""Deadline profiles: the shipped clocks, UTC across DST, order deadlines, overrides, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from jikimi.cases.deadlines import load_profiles, overdue, parse_profiles, time_left
from jikimi.errors import DeadlineProfileError

NEW_YORK = ZoneInfo("America/New_York")  # DST starts 2026-03-08 02:00 local
BERLIN = ZoneInfo("Europe/Berlin")  # DST starts 2026-03-29 02:00 local
# Received the day before the local clocks spring forward.
BEFORE_DST = {
    NEW_YORK: datetime(2026, 3, 7, 12, 0, tzinfo=NEW_YORK),
    BERLIN: datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN),
}


@pytest.fixture(scope="module")
def profiles():  # type: ignore[no-untyped-def]
    return load_profiles()


SHIPPED = [
    # jurisdiction, kind, zone, profile, hours, without_delay, notify days, priority
    ("US", "takedown_request", NEW_YORK, "US/takedown_request", 48, False, None, 80),
    ("KR", "authority_order", NEW_YORK, "KR/authority_order", 24, False, None, 90),
    ("KR", "takedown_request", BERLIN, "KR/takedown_request", 24, True, 14, 80),
    ("KR", "user_report", BERLIN, "KR/user_report", 24, True, 14, 70),
    ("DE", "dsa_notice", BERLIN, "EU/other", 72, False, None, 50),
    ("EU", "user_report", BERLIN, "EU/other", 72, False, None, 50),
    ("FR", "trusted_flagger", BERLIN, "EU/trusted_flagger", 24, False, None, 80),
    ("IT", "authority_order", BERLIN, "EU/authority_order", 24, True, None, 90),
    ("GB", "takedown_request", BERLIN, "GB/other", 48, False, None, 70),
    ("uk", "user_report", NEW_YORK, "GB/other", 48, False, None, 70),
    ("BR", "takedown_request", NEW_YORK, "default/other", 72, False, None, 50),
    (None, "user_report", NEW_YORK, "default/other", 72, False, None, 50),
    ("US", "dsa_notice", NEW_YORK, "default/other", 72, False, None, 50),
    ("KR", "dsa_notice", NEW_YORK, "default/other", 72, False, None, 50),
]


@pytest.mark.parametrize(
    ("jurisdiction", "kind", "zone", "name", "hours", "without_delay", "notify", "priority"),
    SHIPPED,
)
def test_shipped_profiles_in_utc_across_dst(
    profiles,  # type: ignore[no-untyped-def]
    jurisdiction: str | None,
    kind: str,
    zone: ZoneInfo,
    name: str,
    hours: int,
    without_delay: bool,
    notify: int | None,
    priority: int,
) -> None:
    received = BEFORE_DST[zone]
    deadline = profiles.deadline(jurisdiction=jurisdiction, kind=kind, received_at=received)
    assert deadline.profile == name
    assert deadline.due_at.tzinfo is UTC
    assert deadline.due_at - received == timedelta(hours=hours)  # real elapsed hours
    # 12:00 local the day before DST: the local wall clock reads 13:00 at the deadline
    assert deadline.due_at.astimezone(zone).hour == 13
    assert deadline.due_at == received.astimezone(UTC) + timedelta(hours=hours)
    assert deadline.without_delay is without_delay
    assert deadline.priority == priority
    assert deadline.rule
    if notify is None:
        assert deadline.notify_by is None
    else:
        assert deadline.notify_by == received.astimezone(UTC) + timedelta(days=notify)


def test_us_rule_text(profiles) -> None:  # type: ignore[no-untyped-def]
    d = profiles.deadline(
        jurisdiction="US", kind="takedown_request", received_at=BEFORE_DST[NEW_YORK]
    )
    assert d.rule.startswith("US TAKE IT DOWN Act") and "48 hours" in d.rule


def test_trusted_flagger_outranks_ordinary_eu_notices(profiles) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2026, 1, 1, tzinfo=UTC)
    tf = profiles.deadline(jurisdiction="DE", kind="trusted_flagger", received_at=at)
    dsa = profiles.deadline(jurisdiction="DE", kind="dsa_notice", received_at=at)
    assert tf.priority > dsa.priority and tf.due_at < dsa.due_at


def test_earlier_order_deadline_wins(profiles) -> None:  # type: ignore[no-untyped-def]
    received = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    ordered = datetime(
        2026, 3, 7, 18, 0, tzinfo=ZoneInfo("Asia/Seoul")
    )  # 09:00 UTC next... no: same day
    d = profiles.deadline(
        jurisdiction="KR",
        kind="authority_order",
        received_at=received,
        ordered_by=ordered + timedelta(hours=6),
    )
    assert d.due_at == datetime(2026, 3, 7, 15, 0, tzinfo=UTC)
    assert d.profile == "KR/authority_order" and "order's own deadline" in d.rule


def test_later_order_deadline_does_not_extend(profiles) -> None:  # type: ignore[no-untyped-def]
    received = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    d = profiles.deadline(
        jurisdiction="KR",
        kind="authority_order",
        received_at=received,
        ordered_by=received + timedelta(days=3),
    )
    assert d.due_at == received + timedelta(hours=24)
    assert d.rule == "Korea KCSC order: 24 hours from receipt"


def test_time_left_and_overdue(profiles) -> None:  # type: ignore[no-untyped-def]
    received = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    d = profiles.deadline(jurisdiction="US", kind="takedown_request", received_at=received)
    now = received + timedelta(hours=47)
    assert time_left(d, now) == timedelta(hours=1)
    assert not overdue(d, now)
    assert not overdue(d, d.due_at)
    later = (received + timedelta(hours=49)).astimezone(NEW_YORK)
    assert time_left(d, later) == timedelta(hours=-1)
    assert overdue(d, later)


def test_naive_times_are_refused(profiles) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="time-zone aware"):
        profiles.deadline(jurisdiction="US", kind="user_report", received_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="unknown notice kind"):
        profiles.deadline(jurisdiction="US", kind="complaint", received_at=datetime.now(UTC))


OVERRIDE = """\
version: ops-1
default:
  other: {due_within: 36h, rule: "Our own target: 36 hours"}
jurisdictions:
  EU:
    other: {due_within: 24h, rule: "EU: our 24-hour target", priority: 60}
  BR:
    name: Brazil
    takedown_request: {due_within: 2d, rule: "Brazil: 2 days", notify_within: 5d}
"""


def test_operator_file_overrides_entry_by_entry(tmp_path: Path) -> None:
    path = tmp_path / "deadlines.yaml"
    path.write_text(OVERRIDE)
    profiles = load_profiles(path)
    at = datetime(2026, 6, 1, tzinfo=UTC)
    eu = profiles.deadline(jurisdiction="NL", kind="dsa_notice", received_at=at)
    assert (eu.profile, eu.due_at, eu.priority) == ("EU/other", at + timedelta(hours=24), 60)
    # entries the file does not name keep the shipped values
    tf = profiles.deadline(jurisdiction="NL", kind="trusted_flagger", received_at=at)
    assert tf.profile == "EU/trusted_flagger" and tf.priority == 80
    us = profiles.deadline(jurisdiction="US", kind="takedown_request", received_at=at)
    assert us.due_at == at + timedelta(hours=48)
    br = profiles.deadline(jurisdiction="BR", kind="takedown_request", received_at=at)
    assert br.due_at == at + timedelta(days=2) and br.notify_by == at + timedelta(days=5)
    other = profiles.deadline(jurisdiction="JP", kind="user_report", received_at=at)
    assert other.due_at == at + timedelta(hours=36)
    assert profiles.sources[-1] == str(path)


US = "version: x\njurisdictions:\n  US:\n"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            US + "    takedown_request: {due_within: 48h, rule: r, colour: red}\n",
            4,
            "unknown key 'colour'",
        ),
        (
            US + "    complaint: {due_within: 48h, rule: r}\n",
            4,
            "unknown key 'complaint'",
        ),
        ("version: x\nsurprise: 1\n", 2, "unknown key 'surprise'"),
        (
            US + "    other:\n      due_within: 48 hours\n      rule: r\n",
            5,
            "like 48h",
        ),
        (
            US + "    other:\n      due_within: 0h\n      rule: r\n",
            5,
            "more than 0",
        ),
        (
            US + "    other:\n      due_within: 400d\n      rule: r\n",
            5,
            "at most 366d",
        ),
        (
            US + "    other:\n      due_within: 1h\n",
            5,
            "lacks required key 'rule'",
        ),
        (
            US + "    other:\n      due_within: 1h\n      rule: r\n      priority: 101\n",
            7,
            "from 0 to 100",
        ),
        (
            US + "    other:\n      due_within: 1h\n      rule: r\n      without_delay: maybe\n",
            7,
            "true or false",
        ),
        (
            "version: x\njurisdictions:\n  usa:\n    other: {due_within: 1h, rule: r}\n",
            3,
            "not an ISO 3166",
        ),
        ("version: x\njurisdictions:\n  EU:\n    members: [DE, Germany]\n", 4, "'Germany'"),
        ("version: x\njurisdictions: [\n", 3, "not valid YAML"),
        ("jurisdictions: {}\n", 1, "lacks required key 'version'"),
    ],
)
def test_loader_errors_name_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(DeadlineProfileError) as info:
        load_profiles(path)
    assert (info.value.path, info.value.line) == (str(path), line), str(info.value)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert message in str(info.value)


def test_a_standalone_file_needs_a_default() -> None:
    with pytest.raises(DeadlineProfileError, match="'other' entry"):
        parse_profiles("version: x\n", "own.yaml")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(DeadlineProfileError, match="cannot read"):
        load_profiles(tmp_path / "absent.yaml")
