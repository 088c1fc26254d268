"""Administration: the action outbox's dead letters and the running policy."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission, Principal
from jikimi.web.api.schemas import AfterId, DropIn, RowId, jsonable
from jikimi.web.auth import require
from jikimi.workspace import TOOL

router = APIRouter(tags=["admin"])


@router.get("/v1/outbox")
def list_outbox(
    request: Request,
    state: str | None = Query(None, max_length=16, examples=["dead"]),
    after_id: AfterId = 0,
    limit: int = Query(100, ge=1, le=1000),
    _: Principal = Depends(require(Permission.OUTBOX_ADMIN)),
) -> dict[str, Any]:
    """Effects in the outbox (``state=dead`` for the dead letters), with counts by state."""
    outbox = request.app.state.service.outbox
    entries = outbox.list(state=state, limit=limit, after_id=after_id)
    return {"counts": outbox.counts(), "entries": [jsonable(e) for e in entries]}


@router.get("/v1/outbox/{entry_id}")
def get_outbox(
    entry_id: RowId, request: Request, _: Principal = Depends(require(Permission.OUTBOX_ADMIN))
) -> dict[str, Any]:
    return jsonable(request.app.state.service.outbox.get(entry_id))


@router.post("/v1/outbox/{entry_id}/retry")
def retry_outbox(
    entry_id: RowId, request: Request, who: Principal = Depends(require(Permission.OUTBOX_ADMIN))
) -> dict[str, Any]:
    """Send a dead effect again (attempts start over)."""
    outbox = request.app.state.service.outbox
    outbox.retry(entry_id, actor=who.name)
    return jsonable(outbox.get(entry_id))


@router.post("/v1/outbox/{entry_id}/drop")
def drop_outbox(
    entry_id: RowId,
    body: DropIn,
    request: Request,
    who: Principal = Depends(require(Permission.OUTBOX_ADMIN)),
) -> dict[str, Any]:
    """Give up on a dead effect, with the reason (kept, and in the custody log)."""
    outbox = request.app.state.service.outbox
    outbox.drop(entry_id, reason=body.reason, actor=who.name)
    return jsonable(outbox.get(entry_id))


@router.get("/v1/policy")
def get_policy(
    request: Request, _: Principal = Depends(require(Permission.AUDIT_READ))
) -> dict[str, Any]:
    """The running policy's name, version and source, and the last reload error if any."""
    holder = request.app.state.service.policy
    policy = holder.current
    return {
        "name": policy.name,
        "version": policy.version,
        "source": policy.source,
        "last_error": holder.last_error,
    }


@router.post("/v1/policy/reload")
async def reload_policy(
    request: Request, who: Principal = Depends(require(Permission.SETTINGS_ADMIN))
) -> dict[str, Any]:
    """Load the policy file now. A file that does not validate is refused (422, with file and
    line) and the running policy stays. A settings change: recorded with the actor."""
    service = request.app.state.service
    before = service.policy.current.version
    policy = await run_in_threadpool(service.policy.reload)
    service.ws.custody.append(
        "settings.policy_reloaded",
        "settings:policy",
        {"from": before, "to": policy.version, "source": policy.source},
        actor=who.name,
        tool_version=TOOL,
    )
    return {"name": policy.name, "version": policy.version, "source": policy.source}
