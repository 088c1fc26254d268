"""Users and API tokens (``/console/admin/users``), for ``users:admin``.

The same :class:`~jikimi.accounts.store.UserStore` calls as ``jikimi user ...``, with the
signed-in administrator as the actor (``user.created``, ``user.disabled``,
``user.password_changed``, ``token.issued``, ``token.revoked``). A new token is shown once, on
the page that answers the form that issued it (``no-store``, never redirected to); the store
keeps only its digest, so no page can show it again. Disabling a user ends their console
sessions at once (sessions check the user on every request) and revokes their tokens.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission, Role
from jikimi.accounts.store import MAX_TOKEN_DAYS
from jikimi.console.pages.admin import back, not_found, number, page
from jikimi.console.sessions import SignedIn
from jikimi.console.web import form, permitted
from jikimi.errors import AccountError, UserExists, UserNotFound
from jikimi.store.models import utcnow

router = APIRouter(include_in_schema=False)

_ADMIN = Permission.USERS_ADMIN
ROLES = tuple(r.value for r in Role)


def _user_path(name: str) -> str:
    return "/console/admin/users/" + quote(name, safe="")


async def _users_context(request: Request, **extra: Any) -> dict[str, Any]:
    users = await run_in_threadpool(request.app.state.service.ws.users.list)
    return {
        "users": users,
        "roles": ROLES,
        "now": utcnow(),
        "form": {"name": "", "role": "moderator"},
        "error": None,
        "detail": None,
        **extra,
    }


@router.get("/console/admin/users")
async def users_page(request: Request, who: SignedIn = Depends(permitted(_ADMIN))) -> Response:
    return page(request, "admin_users.html", await _users_context(request), who)


def _password(fields: dict[str, str]) -> tuple[str | None, str | None]:
    """The password typed twice, and the key of a problem (both None: no password given)."""
    password = fields.get("password", "")
    if not password and not fields.get("password_again", ""):
        return None, None
    if password != fields.get("password_again", ""):
        return None, "admin.users.error.mismatch"
    return password, None


@router.post("/console/admin/users")
async def add_user(request: Request, who: SignedIn = Depends(permitted(_ADMIN))) -> Response:
    """Add a user with a role and an initial password (none for ``platform``)."""
    fields = await form(request, who)
    users = request.app.state.service.ws.users
    name, role = fields.get("name", "").strip()[:200], fields.get("role", "")
    password, problem = _password(fields)
    detail = None
    if problem is None and role not in ROLES:
        problem = "admin.users.error.role"
    elif problem is None and role == Role.PLATFORM and password is not None:
        problem = "admin.users.error.platform_password"
    elif problem is None and role != Role.PLATFORM and password is None:
        problem = "admin.users.error.password_needed"
    if problem is None:
        try:
            info = await run_in_threadpool(
                lambda: users.add(name, role, password=password, actor=who.principal.name)
            )
        except UserExists:
            problem = "admin.users.error.exists"
        except AccountError as exc:
            problem, detail = "admin.users.error.refused", str(exc)
        else:
            return back(_user_path(info.name), "user_added")
    values = {"name": name, "role": role}
    context = await _users_context(request, form=values, error=problem, detail=detail)
    status = 409 if problem == "admin.users.error.exists" else 400
    return page(request, "admin_users.html", context, who, status=status)


async def _user_context(request: Request, name: str, **extra: Any) -> dict[str, Any] | None:
    service = request.app.state.service

    def load() -> dict[str, Any] | None:
        try:
            return {"user": service.ws.users.get(name), "tokens": service.ws.users.tokens(name)}
        except UserNotFound:
            return None

    loaded = await run_in_threadpool(load)
    if loaded is None:
        return None
    return {
        **loaded,
        "now": utcnow(),
        "token_days": service.ws.settings.token_days,
        "max_days": MAX_TOKEN_DAYS,
        "error": None,
        "detail": None,
        **extra,
    }


@router.get("/console/admin/users/{name}")
async def user_page(
    request: Request, name: str, who: SignedIn = Depends(permitted(_ADMIN))
) -> Response:
    context = await _user_context(request, name)
    if context is None:
        return not_found(request, who)
    return page(request, "admin_user.html", context, who)


async def _refused(
    request: Request, who: SignedIn, name: str, key: str, detail: str | None = None
) -> Response:
    context = await _user_context(request, name, error=key, detail=detail)
    if context is None:
        return not_found(request, who)
    return page(request, "admin_user.html", context, who, status=400)


@router.post("/console/admin/users/{name}/disable")
async def disable_user(
    request: Request, name: str, who: SignedIn = Depends(permitted(_ADMIN))
) -> Response:
    await form(request, who)
    users = request.app.state.service.ws.users
    if name.lower() == who.principal.name:
        # Disabling oneself would end this session and could leave no administrator.
        return await _refused(request, who, name, "admin.users.error.self")
    try:
        await run_in_threadpool(lambda: users.disable(name, actor=who.principal.name))
    except UserNotFound:
        return not_found(request, who)
    except AccountError as exc:
        return await _refused(request, who, name, "admin.users.error.refused", str(exc))
    return back(_user_path(name.lower()), "user_disabled")


@router.post("/console/admin/users/{name}/password")
async def set_password(
    request: Request, name: str, who: SignedIn = Depends(permitted(_ADMIN))
) -> Response:
    """Set a new password (this also lifts a sign-in lock)."""
    fields = await form(request, who)
    users = request.app.state.service.ws.users
    password, problem = _password(fields)
    if problem is None and password is None:
        problem = "admin.users.error.password_needed"
    if problem is not None:
        return await _refused(request, who, name, problem)
    assert password is not None
    try:
        await run_in_threadpool(
            lambda: users.set_password(name, password, actor=who.principal.name)
        )
    except UserNotFound:
        return not_found(request, who)
    except AccountError as exc:
        return await _refused(request, who, name, "admin.users.error.refused", str(exc))
    return back(_user_path(name.lower()), "password_set")


@router.post("/console/admin/users/{name}/tokens")
async def issue_token(
    request: Request, name: str, who: SignedIn = Depends(permitted(_ADMIN))
) -> Response:
    """Issue a token and show it on this answer only."""
    fields = await form(request, who)
    service = request.app.state.service
    label = fields.get("label", "").strip()[:200] or None
    typed = fields.get("days", "").strip()
    days = number(typed, low=1, high=MAX_TOKEN_DAYS) if typed else service.ws.settings.token_days
    if days is None:
        return await _refused(request, who, name, "admin.tokens.error.days")
    try:
        token, info = await run_in_threadpool(
            lambda: service.ws.users.issue_token(
                name, actor=who.principal.name, label=label, days=days
            )
        )
    except UserNotFound:
        return not_found(request, who)
    except AccountError as exc:
        return await _refused(request, who, name, "admin.users.error.refused", str(exc))
    context = {"token": token, "info": info, "user_path": _user_path(info.user)}
    return page(request, "admin_token.html", context, who, status=201)


@router.post("/console/admin/users/{name}/tokens/{prefix}/revoke")
async def revoke_token(
    request: Request, name: str, prefix: str, who: SignedIn = Depends(permitted(_ADMIN))
) -> Response:
    await form(request, who)
    users = request.app.state.service.ws.users
    try:
        owned = {t.prefix for t in await run_in_threadpool(users.tokens, name)}
    except UserNotFound:
        return not_found(request, who)
    if prefix not in owned:  # only a token of this user, from this user's page
        return not_found(request, who)
    try:
        await run_in_threadpool(lambda: users.revoke_token(prefix, actor=who.principal.name))
    except AccountError as exc:
        return await _refused(request, who, name, "admin.users.error.refused", str(exc))
    return back(_user_path(name.lower()), "token_revoked")
