"""``POST /v1/items`` (ingest an item: verdict and case out) and ``GET /v1/items/{id}``."""

from __future__ import annotations

from functools import partial
from typing import Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission, Principal, Role
from jikimi.store.items_repo import NewItem
from jikimi.web.api.check import BODY_DOC, analysis_json
from jikimi.web.api.schemas import ItemIn, RowId, body_schema
from jikimi.web.auth import require
from jikimi.web.problems import Problem
from jikimi.web.requests import read_request
from jikimi.workspace import TOOL

router = APIRouter(tags=["items"])

ITEM_BODY_DOC = {
    "requestBody": {
        "content": {
            "application/json": {"schema": body_schema(ItemIn)},
            "multipart/form-data": BODY_DOC["requestBody"]["content"]["multipart/form-data"],
        }
    }
}


@router.post("/v1/items", status_code=201, openapi_extra=ITEM_BODY_DOC)
async def ingest(
    request: Request,
    response: Response,
    who: Principal = Depends(require(Permission.ITEMS_WRITE)),
) -> dict[str, Any]:
    """Ingest an item with its platform metadata and media (multipart: files under ``media``,
    the metadata as JSON under ``item``; or JSON alone with ``signals``/``text``). Answers 201
    with the item id, verdict and case id; 200 with the first item when ``external_id`` was
    sent before. Media are hashed exactly; kept only if the workspace keeps media."""
    service = request.app.state.service
    async with read_request(request, ItemIn, service.tmp, meta_field="item") as parsed:
        meta: ItemIn = parsed.meta  # type: ignore[assignment]
        item = NewItem(
            platform=meta.platform,
            submitted_by=who.name,
            chat_id=meta.chat_id,
            message_id=meta.message_id,
            url=meta.url,
            author_id=meta.author_id,
            posted_at=meta.posted_at,
            text=meta.text,
            meta={**meta.meta, **_text_meta(meta)},
            external_id=meta.external_id,
        )
        work = partial(
            service.ingest,
            item,
            parsed.uploads,
            text=meta.text_input(),
            signals=list(meta.signals.items()),
            actor=who.name,
            file_ids=meta.file_ids,
        )
        recorded, analysis = await to_thread.run_sync(work, limiter=service.cpu_limiter)
    out: dict[str, Any] = {
        "item_id": recorded.item_id,
        "case_id": recorded.case_id,
        "verdict_id": recorded.verdict_id,
        "created": recorded.created,
    }
    if analysis is None:
        response.status_code = 200
        stored = await run_in_threadpool(service.items.get, recorded.item_id)
        out["verdict"] = stored["verdicts"][0] if stored and stored["verdicts"] else None
        return out
    out.update(analysis_json(analysis, show_matches=who.can(Permission.MATCH)))
    return out


def _text_meta(meta: ItemIn) -> dict[str, Any]:
    return {
        k: v
        for k, v in (("chat_title", meta.chat_title), ("author_username", meta.author_username))
        if v
    }


@router.get("/v1/items/{item_id}")
def get_item(
    item_id: RowId, request: Request, who: Principal = Depends(require(Permission.ITEMS_READ))
) -> dict[str, Any]:
    """An item: location, text, media with signals and findings, verdicts, case. Items whose
    verdict suspects a minor are visible to the ``child_safety`` role only; a platform sees
    the items it sent. Every view is an audit event."""
    service = request.app.state.service
    item = service.items.get(item_id)
    hidden = item is None
    if item is not None:
        minors = any(v["suspected_minor"] for v in item["verdicts"])
        hidden = (minors and not who.can(Permission.MINORS_VIEW)) or (
            who.role == Role.PLATFORM and item["submitted_by"] != who.name
        )
    if hidden:
        # The same answer whether the item does not exist or may not be seen.
        raise Problem(404, "not-found", "Not found", f"no item {item_id} that you may see")
    service.ws.custody.append(
        "item.viewed",
        f"item:{item_id}",
        {"role": who.role.value, "token_id": who.token_id},
        actor=who.name,
        tool_version=TOOL,
    )
    return item
