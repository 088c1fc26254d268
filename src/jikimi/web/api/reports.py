"""Reports about a case to outside bodies: ``POST /v1/cases/{id}/reports/ncmec`` (the NCMEC
CyberTipline, permission ``reports:ncmec``) and ``GET /v1/cases/{id}/reports``.

A report runs in the request: submit, upload, file details, finish. When NCMEC fails midway the
answer says so (502 or 503) and the submission row keeps how far it got; posting again resumes
with the same NCMEC report id.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission, Principal
from jikimi.errors import (
    ReportAuthError,
    ReportError,
    ReportInvalid,
    ReportNotConfigured,
    ReportRejected,
    ReportUnavailable,
)
from jikimi.reports.ncmec_flow import report_case, submissions
from jikimi.web.api.schemas import RowId
from jikimi.web.auth import require
from jikimi.web.problems import Problem

router = APIRouter(tags=["reports"])


@router.post("/v1/cases/{case_id}/reports/ncmec")
async def report_ncmec(
    case_id: RowId,
    request: Request,
    response: Response,
    dry_run: bool = False,
    who: Principal = Depends(require(Permission.REPORTS_NCMEC)),
) -> dict[str, Any]:
    """Report a child-safety case to NCMEC's CyberTipline, or resume its unfinished report.
    Answers 201 with the submission (``state`` finished), 200 for ``?dry_run=true`` (the
    document and its problems), 422 listing every problem of a report that does not validate
    (nothing sent), 409 for a case that is not a child-safety case, 502/503 when NCMEC refused
    or failed midway (post again to resume)."""
    ws = request.app.state.service.ws
    try:
        result = await run_in_threadpool(report_case, ws, case_id, actor=who.name, dry_run=dry_run)
    except ReportError as exc:
        raise _problem(exc) from None
    if result.submission is None:
        return {
            "case_id": case_id,
            "dry_run": True,
            "document": result.document.decode(),
            "problems": result.problems,
        }
    response.status_code = 201
    return result.submission


@router.get("/v1/cases/{case_id}/reports")
async def list_reports(
    case_id: RowId,
    request: Request,
    _: Principal = Depends(require(Permission.REPORTS_NCMEC)),
) -> dict[str, Any]:
    """Every report submission about the case (all bodies), oldest first, with its state."""
    ws = request.app.state.service.ws
    return {"case_id": case_id, "reports": await run_in_threadpool(submissions, ws, case_id)}


def _problem(exc: ReportError) -> Problem:
    if isinstance(exc, ReportInvalid):
        return Problem(422, "invalid-report", "Report refused", str(exc), problems=exc.problems)
    if isinstance(exc, ReportNotConfigured):
        return Problem(409, "not-configured", "NCMEC not configured", str(exc))
    if isinstance(exc, ReportAuthError):
        return Problem(502, "report-credentials", "NCMEC credentials refused", str(exc))
    if isinstance(exc, ReportUnavailable):
        headers = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after else None
        return Problem(503, "report-unavailable", "NCMEC unavailable", str(exc), headers=headers)
    problems = exc.problems if isinstance(exc, ReportRejected) else []
    return Problem(502, "report-rejected", "NCMEC refused", str(exc), problems=problems)
