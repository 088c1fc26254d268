"""Banks and their entries: ``/v1/banks``, ``/v1/banks/{name}``, ``/v1/banks/{name}/entries``.

Reading a bank's settings needs ``banks:read``; listing its entries also needs ``match`` (the
entries are the bank's contents). Every change is written to the store (with its custody
event) and applied to the live match indexes before the answer, so the next lookup sees it.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission, Principal
from jikimi.banks.formats import iter_lines
from jikimi.errors import BankNotFound
from jikimi.matching.matcher import Matcher
from jikimi.web.api.schemas import AfterId, BankIn, EntriesIn, RowId, body_schema, jsonable
from jikimi.web.auth import require
from jikimi.web.requests import invalid, unsupported

router = APIRouter(tags=["banks"])
MAX_PAGE = 1000


@router.get("/v1/banks")
def list_banks(
    request: Request, _: Principal = Depends(require(Permission.BANKS_READ))
) -> list[dict[str, Any]]:
    """Every live bank with its settings and entry counts."""
    return [jsonable(b) for b in request.app.state.service.ws.banks.list()]


@router.post("/v1/banks", status_code=201)
def create_bank(
    body: BankIn, request: Request, who: Principal = Depends(require(Permission.BANKS_WRITE))
) -> dict[str, Any]:
    """Create a bank. ``auto_action``: its matches may remove without a human (only a
    known-abuse bank); ``minors``: it holds child abuse material (routes to child_safety)."""
    service = request.app.state.service
    threshold = body.pdq_threshold
    info = service.ws.banks.create(
        body.name,
        kind=body.kind,
        pdq_threshold=service.ws.settings.pdq_threshold if threshold is None else threshold,
        try_transforms=body.try_transforms,
        auto_action=body.auto_action,
        minors=body.minors,
        actor=who.name,
    )
    spec = info.spec()
    service.apply_in_place(lambda m: m.add_bank(spec))
    return jsonable(info)


@router.get("/v1/banks/{name}")
def get_bank(
    name: str, request: Request, _: Principal = Depends(require(Permission.BANKS_READ))
) -> dict[str, Any]:
    return jsonable(request.app.state.service.ws.banks.get(name))


@router.delete("/v1/banks/{name}", status_code=204)
def delete_bank(
    name: str, request: Request, who: Principal = Depends(require(Permission.BANKS_WRITE))
) -> Response:
    """Delete a bank: its entries leave matching at once; the rows stay for history."""
    service = request.app.state.service
    service.ws.banks.delete(name, actor=who.name)

    def remove(matcher: Matcher) -> None:
        with contextlib.suppress(BankNotFound):  # a rebuild already dropped it
            matcher.remove_bank(name)

    service.apply_in_place(remove)
    return Response(status_code=204)


@router.get("/v1/banks/{name}/entries")
def list_entries(
    name: str,
    request: Request,
    after_id: AfterId = 0,
    limit: int = Query(100, ge=1, le=MAX_PAGE),
    include_withdrawn: bool = False,
    _: Principal = Depends(require(Permission.BANKS_READ, Permission.MATCH)),
) -> dict[str, Any]:
    """A page of a bank's entries, by id. ``next_after_id`` continues."""
    entries = request.app.state.service.ws.banks.entries(
        name, include_withdrawn=include_withdrawn, after_id=after_id, limit=limit
    )
    return {
        "entries": [jsonable(e) for e in entries],
        "next_after_id": entries[-1].entry_id if len(entries) == limit else None,
    }


@router.post(
    "/v1/banks/{name}/entries",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": body_schema(EntriesIn)},
                "text/plain": {
                    "schema": {"type": "string"},
                    "description": "A hash list, one `<signal_type> <value>` per line.",
                },
            }
        }
    },
)
async def add_entries(
    name: str, request: Request, who: Principal = Depends(require(Permission.BANKS_WRITE))
) -> dict[str, Any]:
    """Add entries as JSON, or import a hash list (``text/plain``, the threatexchange format):
    bad lines are rejected with their line number, good ones added."""
    service = request.app.state.service
    banks = service.ws.banks
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = EntriesIn.model_validate_json(await request.body())
        except ValidationError as exc:
            raise invalid(exc, "the JSON body") from None
        pairs = [(s.signal_type, s.value) for s in body.signals]
        added = await run_in_threadpool(
            banks.add, name, pairs, actor=who.name, note=body.note, labels=body.labels
        )
        result: dict[str, Any] = {"added": [jsonable(e) for e in added], "rejected": []}
    elif content_type == "text/plain":
        body_bytes = await request.body()
        report = await run_in_threadpool(
            banks.import_lines,
            name,
            iter_lines(io.BytesIO(body_bytes)),
            fmt="txt",
            actor=who.name,
            source=f"api:{who.name}",
        )
        added = report.added
        result = {
            "added": [jsonable(e) for e in added],
            "duplicates": report.duplicates,
            "rejected": [{"line": n, "reason": r} for n, r in report.rejected],
        }
    else:
        raise unsupported(content_type)
    specs = [e.spec() for e in added]
    service.apply_in_place(lambda m: m.add_entries(specs))
    return result


@router.delete("/v1/banks/{name}/entries/{entry_id}")
def withdraw_entry(
    name: str,
    entry_id: RowId,
    request: Request,
    reason: str | None = Query(None, max_length=2000),
    who: Principal = Depends(require(Permission.BANKS_WRITE)),
) -> dict[str, Any]:
    """Withdraw an entry: out of matching from the next lookup; the row stays (who, when,
    why)."""
    service = request.app.state.service
    info = service.ws.banks.withdraw(name, entry_id, actor=who.name, reason=reason)
    service.apply_in_place(lambda m: m.withdraw(entry_id))
    return jsonable(info)
