"""A :class:`~jikimi.reports.transparency.TransparencyReport` as JSON and CSV, in three shapes
(``docs/transparency.md``):

- ``summary``: every figure, as Jikimi names them.
- ``dsa``: the sections of the DSA transparency report (Regulation (EU) 2022/2065 Art. 15(1)
  and 24(1); the quantitative template of Commission Implementing Regulation (EU) 2024/2835),
  one ``{"field", "breakdown", "value", "note"}`` per figure. Fields our records cannot fill
  are present with ``value`` null and a ``note`` saying why.
- ``takeitdown``: the TAKE IT DOWN Act compliance log (47 U.S.C. 223a(a)(3)): one row per
  removal request.

Pure: values in, text and dicts out. Times are ISO 8601 in UTC, hours rounded to 0.01.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from jikimi.reports import transparency as t

__all__ = [
    "DSA_COLUMNS",
    "SHAPES",
    "SUMMARY_COLUMNS",
    "TAKEDOWN_COLUMNS",
    "as_csv",
    "as_json",
    "dsa_sections",
    "summary",
    "takedown_rows",
]

SHAPES = ("summary", "dsa", "takeitdown")
SUMMARY_COLUMNS = ("figure", "breakdown", "value")
DSA_COLUMNS = ("section", "field", "breakdown", "value", "note")
TAKEDOWN_COLUMNS = (
    "notice_id",
    "receipt",
    "received_at",
    "valid",
    "missing",
    "case_id",
    "deadline_at",
    "removed_at",
    "hours_to_removal",
    "within_48h",
    "items_removed",
    "identical_copies_removed",
    "notes",
)
DSA_TEMPLATE = (
    "Regulation (EU) 2022/2065 (DSA) Art. 15(1) and 24(1); Commission Implementing Regulation "
    "(EU) 2024/2835, Annex I (quantitative template)"
)
TAKEDOWN_LAW = "TAKE IT DOWN Act, 47 U.S.C. 223a(a)(3): removal within 48 hours of a valid request"
NOT_RECORDED = "Jikimi does not record this"

Value = int | float | str | None
Field = dict[str, Value]


def _hours(hours: float | None) -> float | None:
    return None if hours is None else round(hours, 2)


def _share(share: float | None) -> float | None:
    return None if share is None else round(share, 4)


def _time(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def _period(report: t.TransparencyReport) -> dict[str, str]:
    days = report.period.days
    return {"start": days[0].isoformat(), "end": days[-1].isoformat()}


def _clock(summary: t.ClockSummary) -> dict[str, Any]:
    return {
        "rule": summary.rule,
        "hours_allowed": _hours(summary.hours_allowed),
        "cases": summary.cases,
        "met": summary.met,
        "share_met": _share(summary.share_met),
        "median_hours": _hours(summary.median_hours),
        "p90_hours": _hours(summary.p90_hours),
    }


def summary(report: t.TransparencyReport) -> dict[str, Any]:
    """Every figure as Jikimi names it (the ``summary`` shape)."""
    n, a, s, ap = report.notices, report.automation, report.suspensions, report.appeals
    return {
        "period": _period(report),
        "notices": {
            "total": n.total,
            "incomplete": n.incomplete,
            "by_kind": n.by_kind,
            "by_source": n.by_source,
            "by_kind_and_source": [
                {"kind": kind, "source": source, "count": count}
                for (kind, source), count in n.counts.items()
            ],
            "orders_by_jurisdiction": n.orders_by_jurisdiction,
        },
        "removals": {
            "automated": report.automated_removals,
            "by_ground": [
                {
                    "ground": r.ground,
                    "category": r.category,
                    "outcome": r.outcome,
                    "count": r.decisions,
                }
                for r in report.removals
            ],
        },
        "time_to_action": {
            "all": _clock(report.clocks[0]),
            "by_rule": [_clock(c) for c in report.clocks[1:]],
        },
        "automation": {
            "flagged": a.flagged,
            "removed_automatically": a.removed_automatically,
            "decisions": a.decisions,
            "decisions_on_automated_detection": a.decisions_on_automated_detection,
            "decisions_automated": a.decisions_automated,
        },
        "suspensions": {
            "imposed": s.imposed,
            "lifted": s.lifted,
            "active_at_end": s.active_at_end,
        },
        "appeals": {
            "filed": ap.filed,
            "decided": ap.decided,
            "upheld": ap.upheld,
            "reversed": ap.reversed,
            "pending_at_end": ap.pending_at_end,
            "median_hours_to_decide": _hours(ap.median_hours_to_decide),
        },
        "matches_by_bank": [
            {"bank": b.bank, "matches": b.matches, "suppressed": b.suppressed} for b in report.banks
        ],
        "takedown_requests": len(report.takedowns),
    }


def _summary_rows(data: dict[str, Any]) -> Iterable[tuple[str, str, Value]]:
    """The summary flattened to (figure, breakdown, value): a mapping's keys are breakdowns
    (``notices.by_kind``, ``takedown_request``, 3); a list's rows give one figure per number,
    named by their other fields (``removals.by_ground.count``,
    ``ground=illegal;category=adult_ncii;outcome=remove``, 2)."""
    for section, body in data.items():
        if section == "period":
            continue
        if isinstance(body, list):
            yield from _list_rows(section, body)
        elif not isinstance(body, dict):
            yield section, "", body
            continue
        else:
            for name, value in body.items():
                figure = f"{section}.{name}"
                if isinstance(value, dict):
                    yield from ((figure, str(k), v) for k, v in value.items())
                elif isinstance(value, list):
                    yield from _list_rows(figure, value)
                else:
                    yield figure, "", value


def _list_rows(figure: str, rows: list[dict[str, Value]]) -> Iterable[tuple[str, str, Value]]:
    for row in rows:
        numbers = {k: v for k, v in row.items() if isinstance(v, int | float) or v is None}
        names = ";".join(f"{k}={v}" for k, v in row.items() if k not in numbers)
        yield from ((f"{figure}.{k}", names, v) for k, v in numbers.items())


def _field(name: str, value: Value, breakdown: str = "", note: str = "") -> Field:
    return {"field": name, "breakdown": breakdown or None, "value": value, "note": note or None}


def dsa_sections(report: t.TransparencyReport) -> list[dict[str, Any]]:
    """The DSA report's sections, in the template's order, each with its fields."""
    n, a, s, ap = report.notices, report.automation, report.suspensions, report.appeals
    orders = [
        _field("number_of_orders", count, f"member_state={state}")
        for state, count in n.orders_by_jurisdiction.items()
    ] or [_field("number_of_orders", 0)]
    orders += [
        _field("type_of_illegal_content", None, note="orders are not categorised on receipt"),
        _field(
            "median_time_to_confirm_receipt_hours",
            None,
            note="receipts are sent through the outbox; their delivery time is not reported",
        ),
        _field("median_time_to_give_effect_hours", _hours(report.orders_clock.median_hours)),
    ]
    by_kind = n.by_kind
    notices = [
        _field("number_of_notices", count, f"notice_kind={kind}")
        for kind, count in by_kind.items()
        if kind != t.ORDER
    ]
    notices += [
        _field(
            "type_of_alleged_illegal_content",
            None,
            note="notices are counted by kind; the category is set by the decision",
        ),
        _field("number_of_notices_submitted_by_trusted_flaggers", by_kind["trusted_flagger"]),
        _field(
            "number_of_notices_processed_by_automated_means",
            0,
            note="every notice is decided by a reviewer",
        ),
        _field("median_time_to_take_action_hours", _hours(report.notices_clock.median_hours)),
    ]
    for r in report.removals:
        basis = "law" if r.ground == "illegal" else "terms_and_conditions"
        notices.append(
            _field(
                f"actions_taken_on_the_basis_of_the_{basis}",
                r.decisions,
                f"category={r.category};measure={r.outcome}",
                "every reviewer decision in the period, on notices and on own initiative",
            )
        )
    own = [
        _field("number_of_measures_by_automated_means", report.automated_removals, "remove"),
        _field("number_of_detections_by_automated_means", a.flagged),
        _field("number_of_decisions_on_automated_detection", a.decisions_on_automated_detection),
    ]
    complaints = [
        _field("number_of_complaints_received", ap.filed),
        _field("number_of_decisions_upheld", ap.upheld),
        _field("number_of_decisions_reversed", ap.reversed),
        _field("number_of_complaints_pending", ap.pending_at_end),
        _field("median_time_to_decide_hours", _hours(ap.median_hours_to_decide)),
    ]
    disputes = [_field("number_of_disputes_submitted", None, note=NOT_RECORDED)]
    suspended = [
        _field("suspensions_for_manifestly_illegal_content", None, note=NOT_RECORDED),
        _field("suspensions_for_manifestly_unfounded_notices", s.imposed),
        _field("suspensions_for_manifestly_unfounded_complaints", None, note=NOT_RECORDED),
        _field("suspensions_lifted", s.lifted),
        _field("suspensions_in_force_at_end", s.active_at_end),
    ]
    automated = [
        _field(
            "decisions_taken_by_automated_means", a.removed_automatically + a.decisions_automated
        ),
        _field("decisions_taken_by_reviewers", a.decisions),
        _field(
            "indicators_of_accuracy",
            None,
            note="see complaints_art20: decisions reversed on appeal",
        ),
    ]
    return [
        _section("orders_art9", "Orders to act against illegal content (Art. 9, 15(1)(a))", orders),
        _section(
            "orders_art10",
            "Orders to provide information (Art. 10, 15(1)(a))",
            [_field("number_of_orders", None, note=NOT_RECORDED)],
        ),
        _section("notices_art16", "Notices (Art. 16, 15(1)(b))", notices),
        _section("own_initiative", "Own-initiative content moderation (Art. 15(1)(c))", own),
        _section("complaints_art20", "Internal complaints (Art. 20, 15(1)(d))", complaints),
        _section("disputes_art21", "Out-of-court disputes (Art. 21, 24(1)(a))", disputes),
        _section("suspensions_art23", "Suspensions (Art. 23, 24(1)(b))", suspended),
        _section("automated_means", "Use of automated means (Art. 15(1)(e))", automated),
    ]


def _section(section: str, title: str, fields: list[Field]) -> dict[str, Any]:
    return {"section": section, "title": title, "fields": fields}


def takedown_rows(report: t.TransparencyReport) -> list[dict[str, Value]]:
    """The TAKE IT DOWN compliance log: one row per removal request."""
    rows: list[dict[str, Value]] = []
    for r in report.takedowns:
        within = r.within_48h
        rows.append(
            {
                "notice_id": r.notice_id,
                "receipt": r.receipt,
                "received_at": _time(r.received_at),
                "valid": "yes" if r.complete else "no",
                "missing": ";".join(r.missing) or None,
                "case_id": r.case_id,
                "deadline_at": _time(r.deadline_at),
                "removed_at": _time(r.removed_at),
                "hours_to_removal": _hours(r.hours_to_removal),
                "within_48h": None if within is None else ("yes" if within else "no"),
                "items_removed": r.items_removed,
                "identical_copies_removed": r.identical_copies_removed,
                "notes": "; ".join(r.notes) or None,
            }
        )
    return rows


def as_json(report: t.TransparencyReport, shape: str) -> dict[str, Any]:
    """The report in ``shape`` (one of :data:`SHAPES`) as a JSON-ready dict."""
    if shape == "summary":
        return {"shape": "summary", **summary(report)}
    if shape == "dsa":
        return {
            "shape": "dsa",
            "template": DSA_TEMPLATE,
            "period": _period(report),
            "sections": dsa_sections(report),
        }
    if shape == "takeitdown":
        return {
            "shape": "takeitdown",
            "law": TAKEDOWN_LAW,
            "period": _period(report),
            "records": takedown_rows(report),
        }
    raise ValueError(f"unknown shape {shape!r}: use one of {', '.join(SHAPES)}")


def as_csv(report: t.TransparencyReport, shape: str) -> str:
    """The report in ``shape`` as CSV text, with a header row (the ``*_COLUMNS``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if shape == "summary":
        writer.writerow(SUMMARY_COLUMNS)
        writer.writerows(_summary_rows(summary(report)))
    elif shape == "dsa":
        writer.writerow(DSA_COLUMNS)
        for section in dsa_sections(report):
            for fld in section["fields"]:
                writer.writerow([section["section"], *(fld[k] for k in DSA_COLUMNS[1:])])
    elif shape == "takeitdown":
        writer.writerow(TAKEDOWN_COLUMNS)
        for row in takedown_rows(report):
            writer.writerow([row[k] for k in TAKEDOWN_COLUMNS])
    else:
        raise ValueError(f"unknown shape {shape!r}: use one of {', '.join(SHAPES)}")
    return out.getvalue()
