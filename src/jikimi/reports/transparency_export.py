"""A :class:`~jikimi.reports.transparency.TransparencyReport` as JSON and CSV, in three shapes
(``docs/transparency.md``):

- ``summary``: every figure, as Jikimi names them.
- ``dsa``: the DSA transparency report in the harmonised template of Commission Implementing
  Regulation (EU) 2024/2835, Annex I, built by :mod:`jikimi.reports.dsa_report`.
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
from jikimi.reports.dsa_report import (
    DSA_COLUMNS,
    DSA_TEMPLATE,
    Value,
    dsa_sections,
    period_bounds,
    rounded_hours,
    rounded_share,
)

__all__ = [
    "SHAPES",
    "SUMMARY_COLUMNS",
    "TAKEDOWN_COLUMNS",
    "as_csv",
    "as_json",
    "summary",
    "takedown_rows",
]

SHAPES = ("summary", "dsa", "takeitdown")
SUMMARY_COLUMNS = ("figure", "breakdown", "value")
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
TAKEDOWN_LAW = "TAKE IT DOWN Act, 47 U.S.C. 223a(a)(3): removal within 48 hours of a valid request"


def _time(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def _clock(summary: t.ClockSummary) -> dict[str, Any]:
    return {
        "rule": summary.rule,
        "hours_allowed": rounded_hours(summary.hours_allowed),
        "cases": summary.cases,
        "met": summary.met,
        "share_met": rounded_share(summary.share_met),
        "median_hours": rounded_hours(summary.median_hours),
        "p90_hours": rounded_hours(summary.p90_hours),
    }


def summary(report: t.TransparencyReport) -> dict[str, Any]:
    """Every figure as Jikimi names it (the ``summary`` shape)."""
    n, a, s, ap = report.notices, report.automation, report.suspensions, report.appeals
    return {
        "period": period_bounds(report),
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
            "median_hours_to_decide": rounded_hours(ap.median_hours_to_decide),
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
                "hours_to_removal": rounded_hours(r.hours_to_removal),
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
            "period": period_bounds(report),
            "sections": dsa_sections(report),
        }
    if shape == "takeitdown":
        return {
            "shape": "takeitdown",
            "law": TAKEDOWN_LAW,
            "period": period_bounds(report),
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
            for row in section["fields"]:
                writer.writerow([section["section"], *(row[k] for k in DSA_COLUMNS[1:])])
    elif shape == "takeitdown":
        writer.writerow(TAKEDOWN_COLUMNS)
        for row in takedown_rows(report):
            writer.writerow([row[k] for k in TAKEDOWN_COLUMNS])
    else:
        raise ValueError(f"unknown shape {shape!r}: use one of {', '.join(SHAPES)}")
    return out.getvalue()
