"""Reports about a case to outside bodies: ``POST /v1/cases/{id}/reports/ncmec`` (the NCMEC
CyberTipline, permission ``reports:ncmec``) and ``GET /v1/cases/{id}/reports``.

A report runs in the request: submit, upload, file details, finish. When NCMEC fails midway the
answer says so (502 or 503) and the submission row keeps how far it got; posting again resumes
with the same NCMEC report id. A report sent without an answer is not sent again (409) until
the operator has checked with NCMEC and posts ``?force_new=true``.

A suspected-minor case is answered 404 (as if it did not exist) to a caller without
``minors:view``, and the report document is shown only to callers with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission, Principal
from jikimi.errors import (
    CaseNotFound,
    ReportAuthError,
    ReportError,
    ReportInDoubt,
    ReportInvalid,
    ReportNotConfigured,
    ReportRejected,
    ReportUnavailable,
)
from jikimi.reports import kcsc
from jikimi.reports.ncmec_flow import report_case, submissions
from jikimi.web.api.schemas import RowId
from jikimi.web.auth import require
from jikimi.web.problems import Problem

if TYPE_CHECKING:
    from jikimi.workspace import Workspace

router = APIRouter(tags=["reports"])


@router.post("/v1/cases/{case_id}/reports/ncmec")
async def report_ncmec(
    case_id: RowId,
    request: Request,
    response: Response,
    dry_run: bool = False,
    force_new: bool = False,
    who: Principal = Depends(require(Permission.REPORTS_NCMEC)),
) -> dict[str, Any]:
    """Report a child-safety case to NCMEC's CyberTipline, or resume its unfinished report.
    Answers 201 with the submission (``state`` finished), 200 for ``?dry_run=true`` (the
    document, for callers with ``minors:view``, and its problems), 422 listing every problem of
    a report that does not validate (nothing sent), 409 for a case that is not a child-safety
    case or whose report was sent without an answer (check with NCMEC, then post
    ``?force_new=true``), 502/503 when NCMEC refused or failed midway (post again to
    resume)."""
    ws = request.app.state.service.ws
    await _check_access(ws, case_id, who)
    try:
        result = await run_in_threadpool(
            report_case, ws, case_id, actor=who.name, dry_run=dry_run, force_new=force_new
        )
    except ReportError as exc:
        raise _problem(exc) from None
    if result.submission is None:
        answer: dict[str, Any] = {"case_id": case_id, "dry_run": True}
        if who.can(Permission.MINORS_VIEW):
            answer["document"] = result.document.decode()
        return {**answer, "problems": result.problems}
    response.status_code = 201
    if not who.can(Permission.MINORS_VIEW):
        result.submission["detail"].pop("report_xml", None)
    return result.submission


@router.get("/v1/cases/{case_id}/reports")
async def list_reports(
    case_id: RowId,
    request: Request,
    who: Principal = Depends(require(Permission.REPORTS_NCMEC)),
) -> dict[str, Any]:
    """Every report submission about the case (all bodies), oldest first, with its state; the
    report documents only for callers with ``minors:view``."""
    ws = request.app.state.service.ws
    await _check_access(ws, case_id, who)
    reports = await run_in_threadpool(
        submissions, ws, case_id, with_document=who.can(Permission.MINORS_VIEW)
    )
    return {"case_id": case_id, "reports": reports}


async def _check_access(ws: Workspace, case_id: int, who: Principal) -> None:
    """404 for no case, and for a suspected-minor case the caller may not see: existence is
    not revealed."""
    not_found = Problem(404, "not-found", "Not found", f"no case {case_id} you may report on")
    try:
        minor, _ = await run_in_threadpool(kcsc.case_access, ws.sessions, case_id)
    except CaseNotFound:
        raise not_found from None
    if minor and not who.can(Permission.MINORS_VIEW):
        raise not_found


def _problem(exc: ReportError) -> Problem:
    if isinstance(exc, ReportInvalid):
        return Problem(422, "invalid-report", "Report refused", str(exc), problems=exc.problems)
    if isinstance(exc, ReportNotConfigured):
        return Problem(409, "not-configured", "NCMEC not configured", str(exc))
    if isinstance(exc, ReportInDoubt):
        return Problem(409, "report-in-doubt", "A report may already be at NCMEC", str(exc))
    if isinstance(exc, ReportAuthError):
        return Problem(502, "report-credentials", "NCMEC credentials refused", str(exc))
    if isinstance(exc, ReportUnavailable):
        headers = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after else None
        return Problem(503, "report-unavailable", "NCMEC unavailable", str(exc), headers=headers)
    problems = exc.problems if isinstance(exc, ReportRejected) else []
    return Problem(502, "report-rejected", "NCMEC refused", str(exc), problems=problems)
