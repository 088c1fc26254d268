"""Who is calling, and may they: bearer tokens checked on the server for every route.

``require(Permission.X)`` is a FastAPI dependency that answers 401 (no or bad token, with
``WWW-Authenticate: Bearer``) or 403 (a valid token whose role lacks the permission), and
otherwise hands the route its :class:`~jikimi.accounts.roles.Principal`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from jikimi.accounts.roles import Permission, Principal
from jikimi.errors import AuthenticationFailed
from jikimi.web.problems import Problem

BEARER = "bearer "


def _unauthenticated(detail: str) -> Problem:
    return Problem(
        401,
        "unauthenticated",
        "Authentication required",
        detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith(BEARER):
        raise _unauthenticated(
            "send an API token as `Authorization: Bearer <token>` (an admin makes one with "
            "`jikimi user token NAME`)"
        )
    token = header[len(BEARER) :].strip()
    users = request.app.state.service.ws.users
    # Most requests come with a token checked moments ago: answered on the event loop, no
    # thread hop. Otherwise the database is asked, off the loop.
    known = users.cached_principal(token)
    if known is not None:
        return known
    try:
        return await run_in_threadpool(users.authenticate, token)
    except AuthenticationFailed:
        raise _unauthenticated(
            "the token is unknown, expired, revoked or its user is disabled; ask an admin "
            "for a new one"
        ) from None


def require(*needed: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits callers whose role has every permission in ``needed``."""

    def check(who: Principal = Depends(principal)) -> Principal:
        missing = [p.value for p in needed if not who.can(p)]
        if missing:
            raise Problem(
                403,
                "forbidden",
                "Not allowed",
                f"the role {who.role.value!r} may not do this (needs {', '.join(missing)}); "
                "ask an admin for a user with a role that may",
                needs=missing,
            )
        return who

    return check
