"""The wellness page: a reviewer's own veil (blur, greyscale, muted video) within the limits
the organisation sets, today's exposure, and, for admins (``settings:admin``), the
organisation's defaults, limits and daily reveal limit. Every signed-in user has the page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission
from jikimi.console.sessions import SignedIn
from jikimi.console.web import ConsoleForbidden, form, render, signed_in
from jikimi.console.wellness import (
    BLUR_STEPS,
    Organisation,
    Personal,
    WellnessStore,
    effective,
    parse_organisation,
    parse_personal,
)

router = APIRouter(include_in_schema=False)


def store(request: Request) -> WellnessStore:
    ws = request.app.state.service.ws
    return WellnessStore(ws.sessions, ws.custody)


def _page(
    request: Request,
    who: SignedIn,
    *,
    org: Organisation,
    own: Personal,
    revealed: int,
    problems: list[tuple[str, str]] | None = None,
    scope: str | None = None,
    saved: str | None = None,
    status: int = 200,
) -> Response:
    veil = effective(org, own)
    context: dict[str, Any] = {
        "org": org,
        "veil": veil,
        "steps": BLUR_STEPS,
        "user_steps": [s for s in BLUR_STEPS if s >= org.min_blur_px],
        "revealed": revealed,
        "over": veil.over_limit(revealed),
        "admin": who.principal.can(Permission.SETTINGS_ADMIN),
        "problems": dict(problems or []),
        "scope": scope,
        "saved": saved,
    }
    return render(request, "wellness.html", context, who=who, status=status)


async def _state(request: Request, who: SignedIn) -> tuple[Organisation, Personal, int]:
    wellness = store(request)

    def read() -> tuple[Organisation, Personal, int]:
        return (
            wellness.organisation(),
            wellness.personal(who.principal.user_id),
            wellness.revealed_today(who.principal.name),
        )

    return await run_in_threadpool(read)


@router.get("/console/wellness")
async def wellness_page(request: Request, who: SignedIn = Depends(signed_in)) -> Response:
    org, own, revealed = await _state(request, who)
    saved = request.query_params.get("saved")
    return _page(
        request,
        who,
        org=org,
        own=own,
        revealed=revealed,
        saved=saved if saved in ("personal", "organisation") else None,
    )


@router.post("/console/wellness")
async def save_wellness(request: Request, who: SignedIn = Depends(signed_in)) -> Response:
    """``scope=personal``: the user's own choices; ``scope=organisation``: an admin's."""
    fields = await form(request, who)
    wellness = store(request)
    org, own, revealed = await _state(request, who)
    scope = "organisation" if fields.get("scope") == "organisation" else "personal"
    if scope == "organisation":
        if not who.principal.can(Permission.SETTINGS_ADMIN):
            raise ConsoleForbidden(who, (Permission.SETTINGS_ADMIN,))
        new_org, problems = parse_organisation(fields)
    else:
        new_own, problems = parse_personal(fields, org)
    if problems:
        return _page(
            request,
            who,
            org=org,
            own=own,
            revealed=revealed,
            problems=problems,
            scope=scope,
            status=422,
        )
    if scope == "organisation":
        await run_in_threadpool(
            lambda: wellness.set_organisation(new_org, actor=who.principal.name)
        )
    else:
        await run_in_threadpool(wellness.set_personal, who.principal.user_id, new_own)
    return RedirectResponse(f"/console/wellness?saved={scope}", status_code=303)
