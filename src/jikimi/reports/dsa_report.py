"""The DSA transparency report (Regulation (EU) 2022/2065 Art. 15(1), 24(1) and 42) in the
harmonised template of Commission Implementing Regulation (EU) 2024/2835, Annex I: the ``dsa``
shape of :mod:`jikimi.reports.transparency_export` (``docs/transparency.md``).

The template's eleven sheets in order, each a list of ``{"field", "category", "scope", "value",
"note"}`` whose ``field`` and ``scope`` are the template's own labels, broken down by the DSA
statement categories (``category``, ``TOTAL`` first). The labels are those of the workbooks
providers publish in it (as extracted by github.com/krMaynard/dsa-transparency-data,
``harmonised-reports/extracted/*/NN_<sheet>.csv``). A field our records cannot fill is present,
empty, with a ``note`` beginning :data:`NOT_RECORDED`. Jikimi's own figures the template does
not ask for follow in a last section, :data:`ADDITIONAL`.

Pure: a :class:`~jikimi.reports.transparency.TransparencyReport` in, dicts out. Hours are
rounded to 0.01 and shares to 0.0001 (:func:`rounded_hours`, :func:`rounded_share`, which the
other shapes use too).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from typing import Any

from jikimi.reports import dsa_vocab as v
from jikimi.reports import transparency as t

__all__ = [
    "ADDITIONAL",
    "DSA_COLUMNS",
    "DSA_SECTIONS",
    "DSA_TEMPLATE",
    "NOT_RECORDED",
    "Value",
    "dsa_sections",
    "period_bounds",
    "rounded_hours",
    "rounded_share",
]

DSA_COLUMNS = ("section", "field", "category", "scope", "value", "note")
DSA_TEMPLATE = (
    "Commission Implementing Regulation (EU) 2024/2835, Annex I (harmonised transparency "
    "report template); Regulation (EU) 2022/2065 (DSA) Art. 15(1), 24(1) and 42"
)
NOT_RECORDED = "not recorded by Jikimi: fill in"
ADDITIONAL = "jikimi_additional"
# The template's sheets (section names as in the published workbooks) and headings.
DSA_SECTIONS = {
    "report_identification": "Report identification",
    "categories_names": "Categories names",
    "member_states_orders": "Article 15(1)(a). Member State orders",
    "notices": "Article 15(1)(b). Notices submitted in accordance with Article 16",
    "own_initiative_illegal": "Article 15(1)(c). Own-initiative content moderation: illegal "
    "content (on the basis of the law)",
    "own_initiative_TC": "Article 15(1)(c). Own-initiative content moderation: incompatibility "
    "with the terms and conditions",
    "appeals_and_recidivism": "Articles 15(1)(d), 24(1)(a) and 24(1)(b). Internal complaints "
    "mechanism, out-of-court dispute settlement bodies and suspensions imposed on repeated "
    "offenders",
    "automated_means": "Article 15(1)(b)(c)(e) and Article 42(2)(c). Use of automated means for "
    "content moderation and indicators of accuracy",
    "human_resources": "Articles 42(2)(a) and 42(2)(b). Human resources dedicated to content "
    "moderation",
    "AMAR": "Article 42(3). Average monthly active recipients",
    "qualitative": "Qualitative information",
    ADDITIONAL: "Jikimi's figures the template does not ask for",
}
TOTAL = "TOTAL"
OUTSIDE_EU = "not a Member State order (Art. 9): e.g. KCSC; left out of member_states_orders"
HOURS = " (hours)"  # the template asks for median times without a unit; ours are hours
NOT_SPECIFIED = "STATEMENT_CATEGORY_NOT_SPECIFIED"
CATEGORY_DESCRIPTIONS = {  # the template's names for the categories Jikimi's decisions use
    v.CATEGORY_CYBER_VIOLENCE: "Cyber violence",
    v.CATEGORY_PROTECTION_OF_MINORS: "Protection of minors",
    v.CATEGORY_OTHER_VIOLATION_TC: "Other violation of provider's terms and conditions",
    t.NOT_SPECIFIED_NOTICE: "Notices whose case has no ruling yet (incomplete, sender "
    "suspended, or not decided)",
    t.NOT_SPECIFIED_ORDER: "Orders whose case has no ruling yet",
}
FLAGGER = "trusted_flagger"  # the notice kind trusted flaggers send (DSA Art. 22)
OWN_INITIATIVE = "verdict"  # the origin of a case an automated verdict opened
TF_NOTICES = "Trusted Flagger notices"
TERMS = "the terms and conditions of the service"
ITEMS_IN_NOTICES = "Number of specific items of information included in the total number of notices"
OWN_MEASURES = "Number of measures taken at the provider's own initiative"
OTHER_RESTRICTIONS = (
    "Visibility restriction Demoted",
    "Visibility restriction Age restricted",
    "Visibility restriction Interaction restricted",
    "Visibility restriction Labelled",
    "Visibility restriction Other",
    "Monetary restriction Suspension",
    "Monetary restriction Termination",
    "Monetary restriction Other",
    "Provision of the service Suspension",
    "Provision of the service Termination",
    "Account restriction Suspension",
    "Account restriction Termination",
)
COMPLAINTS = "Number of complaints submitted to the internal-complaints mechanism"
AGAINST_RESTRICTION = (
    "Complaint regarding a decision to remove or disable access to or restrict visibility of "
    "information"
)
AGAINST_NO_ACTION = (
    "Complaint regarding a decision not to take action on a notice submitted in accordance "
    "with Article 16"
)
AGAINST_NO_ACTION_TF = (
    "Complaint regarding a decision not to take action on a notice submitted by a Trusted "
    "Flagger in accordance with Article 16"
)
NOT_OUR_DECISIONS = (
    "Complaint regarding a decision to suspend or terminate the provision of the service",
    "Complaint regarding a decision to suspend or terminate an account",
    "Complaint regarding a decision to restrict the ability to monetise information",
)
DISPUTES = "Number of disputes submitted to out-of-court dispute settlement bodies"
DISPUTE_SCOPES = (
    "Total number",
    "Decisions upheld",
    "Decisions partially reversed",
    "Decisions reversed",
    "Median time" + HOURS,
    "Decision omitted",
    "Percentage of outcomes implemented",
)
ACCURACY = "Accuracy of the automated means"
ACCURACIES = ("Accuracy", "Precision", "Recall")
HUMAN_RESOURCES = (
    "Number of internal moderators employed by the provider",
    "Number of external moderators contracted by the provider",
    "Number of total moderators with sufficient linguistic expertise",
)
QUALITATIVE = (
    "Summary of the content moderation engaged in at the providers' own initiative",
    "Meaningful and comprehensible information regarding content moderation engaged in at "
    "the providers' own initiative",
    "Qualitative description of the automated means",
    "Qualitative description of indicators of accuracy and possible rate of error of "
    "automated means",
    "Specification of the precise purposes to apply automated means",
    "Safeguards applied to the use of automated means",
    "High-level description of the content moderation governance structure",
    "Qualifications of the human resources dedicated to content moderation",
    "Training given to human resources dedicated to content moderation",
    "Support given to human resources dedicated to content moderation",
    "Methodology used to compute the number of human resources dedicated to content moderation",
)
NO_CASES = "no case of this kind closed in the period"
NO_APPEALS = "no appeal of this kind decided in the period"
NO_PARTIAL = (
    "Jikimi records no partial reversal: an appeal is upheld or reversed, and any other "
    "outcome (remove to restrict included) counts as reversed"
)
NO_OMISSION = "Jikimi has no outcome for an appeal closed without a decision"
NO_ACCURACY = "Jikimi does not measure it; reversals on appeal are in appeals_and_recidivism"

Value = int | float | str | None
Field = dict[str, Value]


def rounded_hours(hours: float | None) -> float | None:
    return None if hours is None else round(hours, 2)


def rounded_share(share: float | None) -> float | None:
    return None if share is None else round(share, 4)


def period_bounds(report: t.TransparencyReport) -> dict[str, str]:
    """The report's first and last UTC days, both included."""
    days = report.period.days
    return {"start": days[0].isoformat(), "end": days[-1].isoformat()}


def _f(field: str, value: Value, category: str = "", scope: str = "", note: str = "") -> Field:
    return {
        "field": field,
        "category": category or None,
        "scope": scope or None,
        "value": value,
        "note": note or None,
    }


def _blank(field: str, category: str = "", scope: str = "", why: str = "") -> Field:
    """A field our records cannot fill: empty, for the provider to fill in."""
    return _f(field, None, category, scope, f"{NOT_RECORDED} ({why})" if why else NOT_RECORDED)


def _timed(
    field: str, hours: float | None, category: str = "", scope: str = "", none: str = NO_CASES
) -> Field:
    """A median in hours; empty, saying why (``none``), when there was nothing to time."""
    return _f(field, rounded_hours(hours), category, scope, "" if hours is not None else none)


def _categories(found: Iterable[str]) -> list[str]:
    """TOTAL first, then the categories, the not-specified rows last."""
    rest = sorted(set(found) - {TOTAL}, key=lambda c: (c.startswith(NOT_SPECIFIED), c))
    return [TOTAL, *rest]


def _identification(report: t.TransparencyReport) -> list[Field]:
    period = period_bounds(report)
    return [
        _blank("Name of the service provider"),
        _blank("Date of the publication of the report"),
        _blank("Date of the publication of the latest previous report"),
        _f("Starting date of reporting period", period["start"], note="UTC day, included"),
        _f("Ending date of reporting period", period["end"], note="UTC day, included"),
    ]


def _category_names() -> list[Field]:
    rows = []
    for ours, category in t.DSA_CATEGORIES.items():
        rows += [
            _f("Category label", ours, category, note="Jikimi's decision category"),
            _f("Category description", CATEGORY_DESCRIPTIONS[category], category),
        ]
    for category in (t.NOT_SPECIFIED_NOTICE, t.NOT_SPECIFIED_ORDER):
        rows.append(_f("Category description", CATEGORY_DESCRIPTIONS[category], category))
    return rows


def _orders(report: t.TransparencyReport) -> list[Field]:
    # Member State orders only: another authority's (KCSC's, a US court's) are in
    # jikimi_additional.
    by_state: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    for (kind, state, category), count in report.notice_categories.items():
        if kind == t.ORDER and state in v.EU_COUNTRIES:
            by_state[state] += count
            by_category[category] += count
    times = [x for x in report.action_times if x.jurisdiction in v.EU_COUNTRIES]
    received = "Number of orders to act against illegal content received"
    rows = [_f(received, by_state.total(), TOTAL, TOTAL)]
    rows += [_f(received, n, TOTAL, s, "jurisdiction as recorded") for s, n in by_state.items()]
    rows += [_f(received, n, c, TOTAL) for c, n in sorted(by_category.items())]
    rows += [
        _blank(
            "Number of specific items of information included in the total number of orders "
            "to act against illegal content",
            TOTAL,
            TOTAL,
            "orders are counted, not the items they name",
        ),
        _blank(
            "Median time to inform the authority of the receipt of the order to act against "
            "illegal content" + HOURS,
            TOTAL,
            TOTAL,
            "receipts go out through the outbox; their delivery time is not reported",
        ),
    ]
    effect = "Median time to give effect to the order to act against illegal content" + HOURS
    for category in _categories(by_category):
        hours = t.median_hours(times, [t.ORDER], None if category == TOTAL else category)
        rows.append(_timed(effect, hours, category, TOTAL))
    why = "orders to provide information (Art. 10) are not recorded"
    rows += [
        _blank("Number of orders to provide information", TOTAL, TOTAL, why),
        _blank(
            "Median time to inform the authority of the receipt of the order to provide "
            "information" + HOURS,
            TOTAL,
            TOTAL,
            why,
        ),
        _blank(
            "Median time to give effect to the order to provide information" + HOURS,
            TOTAL,
            TOTAL,
            why,
        ),
    ]
    return rows


def _notices(report: t.TransparencyReport) -> list[Field]:
    # Keyed (only trusted flaggers', category): a trusted flagger's notice counts in both.
    received: Counter[tuple[bool, str]] = Counter()
    for (kind, _, category), count in report.notice_categories.items():
        if kind in t.ART16_KINDS:
            for flagged in {False, kind == FLAGGER}:
                received[(flagged, category)] += count
                received[(flagged, TOTAL)] += count
    acts: Counter[tuple[str, bool, str]] = Counter()  # (ground, trusted flagger, category)
    for m in report.measures:
        if m.origin in t.ART16_KINDS:
            for flagged in {False, m.origin == FLAGGER}:
                acts[(m.ground, flagged, m.category)] += m.decisions
                acts[(m.ground, flagged, TOTAL)] += m.decisions
    timed = {a.category for a in report.action_times if a.origin in t.ART16_KINDS}
    rows = []
    for c in _categories({k[1] for k in received} | {k[2] for k in acts} | timed):
        only = None if c == TOTAL else c
        note = "" if c == TOTAL else "by the last ruling on the notice's case"
        rows += [
            _f("Number of notices received", received[(False, c)], c, note=note),
            _f("Number of notices received from Trusted flaggers", received[(True, c)], c),
        ]
        if c == TOTAL:
            why = "notices are counted, not the items they name"
            rows += [
                _blank(ITEMS_IN_NOTICES, c, why=why),
                _blank(f"{ITEMS_IN_NOTICES} by Trusted Flaggers ({TF_NOTICES})", c, why=why),
            ]
        rows += [
            _timed(
                "Median time to take action" + HOURS,
                t.median_hours(report.action_times, t.ART16_KINDS, only),
                c,
            ),
            _timed(
                f"Median time to take action ({TF_NOTICES})" + HOURS,
                t.median_hours(report.action_times, [FLAGGER], only),
                c,
            ),
        ]
        for ground, basis in (("illegal", "the law"), ("terms", TERMS)):
            label = f"Number of actions taken on the basis of {basis}"
            rows += [
                _f(label, acts[(ground, False, c)], c),
                _f(f"{label} ({TF_NOTICES})", acts[(ground, True, c)], c),
            ]
    return rows


def _own_initiative(report: t.TransparencyReport, ground: str) -> list[Field]:
    taken: Counter[tuple[str, str]] = Counter()  # (category, outcome) -> measures
    for m in report.measures:
        if m.origin == OWN_INITIATIVE and m.ground == ground:
            taken[(m.category, m.outcome)] += m.decisions
            taken[(TOTAL, m.outcome)] += m.decisions
    automated = (
        f"reviewers' decisions; the {report.automation.removed_automatically} removals made "
        "without a person carry no ground: see automated_means"
    )
    rows = []
    for c in _categories(c for c, _ in taken):
        removed, disabled = taken[(c, "remove")], taken[(c, "restrict")]
        rows += [
            _f(OWN_MEASURES, removed + disabled, c, note=automated if c == TOTAL else ""),
            _f(
                "Number of measures taken after detection with solely automated means",
                removed + disabled,
                c,
                note="an automated verdict opens every own-initiative case" if c == TOTAL else "",
            ),
            _f("Visibility restriction Removal", removed, c),
            _f("Visibility restriction Disable", disabled, c),
        ]
    why = "Jikimi's measures are removal and disabling; the platform's others are not recorded"
    return rows + [_blank(label, TOTAL, why=why) for label in OTHER_RESTRICTIONS]


def _complaint_kind(record: t.AppealRecord) -> str | None:
    if record.appealed in t.RESTRICTING:
        return AGAINST_RESTRICTION
    if record.origin == FLAGGER:
        return AGAINST_NO_ACTION_TF
    if record.origin in t.ART16_KINDS:
        return AGAINST_NO_ACTION
    return None  # a keep on an order's or own-initiative case: in the totals only


def _outcomes(indicator: str, records: list[t.AppealRecord]) -> list[Field]:
    hours = [r.hours_to_decide for r in records if r.hours_to_decide is not None]
    return [
        _f(indicator, sum(r.filed for r in records), scope="Total number"),
        _f(indicator, sum(r.outcome == "upheld" for r in records), scope="Decisions upheld"),
        _f(indicator, 0, scope="Decisions partially reversed", note=NO_PARTIAL),
        _f(indicator, sum(r.outcome == "reversed" for r in records), scope="Decisions reversed"),
        _timed(
            indicator,
            statistics.median(hours) if hours else None,
            scope="Median time" + HOURS,
            none=NO_APPEALS,
        ),
    ]


def _appeals(report: t.TransparencyReport) -> list[Field]:
    ap, s, records = report.appeals, report.suspensions, report.appeal_records
    rows = [
        _f(COMPLAINTS, ap.filed, scope="Total number", note="filed in the period"),
        _f(COMPLAINTS, ap.upheld, scope="Decisions upheld", note="decided in the period"),
        _f(COMPLAINTS, 0, scope="Decisions partially reversed", note=NO_PARTIAL),
        _f(COMPLAINTS, ap.reversed, scope="Decisions reversed", note="decided in the period"),
        _timed(COMPLAINTS, ap.median_hours_to_decide, scope="Median time" + HOURS, none=NO_APPEALS),
        _f(COMPLAINTS, 0, scope="Decision omitted", note=NO_OMISSION),
        _f(
            "Number of restrictions newly imposed as a result of an internal complaint",
            sum(r.newly_restricted for r in records),
            scope="Total number",
        ),
    ]
    for kind in (AGAINST_RESTRICTION, AGAINST_NO_ACTION, AGAINST_NO_ACTION_TF):
        rows += _outcomes(kind, [r for r in records if _complaint_kind(r) == kind])
    why = "Jikimi takes no such decision; complaints about the platform's are not recorded"
    rows += [_blank(k, scope="Total number", why=why) for k in NOT_OUR_DECISIONS]
    why = "out-of-court disputes (Art. 21) are not recorded"
    rows += [_blank(DISPUTES, scope=scope, why=why) for scope in DISPUTE_SCOPES]
    return [
        *rows,
        _blank(
            "Number of suspensions enacted for the provision of manifestly illegal content",
            scope="Total number",
            why="account suspensions are the platform's; Jikimi records notifiers' only",
        ),
        _f(
            "Number of suspensions enacted for the provision of manifestly unfounded notices",
            s.imposed,
            scope="Total number",
            note="notifiers suspended in the period",
        ),
        _blank(
            "Number of suspensions enacted for the provision of manifestly unfounded complaints",
            scope="Total number",
            why="Jikimi does not suspend complainants",
        ),
    ]


def _automated(report: t.TransparencyReport) -> list[Field]:
    a = report.automation
    solely = a.removed_automatically + a.decisions_automated
    rows = []
    for scope, origins in (("Total number", None), ("Own-initiative", {OWN_INITIATIVE})):
        people = sum(m.decisions for m in report.measures if not origins or m.origin in origins)
        rows += [
            _f(
                "Number of measures solely taken by automated means",
                solely,
                scope=scope,
                note="removals by policy verdicts without a person (bank auto-action)",
            ),
            _f("Number of measures not taken by automated means", people, scope=scope),
        ]
        rows += [_blank(f"{ACCURACY} - {m}", scope=scope, why=NO_ACCURACY) for m in ACCURACIES]
    for scope, kinds in (("NAM Total", t.ART16_KINDS), ("NAM Trusted Flagger", (FLAGGER,))):
        notices = sum(n for (k, _, _), n in report.notice_categories.items() if k in kinds)
        rows += [
            _f(
                "Number of notices solely processed by automated means",
                0,
                scope=scope,
                note="a reviewer decides every notice",
            ),
            _f("Number of notices not processed by automated means", notices, scope=scope),
        ]
    return rows


def _additional(report: t.TransparencyReport) -> list[Field]:
    """Jikimi's figures the template does not ask for."""
    outside: Counter[str] = Counter()
    for (kind, state, _), count in report.notice_categories.items():
        if kind == t.ORDER and state not in v.EU_COUNTRIES:
            outside[state] += count
    rows = [
        _f("orders_from_authorities_outside_the_eu", n, scope=state, note=OUTSIDE_EU)
        for state, n in sorted(outside.items())
    ]
    for c in report.clocks:
        rule, note = c.rule or "all", _none(c.cases)
        rows += [
            _f("cases_with_a_legal_clock", c.cases, scope=rule),
            _f("cases_decided_in_time", c.met, scope=rule),
            _f("share_decided_in_time", rounded_share(c.share_met), scope=rule, note=note),
            _f("median_hours_to_decision", rounded_hours(c.median_hours), scope=rule, note=note),
            _f("p90_hours_to_decision", rounded_hours(c.p90_hours), scope=rule, note=note),
            _f("hours_allowed", rounded_hours(c.hours_allowed), scope=rule, note=note),
        ]
    n, s, a = report.notices, report.suspensions, report.automation
    rows += [_f("notices_received", count, scope=kind) for kind, count in n.by_kind.items()]
    rows += [
        _f("notices_incomplete", n.incomplete),
        _f("suspensions_lifted", s.lifted),
        _f("suspensions_in_force_at_end", s.active_at_end),
        _f("appeals_pending_at_end", report.appeals.pending_at_end),
        _f("automated_detections", a.flagged, note="verdicts review or remove"),
        _f("decisions_on_automated_detection", a.decisions_on_automated_detection),
        _f("reviewers_rulings", a.decisions, note="remove, restrict and keep"),
    ]
    for b in report.banks:
        rows += [
            _f("matches", b.matches, scope=b.bank),
            _f("matches_set_aside", b.suppressed, scope=b.bank),
        ]
    return rows


def _none(cases: int) -> str:
    return "" if cases else NO_CASES


def dsa_sections(report: t.TransparencyReport) -> list[dict[str, Any]]:
    """The sheets of the template, in its order, then :data:`ADDITIONAL`."""
    fields = {
        "report_identification": _identification(report),
        "categories_names": _category_names(),
        "member_states_orders": _orders(report),
        "notices": _notices(report),
        "own_initiative_illegal": _own_initiative(report, "illegal"),
        "own_initiative_TC": _own_initiative(report, "terms"),
        "appeals_and_recidivism": _appeals(report),
        "automated_means": _automated(report),
        "human_resources": [
            _blank(label, scope="Total number", why="staffing is outside Jikimi")
            for label in HUMAN_RESOURCES
        ],
        "AMAR": [
            _blank(
                "Number of average monthly active recipients during the reporting period",
                scope=TOTAL,
                why="Jikimi does not count the platform's recipients",
            )
        ],
        "qualitative": [_blank(label, why="the provider's own text") for label in QUALITATIVE],
        ADDITIONAL: _additional(report),
    }
    return [
        {"section": section, "title": title, "fields": fields[section]}
        for section, title in DSA_SECTIONS.items()
    ]
