"""Notices (``POST /v1/notices``) and cases (``GET /v1/cases``, ``GET /v1/cases/{id}``).

A takedown request, a DSA notice or a user report needs no account; authority orders and
trusted-flagger notices come with a token. Every notice is recorded, complete or not: an
incomplete one is answered 422 with exactly the elements it lacks, and its receipt.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission, Principal
from jikimi.cases.decisions import Decided, Ruling
from jikimi.cases.notices import NOTICE_KINDS, PUBLIC_KINDS, check_notice
from jikimi.errors import NoticeError
from jikimi.web.api.schemas import AppealIn, AssignmentIn, DecisionIn, RowId, SuspensionIn
from jikimi.web.auth import principal, require
from jikimi.web.problems import Problem
from jikimi.web.requests import unsupported

router = APIRouter(tags=["cases"])
PUBLIC = "public"
# A notice is text: at most 100 locators of 2,048 characters and a 20,000-character
# explanation fit many times over; anything bigger is not a notice.
MAX_NOTICE_BYTES = 1_048_576


async def _read_capped(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, seen = [], 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> Problem:
    return Problem(
        413,
        "too-large",
        "Notice too large",
        f"a notice is at most {limit} bytes of JSON; name the content by locators and keep "
        "the explanation under 20,000 characters",
        limit=limit,
    )


async def _sender(request: Request, why: str, needs: Permission) -> Principal:
    """The caller of a route that is public for some: a token whose role has ``needs``."""
    who = await principal(request)
    if not who.can(needs):
        raise Problem(
            403,
            "forbidden",
            "Not allowed",
            f"{why} (a role with {needs.value})",
            needs=[needs.value],
        )
    return who


@router.post("/v1/notices", status_code=201)
async def file_notice(request: Request, response: Response) -> dict[str, Any]:
    """File a notice. Answers 201 ``{"notice_id", "case_id", "receipt", "deadline_at"}``, or
    422 whose ``missing`` lists every required element that is absent (recorded either way)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise unsupported(content_type)
    raw = await _read_capped(request, MAX_NOTICE_BYTES)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: hostile nesting
        raise Problem(
            422, "invalid-request", "Malformed JSON", "the body is not valid JSON; send an object"
        ) from None
    if not isinstance(body, dict):
        raise Problem(422, "invalid-request", "Not an object", "the notice must be a JSON object")
    kind = body.get("kind")
    who: Principal | None = None
    if kind in NOTICE_KINDS and kind not in PUBLIC_KINDS:
        who = await _sender(
            request,
            f"a {kind!r} notice must come from a registered sender",
            Permission.NOTICES_FILE,
        )
    service = request.app.state.service
    received = service.now()
    try:
        check = check_notice(body, received_at=received)
    except NoticeError as exc:
        raise Problem(422, "invalid-notice", "Invalid notice", str(exc)) from None
    receipt = await run_in_threadpool(
        service.file_notice, body, check, received, who.name if who else PUBLIC
    )
    out: dict[str, Any] = {
        "notice_id": receipt.notice_id,
        "case_id": receipt.case_id,
        "receipt": receipt.receipt,
        "deadline_at": receipt.deadline_at.isoformat() if receipt.deadline_at else None,
    }
    if receipt.suspended:
        raise Problem(
            403,
            "notifier-suspended",
            "Notifier suspended",
            "the notice was recorded, but its sender is suspended for manifestly unfounded "
            "notices and it opens no case; contact the operator to contest the suspension",
            notice_id=receipt.notice_id,
            receipt=receipt.receipt,
        )
    if receipt.joined:
        out["joined_existing_case"] = True
    if receipt.already_removed:
        out["already_removed_items"] = receipt.already_removed
    if not check.complete:
        raise Problem(
            422,
            "incomplete-notice",
            "Incomplete notice",
            "the notice was recorded but lacks required elements: "
            + ", ".join(check.missing or [f for f, _ in check.invalid])
            + "; send it again with them",
            missing=list(check.missing),
            invalid=[{"field": f, "reason": r} for f, r in check.invalid],
            notice_id=receipt.notice_id,
            receipt=receipt.receipt,
        )
    return out


def _case_reader(who: Principal = Depends(require(Permission.ITEMS_READ))) -> Principal:
    """Cases hold notifiers' contact details: reviewers (cases:decide) and auditors
    (audit:read) read them; platforms and support centres do not."""
    if not (who.can(Permission.CASES_DECIDE) or who.can(Permission.AUDIT_READ)):
        raise Problem(
            403,
            "forbidden",
            "Not allowed",
            f"the role {who.role.value!r} may not read cases (needs cases:decide or audit:read)",
            needs=[Permission.CASES_DECIDE.value],
        )
    return who


@router.get("/v1/cases")
def list_cases(
    request: Request,
    queue: str | None = Query(None, max_length=64),
    state: str | None = Query(None, max_length=32),
    kind: str | None = Query(None, max_length=32, description="A notice kind the case holds."),
    origin: str | None = Query(None, max_length=32, description="What opened the case."),
    jurisdiction: str | None = Query(None, max_length=8),
    overdue: bool | None = None,
    open_tasks: bool | None = Query(None, description="Near-duplicates left to review."),
    assignee: str | None = Query(None, max_length=200),
    limit: int = Query(100, ge=1, le=1000),
    who: Principal = Depends(_case_reader),
) -> list[dict[str, Any]]:
    """Cases by the clock (soonest due first, then priority), with time left and overdue.
    Suspected-minor cases are listed for the child_safety role only."""
    service = request.app.state.service
    return service.cases.list(
        now=service.now(),
        queue=queue,
        state=state,
        origin=origin,
        kind=kind,
        jurisdiction=jurisdiction.upper() if jurisdiction else None,
        overdue=overdue,
        open_tasks=open_tasks,
        assignee=assignee,
        minors=None if who.can(Permission.MINORS_VIEW) else False,
        limit=limit,
    )


@router.get("/v1/cases/{case_id}")
def get_case(
    case_id: RowId, request: Request, who: Principal = Depends(_case_reader)
) -> dict[str, Any]:
    """A case: its clock, notices as received, locators, items and review tasks."""
    return _visible_case(request, case_id, who)


def _visible_case(request: Request, case_id: int, who: Principal) -> dict[str, Any]:
    """The case, or 404 alike for one that does not exist and one the caller may not see."""
    service = request.app.state.service
    case = service.cases.get(case_id, now=service.now())
    if case is None or (case["suspected_minor"] and not who.can(Permission.MINORS_VIEW)):
        raise Problem(404, "not-found", "Not found", f"no case {case_id} that you may see")
    return case


def _ruling(body: DecisionIn) -> Ruling:
    return Ruling(
        outcome=body.outcome,
        ground=body.ground,
        category=body.category,
        reasons=body.reasons,
        law=body.law,
        terms=body.terms,
        territorial_scope=tuple(c.upper() for c in body.territorial_scope),
        content_language=body.content_language.upper() if body.content_language else None,
    )


def _decided_json(decided: Decided) -> dict[str, Any]:
    return {
        "decision_id": decided.decision_id,
        "case_id": decided.case_id,
        "state": decided.state,
        "statement_of_reasons": decided.statement,
        "items_removed": [] if decided.reversed else decided.items,
        "items_restored": decided.items if decided.reversed else [],
        "appeal_id": decided.appeal_id,
        "appeal_outcome": decided.appeal_outcome,
        "reversed": decided.reversed,
        "tasks_opened": decided.tasks,
        "task_id": decided.task_id,
    }


@router.post("/v1/cases/{case_id}/decisions", status_code=201)
def decide(
    case_id: RowId,
    body: DecisionIn,
    request: Request,
    who: Principal = Depends(require(Permission.CASES_DECIDE)),
) -> dict[str, Any]:
    """Decide a case: remove, restrict, keep or escalate, with the ground (law or terms),
    category and reasons. Produces the DSA statement of reasons (refused with every problem
    listed when it would not validate); a removal also removes every identical copy and
    opens a review task for every perceptual near-duplicate."""
    _visible_case(request, case_id, who)
    decided = request.app.state.service.decide(case_id, _ruling(body), actor=who.name)
    return _decided_json(decided)


@router.post("/v1/cases/{case_id}/tasks/{task_id}", status_code=201)
def resolve_task(
    case_id: RowId,
    task_id: RowId,
    body: DecisionIn,
    request: Request,
    who: Principal = Depends(require(Permission.CASES_DECIDE)),
) -> dict[str, Any]:
    """Resolve a near-duplicate review task: ``remove`` (or ``restrict``) decides on the
    task's item and its identical copies, with a statement of reasons; ``keep`` closes it."""
    _visible_case(request, case_id, who)
    decided = request.app.state.service.resolve_task(
        case_id, task_id, _ruling(body), actor=who.name
    )
    return _decided_json(decided)


@router.post("/v1/cases/{case_id}/assignment")
def assign(
    case_id: RowId,
    body: AssignmentIn,
    request: Request,
    who: Principal = Depends(require(Permission.CASES_DECIDE)),
) -> dict[str, Any]:
    """Claim a case (it is then decided by you), release it, or (admins, ``assignee``) hand
    it to another reviewer. A case claimed by someone else is 409 unless an admin hands it on."""
    _visible_case(request, case_id, who)
    if body.assignee is not None and body.assignee != who.name:
        if not who.can(Permission.USERS_ADMIN):
            raise Problem(
                403,
                "forbidden",
                "Not allowed",
                "only an admin assigns cases to others; claim it for yourself instead",
                needs=[Permission.USERS_ADMIN.value],
            )
        assignee, force = body.assignee, True
    else:
        assignee, force = (who.name if body.claim else None), False
    service = request.app.state.service
    held = service.assign(case_id, assignee, actor=who.name, force=force)
    return {"case_id": case_id, "assignee": held}


@router.post("/v1/cases/{case_id}/appeals", status_code=201)
async def appeal(case_id: RowId, body: AppealIn, request: Request) -> dict[str, Any]:
    """Appeal a decision (an internal complaint): the case reopens in the appeals queue for a
    different reviewer. From a platform (for its uploader, token with items:write) or from a
    notifier with the receipt of their notice on this case."""
    service = request.app.state.service
    if request.headers.get("authorization"):
        who = await _sender(
            request,
            "appeals come from a platform or a notifier with a receipt",
            Permission.ITEMS_WRITE,
        )
        filed_by = who.name
    else:
        receipt = body.receipt or ""
        state = await run_in_threadpool(service.cases.state_for_receipt, case_id, receipt)
        if state is None:
            raise Problem(
                401,
                "unauthenticated",
                "Authentication required",
                "send the receipt of your notice on this case, or a platform token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        filed_by = f"notifier:{receipt[:13]}"
    appeal_id = await run_in_threadpool(
        partial(service.appeal, case_id, reasons=body.reasons, filed_by=filed_by)
    )
    return {"appeal_id": appeal_id, "case_id": case_id, "state": "appealed"}


@router.get("/v1/notifiers")
def notifiers(
    request: Request, _: Principal = Depends(require(Permission.AUDIT_READ))
) -> list[dict[str, Any]]:
    """Per notifier: notices sent, complete ones, upheld ones, and whether suspended."""
    return request.app.state.service.notifiers.counts()


@router.post("/v1/notifiers/suspensions")
def suspend_notifier(
    body: SuspensionIn,
    request: Request,
    who: Principal = Depends(require(Permission.SETTINGS_ADMIN)),
) -> dict[str, Any]:
    """Suspend a notifier, with the reason (``reason`` given), or lift the suspension (no
    ``reason``). Recorded in the custody log with the actor."""
    store = request.app.state.service.notifiers
    now = request.app.state.service.now()
    if body.reason:
        store.suspend(body.notifier, reason=body.reason, actor=who.name, now=now)
    else:
        store.lift(body.notifier, actor=who.name, now=now)
    return {"notifier": body.notifier, "suspended": bool(body.reason)}
