"""The action outbox's dead letters (``/console/admin/outbox``), for ``outbox:admin``.

Effects the dispatcher gave up on after ``outbox_max_attempts``; an administrator sends one
again (``retry``: attempts start over) or gives up on it with a reason (``drop``), through the
same :class:`~jikimi.actions.outbox.OutboxStore` calls as ``/v1/outbox/{id}/retry|drop``
(``outbox.retried``, ``outbox.dropped`` custody events).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission
from jikimi.console.pages.admin import back, number, page
from jikimi.console.sessions import SignedIn
from jikimi.console.web import form, permitted
from jikimi.errors import OutboxError

router = APIRouter(include_in_schema=False)

_OUTBOX = Permission.OUTBOX_ADMIN
PAGE = 50
MAX_REASON = 2000


async def _context(request: Request, after_id: str | None = None, **extra: Any) -> dict[str, Any]:
    outbox = request.app.state.service.outbox
    after = number(after_id, low=0, high=2**62) or 0

    def load() -> dict[str, Any]:
        return {
            "counts": outbox.counts(),
            "letters": outbox.list(state="dead", limit=PAGE, after_id=after),
        }

    loaded = await run_in_threadpool(load)
    letters = loaded["letters"]
    return {
        **loaded,
        "after_id": after,
        "next_after_id": letters[-1].id if len(letters) == PAGE else None,
        "error": None,
        "detail": None,
        "error_id": None,
        **extra,
    }


@router.get("/console/admin/outbox")
async def outbox_page(
    request: Request, after_id: str | None = None, who: SignedIn = Depends(permitted(_OUTBOX))
) -> Response:
    return page(request, "admin_outbox.html", await _context(request, after_id), who)


async def _refused(
    request: Request, who: SignedIn, key: str, entry: int | None, detail: str | None = None
) -> Response:
    context = await _context(request, error=key, detail=detail, error_id=entry)
    return page(request, "admin_outbox.html", context, who, status=409 if detail else 400)


@router.post("/console/admin/outbox/{entry_id}/retry")
async def retry(
    request: Request, entry_id: str, who: SignedIn = Depends(permitted(_OUTBOX))
) -> Response:
    """Send a dead effect again, as ``POST /v1/outbox/{id}/retry`` does."""
    await form(request, who)
    outbox = request.app.state.service.outbox
    entry = number(entry_id, low=1, high=2**62)
    if entry is None:
        return await _refused(request, who, "admin.outbox.error.unknown", None)
    try:
        await run_in_threadpool(lambda: outbox.retry(entry, actor=who.principal.name))
    except OutboxError as exc:
        return await _refused(request, who, "admin.outbox.error.state", entry, str(exc))
    return back("/console/admin/outbox", "retried")


@router.post("/console/admin/outbox/{entry_id}/drop")
async def drop(
    request: Request, entry_id: str, who: SignedIn = Depends(permitted(_OUTBOX))
) -> Response:
    """Give up on a dead effect with a reason, as ``POST /v1/outbox/{id}/drop`` does."""
    fields = await form(request, who)
    outbox = request.app.state.service.outbox
    entry = number(entry_id, low=1, high=2**62)
    if entry is None:
        return await _refused(request, who, "admin.outbox.error.unknown", None)
    reason = fields.get("reason", "").strip()
    if not reason or len(reason) > MAX_REASON:
        return await _refused(request, who, "admin.outbox.error.reason", entry)
    try:
        await run_in_threadpool(lambda: outbox.drop(entry, reason=reason, actor=who.principal.name))
    except OutboxError as exc:
        return await _refused(request, who, "admin.outbox.error.state", entry, str(exc))
    return back("/console/admin/outbox", "dropped")
