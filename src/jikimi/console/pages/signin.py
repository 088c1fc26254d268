"""Signing in and out, the language switch, and the console's front door."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission
from jikimi.console.i18n import LANGUAGES
from jikimi.console.sessions import SignedIn
from jikimi.console.web import COOKIE, LANG_COOKIE, form, render, set_cookie, signed_in
from jikimi.errors import AuthenticationFailed

router = APIRouter(include_in_schema=False)

LANG_COOKIE_SECONDS = 365 * 24 * 3600


def _next(target: str | None) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    if target and target.startswith("/console/") and "//" not in target and "\\" not in target:
        return target
    return "/console"


@router.get("/console/login")
async def login_page(request: Request, next: str | None = None) -> Response:
    store = request.app.state.console_sessions
    if await run_in_threadpool(store.resolve, request.cookies.get(COOKIE)) is not None:
        return RedirectResponse(_next(next), status_code=303)
    return render(request, "login.html", {"next": _next(next), "error": None, "name": ""})


@router.post("/console/login")
async def login(request: Request) -> Response:
    fields = await form(request)
    name, password = fields.get("name", "")[:200], fields.get("password", "")[:1024]
    target = _next(fields.get("next"))
    users = request.app.state.service.ws.users
    try:
        who = await run_in_threadpool(users.login, name, password)
    except AuthenticationFailed:
        context = {"next": target, "error": "login.failed", "name": name}
        return render(request, "login.html", context, status=401)
    token = await run_in_threadpool(request.app.state.console_sessions.start, who)
    response = RedirectResponse(target, status_code=303)
    set_cookie(request, response, COOKIE, token)
    return response


@router.post("/console/logout")
async def logout(request: Request, who: SignedIn = Depends(signed_in)) -> Response:
    await form(request, who)
    store = request.app.state.console_sessions
    await run_in_threadpool(store.end, request.cookies.get(COOKIE), actor=who.principal.name)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.post("/console/language")
async def language(request: Request) -> Response:
    """Switch the language: a signed-in user's is kept with their account; a visitor's (the
    public form) in a cookie."""
    store = request.app.state.console_sessions
    who = await run_in_threadpool(store.resolve, request.cookies.get(COOKIE))
    fields = await form(request, who)
    chosen = fields.get("language", "")
    back = fields.get("back", "")
    back = back if back.startswith(("/console", "/report")) and "//" not in back else "/console"
    response = RedirectResponse(back, status_code=303)
    if chosen not in LANGUAGES:
        return response
    if who is not None:
        await run_in_threadpool(store.set_locale, who.principal.user_id, chosen)
    else:
        set_cookie(request, response, LANG_COOKIE, chosen, max_age=LANG_COOKIE_SECONDS)
    return response


@router.get("/console")
async def home(who: SignedIn = Depends(signed_in)) -> Response:
    """The first page a role works on."""
    can = who.principal.can
    if can(Permission.CASES_DECIDE) or can(Permission.AUDIT_READ):
        return RedirectResponse("/console/queues", status_code=303)
    if can(Permission.USERS_ADMIN):
        return RedirectResponse("/console/admin", status_code=303)
    return RedirectResponse("/console/wellness", status_code=303)
