"""The console's routers, its public pages, and its error pages."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.responses import Response

from jikimi.console.pages import (
    admin,
    admin_banks,
    admin_outbox,
    admin_persons,
    admin_policy,
    admin_users,
    appeal,
    case,
    dashboard,
    media,
    queues,
    report,
    signin,
    static,
    wellness,
)
from jikimi.console.sessions import ConsoleSessions
from jikimi.console.web import (
    ConsoleForbidden,
    FormError,
    NotSignedIn,
    render,
    to_sign_in,
)

# The routers of the console, in the order they are mounted.
CONSOLE_MODULES = (
    static,
    signin,
    dashboard,
    report,
    appeal,
    admin,
    admin_banks,
    admin_persons,
    admin_users,
    admin_policy,
    admin_outbox,
    queues,
    case,
    media,
    wellness,
)

# Console paths anyone may open; every other console path needs a signed-in user (a test
# enforces this list).
PUBLIC_CONSOLE_ROUTES = frozenset(
    {
        "/console/static/{name}",
        "/console/login",
        "/console/language",
        "/report",  # the public takedown form (GET, POST)
        "/report/appeal",  # the public appeal page (GET, POST)
    }
)


def mount_console(app: FastAPI) -> None:
    """Add the console's routes, its session store and its error pages to the app."""
    service = app.state.service
    settings = service.ws.settings
    app.state.console_sessions = ConsoleSessions(
        service.ws.sessions,
        service.ws.custody,
        lifetime=timedelta(hours=settings.console_session_hours),
        idle=timedelta(minutes=settings.console_idle_minutes),
    )
    for module in CONSOLE_MODULES:
        app.include_router(module.router)

    async def not_signed_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotSignedIn)
        return to_sign_in(exc.path)

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConsoleForbidden)
        context = {"title": "error.forbidden_title", "detail": "error.forbidden"}
        return render(request, "error.html", context, who=exc.who, status=403)

    async def bad_form(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FormError)
        context = {"title": "error.form_title", "detail": exc.key}
        return render(request, "error.html", context, status=exc.status)

    app.add_exception_handler(NotSignedIn, not_signed_in)
    app.add_exception_handler(ConsoleForbidden, forbidden)
    app.add_exception_handler(FormError, bad_form)
