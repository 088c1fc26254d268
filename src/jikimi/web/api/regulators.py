"""Reports to regulators: ``POST /v1/reports/dsa`` sends the decisions' statements of reasons
to the DSA Transparency Database (permission ``reports:dsa``); ``GET
/v1/cases/{id}/reports/kcsc?format=csv|pdf`` is a case's takedown package for KCSC and the
victim support centre (``reports:kcsc``; a support centre gets the cases it filed a notice
in, and a suspected-minor case needs ``minors:view`` as everywhere). See docs/regulators.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission, Principal, Role
from jikimi.errors import (
    CaseNotFound,
    ReportAuthError,
    ReportError,
    ReportInvalid,
    ReportNotConfigured,
    ReportRejected,
    ReportUnavailable,
)
from jikimi.reports import kcsc
from jikimi.reports.transparency_db_submit import send_from_workspace
from jikimi.web.api.schemas import RowId
from jikimi.web.auth import require
from jikimi.web.problems import Problem

router = APIRouter(tags=["reports"])
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


@router.post("/v1/reports/dsa")
async def report_dsa(
    request: Request,
    since: date | None = None,
    dry_run: bool = False,
    who: Principal = Depends(require(Permission.REPORTS_DSA)),
) -> dict[str, Any]:
    """Send every statement of reasons the Transparency Database does not hold yet, in batches
    of 100 (``since``: decisions from that UTC day). Answers the counts (``pending``, ``sent``,
    ``existing``, ``batches``; a dry run adds the ``statements``), 422 listing every problem
    when a statement would be refused (nothing sent), 502 when the database refused, 503 when
    it is unavailable (post again: what was sent is not sent twice)."""
    ws = request.app.state.service.ws
    start = datetime.combine(since, time(), UTC) if since else None
    try:
        run = await run_in_threadpool(
            send_from_workspace, ws, actor=who.name, since=start, dry_run=dry_run
        )
    except ReportError as exc:
        raise _problem(exc) from None
    answer: dict[str, Any] = {
        "pending": run.pending,
        "sent": run.sent,
        "existing": run.existing,
        "batches": run.batches,
        "dry_run": dry_run,
    }
    if dry_run:
        answer["statements"] = run.statements
    return answer


@router.get("/v1/cases/{case_id}/reports/kcsc")
async def report_kcsc(
    case_id: RowId,
    request: Request,
    format: Literal["csv", "pdf"] = "pdf",
    who: Principal = Depends(require(Permission.REPORTS_KCSC)),
) -> Response:
    """The case's takedown package for KCSC and the Digital Sex Crime Victim Support Center:
    ``csv`` (UTF-8 with BOM, Korean headers) or ``pdf`` (Korean and English). Recorded in
    custody (``report.kcsc.built``) with the document's SHA-256."""
    ws = request.app.state.service.ws
    try:
        minor, filers = await run_in_threadpool(kcsc.case_access, ws.sessions, case_id)
    except CaseNotFound:
        raise _not_found(case_id) from None
    if (minor and not who.can(Permission.MINORS_VIEW)) or (
        who.role is Role.SUPPORT_CENTRE and who.name not in filers
    ):
        raise _not_found(case_id)  # the same answer as no case: existence is not revealed
    try:
        files = await run_in_threadpool(
            kcsc.build_files, ws, case_id, actor=who.name, formats=(format,)
        )
    except ReportError as exc:
        raise Problem(500, "report-unavailable", "Package not built", str(exc)) from None
    return Response(
        files[format],
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="kcsc-case-{case_id}.{format}"'},
    )


def _not_found(case_id: int) -> Problem:
    return Problem(404, "not-found", "Not found", f"no case {case_id} you may report on")


def _problem(exc: ReportError) -> Problem:
    if isinstance(exc, ReportInvalid):
        return Problem(422, "invalid-report", "Report refused", str(exc), problems=exc.problems)
    if isinstance(exc, ReportNotConfigured):
        return Problem(409, "not-configured", "Transparency Database not configured", str(exc))
    if isinstance(exc, ReportAuthError):
        return Problem(502, "report-credentials", "Transparency Database token", str(exc))
    if isinstance(exc, ReportUnavailable):
        headers = {"Retry-After": str(int(exc.retry_after))} if exc.retry_after else None
        return Problem(
            503, "report-unavailable", "Transparency Database unavailable", str(exc),
            headers=headers,
        )  # fmt: skip
    problems = exc.problems if isinstance(exc, ReportRejected) else []
    return Problem(
        502, "report-rejected", "Transparency Database refused", str(exc), problems=problems
    )
