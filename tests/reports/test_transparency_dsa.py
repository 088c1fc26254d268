"""The DSA export in the shape of the harmonised template (Commission Implementing Regulation
(EU) 2024/2835, Annex I), on known rows, on SQLite and PostgreSQL: its sheets in order, its own
labels, the figures by statement category, what Jikimi cannot fill left empty with a note, and
Jikimi's own figures apart.

The rows, from START (4 March 2026 00:00 UTC):

- a trusted flagger's notice: its case removed on the law (adult_ncii) 4 h later;
- a DSA notice: its case removed on the terms (other) at +10 h; appealed at +12 h; restricted
  instead at +20 h by another reviewer (the appeal reversed; the case closes at +20 h);
- a user report that opened no case, and an authority order (DE) that opened none;
- two own-initiative cases (opened by verdicts): one removed on the law (minors), one restricted
  on the terms (other); the removal appealed at +30 h, not decided;
- one removal by a policy verdict, without a person.
"""

from __future__ import annotations

import csv
import io
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from jikimi.reports import statement
from jikimi.reports.dsa_report import ADDITIONAL, DSA_COLUMNS, DSA_SECTIONS, NOT_RECORDED
from jikimi.reports.figures import Period
from jikimi.reports.transparency import (
    DSA_CATEGORIES,
    NOT_SPECIFIED_NOTICE,
    NOT_SPECIFIED_ORDER,
    TransparencyReport,
    read_report,
)
from jikimi.reports.transparency_export import as_csv, as_json
from jikimi.store.models import Appeal, Case, Decision, Item, Notice, VerdictRecord

START = datetime(2026, 3, 4, tzinfo=UTC)
PERIOD = Period.of_dates(START.date(), START.date() + timedelta(days=6))
CYBER, MINORS = "STATEMENT_CATEGORY_CYBER_VIOLENCE", "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
OTHER_TC = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
SHEETS = [
    "report_identification",
    "categories_names",
    "member_states_orders",
    "notices",
    "own_initiative_illegal",
    "own_initiative_TC",
    "appeals_and_recidivism",
    "automated_means",
    "human_resources",
    "AMAR",
    "qualitative",
]
COMPLAINTS = "Number of complaints submitted to the internal-complaints mechanism"
AGAINST_RESTRICTION = (
    "Complaint regarding a decision to remove or disable access to or restrict visibility of "
    "information"
)
TF = "(Trusted Flagger notices)"


def _at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def _case(s: Session, origin: str, closed: float | None = None) -> Case:
    case = Case(
        state="closed" if closed is not None else "new",
        queue="adult_ncii",
        origin=origin,
        created_at=START,
        updated_at=START,
        due_at=_at(72),
        closed_at=None if closed is None else _at(closed),
    )
    s.add(case)
    s.flush()
    return case


def _notice(s: Session, kind: str, case: Case | None, jurisdiction: str = "DE") -> None:
    s.add(
        Notice(
            kind=kind,
            jurisdiction=jurisdiction,
            received_at=START,
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
    )


def _decide(s: Session, case: Case, outcome: str, ground: str, category: str, at: float) -> int:
    decision = Decision(
        case_id=case.id,
        outcome=outcome,
        ground=ground,
        law="A law" if ground == "illegal" else None,
        terms="Rule 1" if ground == "terms" else None,
        category=category,
        reasons="Reasons.",
        automated_detection=case.origin == "verdict",
        automated_decision="not",
        decided_by=f"reviewer-{at}",
        decided_at=_at(at),
        statement=None,
    )
    s.add(decision)
    s.flush()
    return decision.id


def _appeal(s: Session, case: Case, decision: int, filed: float, decided: float | None) -> None:
    s.add(
        Appeal(
            case_id=case.id,
            decision_id=decision,
            filed_by="someone",
            reasons="Not fair.",
            filed_at=_at(filed),
            outcome="reversed" if decided is not None else None,
            decided_by="another-reviewer" if decided is not None else None,
            decided_at=None if decided is None else _at(decided),
        )
    )


def _automated_removal(s: Session) -> None:
    item = Item(platform="telegram", meta={}, submitted_by="platform", received_at=START)
    s.add(item)
    s.flush()
    s.add(
        VerdictRecord(
            item_id=item.id,
            outcome="remove",
            queue=None,
            priority=0,
            automated=True,
            suspected_minor=False,
            actions=[],
            reasons=[],
            policy_version="test",
            created_at=START,
        )
    )


def _build(sessions: sessionmaker[Session]) -> TransparencyReport:
    with sessions() as s:
        flagged = _case(s, "trusted_flagger", closed=4)
        _notice(s, "trusted_flagger", flagged)
        _decide(s, flagged, "remove", "illegal", "adult_ncii", 4)
        dsa = _case(s, "dsa_notice", closed=20)
        _notice(s, "dsa_notice", dsa)
        removal = _decide(s, dsa, "remove", "terms", "other", 10)
        _appeal(s, dsa, removal, filed=12, decided=20)
        _decide(s, dsa, "restrict", "terms", "other", 20)
        _notice(s, "user_report", None)
        _notice(s, "authority_order", None)
        _notice(s, "authority_order", None, jurisdiction="KR")  # KCSC: not a Member State
        minors = _case(s, "verdict", closed=2)
        own = _decide(s, minors, "remove", "illegal", "minors", 2)
        _appeal(s, minors, own, filed=30, decided=None)
        other = _case(s, "verdict", closed=3)
        _decide(s, other, "restrict", "terms", "other", 3)
        _automated_removal(s)
        s.commit()
    with sessions() as s:
        return read_report(s, PERIOD)


def _sheets(report: TransparencyReport) -> dict[str, list[dict[str, Any]]]:
    data = as_json(report, "dsa")
    assert set(data) == {"shape", "template", "period", "sections"}
    assert "2024/2835" in data["template"] and "Annex I" in data["template"]
    assert [s["section"] for s in data["sections"]] == [*SHEETS, ADDITIONAL]
    out = {}
    for section in data["sections"]:
        assert section["title"] == DSA_SECTIONS[section["section"]] and section["fields"]
        for row in section["fields"]:
            assert set(row) == {"field", "category", "scope", "value", "note"}
            if row["value"] is None:  # what is empty says why
                assert row["note"], row
        out[section["section"]] = section["fields"]
    return out


def _value(
    rows: list[dict[str, Any]], field: str, category: str | None = None, scope: str | None = None
) -> Any:
    found = [r for r in rows if (r["field"], r["category"], r["scope"]) == (field, category, scope)]
    assert len(found) == 1, (field, category, scope, found)
    return found[0]["value"]


def test_the_categories_are_those_of_the_statements_of_reasons() -> None:
    # The template counts by the category our statements of reasons carry.
    assert {k: v[0] for k, v in statement._CATEGORY.items()} == DSA_CATEGORIES


def test_the_sheets_in_the_templates_order_with_its_labels(
    sessions: sessionmaker[Session],
) -> None:
    sheets = _sheets(_build(sessions))
    ident = sheets["report_identification"]
    assert _value(ident, "Starting date of reporting period") == "2026-03-04"
    assert _value(ident, "Ending date of reporting period") == "2026-03-10"
    assert _value(ident, "Name of the service provider") is None
    names = sheets["categories_names"]
    assert _value(names, "Category label", CYBER) == "adult_ncii"
    assert _value(names, "Category description", MINORS) == "Protection of minors"
    labels = {r["field"] for rows in sheets.values() for r in rows}
    assert {
        "Number of notices received",
        "Number of notices received from Trusted flaggers",
        "Median time to take action (hours)",
        "Number of actions taken on the basis of the law",
        "Number of actions taken on the basis of the terms and conditions of the service",
        "Number of orders to act against illegal content received",
        "Number of measures taken at the provider's own initiative",
        "Visibility restriction Removal",
        COMPLAINTS,
        "Number of disputes submitted to out-of-court dispute settlement bodies",
        "Number of measures solely taken by automated means",
        "Number of internal moderators employed by the provider",
        "Number of average monthly active recipients during the reporting period",
        "Qualitative description of the automated means",
    } <= labels
    scopes = {r["scope"] for r in sheets["appeals_and_recidivism"]}
    assert {"Decisions upheld", "Decisions partially reversed", "Decisions reversed"} <= scopes
    # Every median says its unit; no template field holds a Jikimi-only figure.
    assert all(
        "(hours)" in f"{r['field']} {r['scope']}"
        for rows in sheets.values()
        for r in rows
        if "Median time" in f"{r['field']} {r['scope']}"
    )
    template = [r["field"] for s in SHEETS for r in sheets[s]]
    assert not {"p90_hours_to_decision", "share_decided_in_time", "suspensions_lifted"} & set(
        template
    )


def test_notices_by_category_and_trusted_flaggers(sessions: sessionmaker[Session]) -> None:
    notices = _sheets(_build(sessions))["notices"]
    assert [r["category"] for r in notices if r["field"] == "Number of notices received"] == [
        "TOTAL",
        CYBER,
        OTHER_TC,
        NOT_SPECIFIED_NOTICE,
    ]
    received, flagged = (
        "Number of notices received",
        "Number of notices received from Trusted flaggers",
    )
    assert [_value(notices, received, c) for c in ("TOTAL", CYBER, OTHER_TC)] == [3, 1, 1]
    assert _value(notices, received, NOT_SPECIFIED_NOTICE) == 1  # the user report, no case
    assert (_value(notices, flagged, "TOTAL"), _value(notices, flagged, CYBER)) == (1, 1)
    assert _value(notices, flagged, OTHER_TC) == 0
    median = "Median time to take action (hours)"
    assert _value(notices, median, "TOTAL") == 12.0  # 4 and 20 hours
    assert (_value(notices, median, CYBER), _value(notices, median, OTHER_TC)) == (4.0, 20.0)
    assert _value(notices, f"Median time to take action {TF} (hours)", "TOTAL") == 4.0
    assert _value(notices, f"Median time to take action {TF} (hours)", OTHER_TC) is None
    law = "Number of actions taken on the basis of the law"
    terms = "Number of actions taken on the basis of the terms and conditions of the service"
    assert (_value(notices, law, "TOTAL"), _value(notices, f"{law} {TF}", "TOTAL")) == (1, 1)
    assert _value(notices, terms, OTHER_TC) == 2  # the removal and the restriction on appeal
    assert _value(notices, f"{terms} {TF}", OTHER_TC) == 0
    items = "Number of specific items of information included in the total number of notices"
    assert _value(notices, items, "TOTAL") is None


def test_orders_own_initiative_and_automated_means(sessions: sessionmaker[Session]) -> None:
    sheets = _sheets(_build(sessions))
    orders = sheets["member_states_orders"]
    received = "Number of orders to act against illegal content received"
    assert _value(orders, received, "TOTAL", "TOTAL") == 1
    assert _value(orders, received, "TOTAL", "DE") == 1
    assert _value(orders, received, NOT_SPECIFIED_ORDER, "TOTAL") == 1
    assert not [r for r in orders if r["scope"] == "KR"]
    additional = sheets["jikimi_additional"]
    assert _value(additional, "orders_from_authorities_outside_the_eu", None, "KR") == 1
    assert _value(orders, "Number of orders to provide information", "TOTAL", "TOTAL") is None
    illegal, terms = sheets["own_initiative_illegal"], sheets["own_initiative_TC"]
    measures = "Number of measures taken at the provider's own initiative"
    assert (_value(illegal, measures, "TOTAL"), _value(illegal, measures, MINORS)) == (1, 1)
    assert _value(illegal, "Visibility restriction Removal", MINORS) == 1
    assert _value(illegal, "Visibility restriction Disable", MINORS) == 0
    assert _value(terms, "Visibility restriction Disable", OTHER_TC) == 1
    assert _value(terms, "Account restriction Suspension", "TOTAL") is None
    auto = sheets["automated_means"]
    solely, people = (
        "Number of measures solely taken by automated means",
        "Number of measures not taken by automated means",
    )
    assert _value(auto, solely, scope="Total number") == 1
    assert _value(auto, people, scope="Total number") == 5
    assert _value(auto, people, scope="Own-initiative") == 2
    notices = "Number of notices not processed by automated means"
    assert _value(auto, notices, scope="NAM Total") == 3
    assert _value(auto, notices, scope="NAM Trusted Flagger") == 1


def test_appeals_disputes_and_suspensions(sessions: sessionmaker[Session]) -> None:
    rows = _sheets(_build(sessions))["appeals_and_recidivism"]
    assert _value(rows, COMPLAINTS, scope="Total number") == 2
    assert _value(rows, COMPLAINTS, scope="Decisions reversed") == 1
    assert _value(rows, COMPLAINTS, scope="Decisions upheld") == 0
    assert _value(rows, COMPLAINTS, scope="Median time (hours)") == 8.0
    # Jikimi has no such outcomes: 0, saying so, never a guess.
    partial = next(
        r for r in rows if (r["field"], r["scope"]) == (COMPLAINTS, "Decisions partially reversed")
    )
    assert partial["value"] == 0 and "no partial reversal" in partial["note"]
    assert _value(rows, COMPLAINTS, scope="Decision omitted") == 0
    newly = "Number of restrictions newly imposed as a result of an internal complaint"
    assert _value(rows, newly, scope="Total number") == 0  # remove to restrict: not new
    assert _value(rows, AGAINST_RESTRICTION, scope="Total number") == 2
    assert _value(rows, AGAINST_RESTRICTION, scope="Decisions reversed") == 1
    disputes = "Number of disputes submitted to out-of-court dispute settlement bodies"
    assert _value(rows, disputes, scope="Total number") is None
    unfounded = "Number of suspensions enacted for the provision of manifestly unfounded notices"
    assert _value(rows, unfounded, scope="Total number") == 0


def test_what_jikimi_cannot_fill_is_empty_with_a_note(sessions: sessionmaker[Session]) -> None:
    sheets = _sheets(_build(sessions))
    for sheet in ("human_resources", "AMAR", "qualitative"):
        assert sheets[sheet]
        assert all(r["value"] is None for r in sheets[sheet]), sheet
        assert all(r["note"].startswith(NOT_RECORDED) for r in sheets[sheet]), sheet
    assert NOT_RECORDED == "not recorded by Jikimi: fill in"


def test_jikimis_own_figures_apart(sessions: sessionmaker[Session]) -> None:
    extra = _sheets(_build(sessions))[ADDITIONAL]
    assert _value(extra, "p90_hours_to_decision", scope="all") == 20.0  # 2, 3, 4, 20 hours
    assert _value(extra, "share_decided_in_time", scope="all") == 1.0
    assert _value(extra, "appeals_pending_at_end") == 1
    assert _value(extra, "suspensions_lifted") == 0


def test_the_csv_is_flat(sessions: sessionmaker[Session]) -> None:
    report = _build(sessions)
    reader = csv.DictReader(io.StringIO(as_csv(report, "dsa")))
    assert tuple(reader.fieldnames or ()) == DSA_COLUMNS
    assert DSA_COLUMNS == ("section", "field", "category", "scope", "value", "note")
    rows = list(reader)
    assert len(rows) == sum(len(s) for s in _sheets(report).values())
    got = {(r["section"], r["field"], r["category"], r["scope"]): r for r in rows}
    row = got[("notices", "Number of notices received", CYBER, "")]
    assert row["value"] == "1"
    row = got[
        (
            "human_resources",
            "Number of internal moderators employed by the provider",
            "",
            "Total number",
        )
    ]
    assert row["value"] == "" and row["note"].startswith(NOT_RECORDED)


def test_an_empty_period(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        report = read_report(s, PERIOD)
    sheets = _sheets(report)
    notices = sheets["notices"]
    assert [r["category"] for r in notices if r["field"] == "Number of notices received"] == [
        "TOTAL"
    ]
    assert _value(notices, "Number of notices received", "TOTAL") == 0
    assert _value(notices, "Median time to take action (hours)", "TOTAL") is None
