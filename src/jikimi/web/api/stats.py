"""``GET /v1/stats``: the transparency figures of a period (``docs/transparency.md``).

``from`` and ``to`` are UTC days (YYYY-MM-DD, both included; the last 30 days by default);
``shape`` is ``summary``, ``dsa`` or ``takeitdown``; ``format`` ``json`` or ``csv`` (a
download). For ``audit:read`` holders (admin, investigator, auditor): the figures are counts,
but the TAKE IT DOWN log names notices and cases.
"""

from __future__ import annotations

import json
from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission, Principal
from jikimi.reports.figures import Period
from jikimi.reports.transparency import TransparencyReport, read_report, report_period
from jikimi.reports.transparency_export import SHAPES, as_csv, as_json
from jikimi.web.auth import require
from jikimi.web.problems import Problem
from jikimi.web.service import Service

router = APIRouter(tags=["reports"])

FORMATS = ("json", "csv")


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Problem(
            422,
            "invalid-request",
            "Bad date",
            f"{name} takes a UTC day as YYYY-MM-DD, not {value!r}",
        ) from None


def requested_period(service: Service, first: str | None, last: str | None) -> Period:
    """The period a request names, or a 422 problem saying what is wrong."""
    try:
        return report_period(_day(first, "from"), _day(last, "to"), service.now().date())
    except ValueError as exc:
        raise Problem(422, "invalid-request", "Bad period", str(exc)) from None


def check_choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise Problem(
            422, "invalid-request", f"Unknown {name}", f"{name} must be one of {', '.join(allowed)}"
        )
    return value


def read(service: Service, period: Period) -> TransparencyReport:
    with service.ws.sessions() as session:
        return read_report(session, period)


def export_response(report: TransparencyReport, shape: str, fmt: str) -> Response:
    """The report as a JSON answer or a CSV download named by its shape and days."""
    if fmt == "csv":
        days = report.period.days
        name = f"jikimi-{shape}-{days[0]}-{days[-1]}.csv"
        return Response(
            as_csv(report, shape),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    body = json.dumps(as_json(report, shape), ensure_ascii=False)
    return Response(body, media_type="application/json")


@router.get("/v1/stats")
async def stats(
    request: Request,
    first: str | None = Query(None, alias="from", description="First UTC day, YYYY-MM-DD."),
    last: str | None = Query(None, alias="to", description="Last UTC day, included."),
    shape: str = Query("summary", description="summary, dsa or takeitdown."),
    fmt: str = Query("json", alias="format", description="json or csv."),
    _: Principal = Depends(require(Permission.AUDIT_READ)),
) -> Response:
    """Transparency figures for a period, as JSON or CSV, in the summary, DSA transparency
    report or TAKE IT DOWN compliance log shape."""
    service: Service = request.app.state.service
    check_choice(shape, SHAPES, "shape")
    check_choice(fmt, FORMATS, "format")
    period = requested_period(service, first, last)
    report = await run_in_threadpool(read, service, period)
    return export_response(report, shape, fmt)
