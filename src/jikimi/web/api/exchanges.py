"""Hash exchanges: ``GET /v1/exchanges`` (status, never credentials) and
``POST /v1/exchanges/{name}/sync`` (admins). A sync run here applies each committed page to the
live match indexes in place, so the next lookup already sees its additions and withdrawals."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission, Principal
from jikimi.banks.exchanges.kinds import build_registry
from jikimi.banks.exchanges.live import in_place
from jikimi.banks.exchanges.status import status
from jikimi.banks.exchanges.store import ExchangeStore
from jikimi.banks.exchanges.sync import ExchangeSync
from jikimi.errors import (
    ExchangeBusy,
    ExchangeCredentialsError,
    ExchangeError,
    ExchangeNotFound,
    ExchangePageError,
)
from jikimi.store.checkpoints import Checkpoints
from jikimi.web.auth import require
from jikimi.web.problems import Problem

router = APIRouter(tags=["exchanges"])
MAX_SECONDS = 300.0


def _store(request: Request) -> ExchangeStore:
    ws = request.app.state.service.ws
    return ExchangeStore(ws.sessions, ws.master_key)


@router.get("/v1/exchanges")
def list_exchanges(
    request: Request, _: Principal = Depends(require(Permission.BANKS_READ))
) -> list[dict[str, Any]]:
    """Every exchange: settings, where each credential comes from, checkpoint, entry counts,
    last sync and its error."""
    ws = request.app.state.service.ws
    return status(_store(request), ws.banks, Checkpoints(ws.sessions), build_registry())


@router.post("/v1/exchanges/{name}/sync")
async def sync_exchange(
    name: str,
    request: Request,
    max_seconds: float = Query(60.0, gt=0, le=MAX_SECONDS),
    who: Principal = Depends(require(Permission.SETTINGS_ADMIN)),
) -> dict[str, Any]:
    """Sync one exchange for at most ``max_seconds`` (between pages; the next sync resumes)."""
    service = request.app.state.service
    runner = ExchangeSync(service.ws.sessions, _store(request), build_registry(), actor=who.name)
    try:
        result = await run_in_threadpool(
            runner.run,
            name,
            max_seconds=max_seconds,
            on_applied=in_place(service.apply_in_place, service.ws.banks),
        )
    except ExchangeError as exc:
        raise _problem(exc) from None
    return {"exchange": result.exchange, "status": result.status, **result.progress.counts()}


def _problem(exc: ExchangeError) -> Problem:
    if isinstance(exc, ExchangeNotFound):
        return Problem(404, "not-found", "Not found", str(exc))
    if isinstance(exc, ExchangeBusy):
        return Problem(409, "conflict", "Sync already running", str(exc))
    if isinstance(exc, ExchangeCredentialsError | ExchangePageError):
        return Problem(502, "exchange-failed", "The exchange failed", str(exc))
    return Problem(422, "invalid-input", "Request refused", str(exc))
