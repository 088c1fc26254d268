"""Administration (``/console/admin``): the overview, and what every admin page shares.

The sections are their own modules (``admin_banks``, ``admin_persons``, ``admin_users``,
``admin_policy``, ``admin_outbox``); each asks for the permission the API (or, where there is
no API, the nearest one) asks for, and makes its changes through the same stores and service
calls as the API, so the custody events are the same whichever door a change came through.

After a change a page redirects (303) back with ``?done=<key>``: the confirmation is one of
:data:`DONE` (translated), never text taken from the address.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission
from jikimi.console.sessions import SignedIn
from jikimi.console.web import ConsoleForbidden, render, signed_in

router = APIRouter(include_in_schema=False)

_P = Permission

# (path, text key, the permission that opens it), in the order the pages list them.
SECTIONS: tuple[tuple[str, str, Permission], ...] = (
    ("/console/admin/banks", "admin.nav.banks", _P.BANKS_READ),
    ("/console/admin/persons", "admin.nav.persons", _P.BANKS_WRITE),
    ("/console/admin/users", "admin.nav.users", _P.USERS_ADMIN),
    ("/console/admin/policy", "admin.nav.policy", _P.SETTINGS_ADMIN),
    ("/console/admin/outbox", "admin.nav.outbox", _P.OUTBOX_ADMIN),
)
# Any of these opens the overview (reading banks alone does not make an administrator).
ADMIN_PERMISSIONS = (_P.BANKS_WRITE, _P.USERS_ADMIN, _P.SETTINGS_ADMIN, _P.OUTBOX_ADMIN)

DONE = frozenset(
    {
        "bank_created",
        "entry_withdrawn",
        "person_deleted",
        "user_added",
        "user_disabled",
        "password_set",
        "token_revoked",
        "policy_reloaded",
        "retried",
        "dropped",
    }
)


def sections(who: SignedIn) -> list[tuple[str, str]]:
    return [(path, key) for path, key, need in SECTIONS if who.principal.can(need)]


def when(at: datetime | None) -> str:
    """A time as the admin pages show it (UTC, to the minute)."""
    return "—" if at is None else at.strftime("%Y-%m-%d %H:%M UTC")


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    who: SignedIn,
    *,
    status: int = 200,
) -> HTMLResponse:
    """An admin page: :func:`~jikimi.console.web.render` with the sections the user may open,
    the confirmation of the last change, the time format and a permission test."""
    done = request.query_params.get("done")
    values = {
        "sections": sections(who),
        "done": done if done in DONE else None,
        "when": when,
        "can": lambda name: who.principal.can(Permission(name)),
        **context,
    }
    return render(request, template, values, who=who, status=status)


def not_found(request: Request, who: SignedIn) -> HTMLResponse:
    context = {"title": "error.not_found_title", "detail": "error.not_found"}
    return render(request, "error.html", context, who=who, status=404)


def back(path: str, done: str, **query: str | int) -> RedirectResponse:
    """See Other, back to ``path`` with the confirmation ``done`` (and ``query``)."""
    assert done in DONE
    return RedirectResponse(f"{path}?{urlencode({**query, 'done': done})}", status_code=303)


def number(text: str | None, *, low: int, high: int) -> int | None:
    """A whole number in ``[low, high]`` typed into a form, or None."""
    text = (text or "").strip()
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 12:
        return None
    value = int(text)
    return value if low <= value <= high else None


async def administrator(who: SignedIn = Depends(signed_in)) -> SignedIn:
    if not any(who.principal.can(p) for p in ADMIN_PERMISSIONS):
        raise ConsoleForbidden(who, ADMIN_PERMISSIONS)
    return who


@router.get("/console/admin")
async def overview(request: Request, who: SignedIn = Depends(administrator)) -> Response:
    """The sections the user may open, each with its headline number."""
    service = request.app.state.service
    can = who.principal.can

    def figures() -> dict[str, Any]:
        out: dict[str, Any] = {}
        if can(_P.BANKS_READ):
            out["banks"] = len(service.ws.banks.list())
        if can(_P.BANKS_WRITE):
            out["persons"] = len(service.ws.persons.list())
        if can(_P.USERS_ADMIN):
            out["users"] = sum(1 for u in service.ws.users.list() if u.disabled_at is None)
        if can(_P.SETTINGS_ADMIN):
            out["policy"] = service.policy.current.version
        if can(_P.OUTBOX_ADMIN):
            out["outbox"] = service.outbox.counts().get("dead", 0)
        return out

    return page(request, "admin.html", {"figures": await run_in_threadpool(figures)}, who)
