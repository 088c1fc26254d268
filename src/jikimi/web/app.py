"""The FastAPI app factory: ``create_app(service)``.

Routes are authenticated with bearer tokens unless listed in :data:`PUBLIC_ROUTES`; roles are
checked on the server (:mod:`jikimi.web.auth`). Errors are RFC 9457 problem documents
(:mod:`jikimi.web.problems`). The service's background threads start with the app and stop
with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from jikimi import __version__
from jikimi.console.routes import mount_console
from jikimi.web import docs_page
from jikimi.web.api import (
    admin,
    banks,
    cases,
    check,
    evidence,
    exchanges,
    exports,
    health,
    items,
    lookup,
    regulators,
    reports,
    stats,
)
from jikimi.web.middleware import BodyLimit, RequestMetrics
from jikimi.web.problems import install_problem_handlers
from jikimi.web.service import Service

# The routers, in the order the API docs list them.
API_MODULES = (
    health,
    check,
    items,
    exports,
    banks,
    lookup,
    cases,
    evidence,
    reports,
    regulators,
    admin,
    exchanges,
    stats,
)

# Routes anyone may call; every other route requires a token (a test enforces this list).
PUBLIC_ROUTES = frozenset(
    {
        "/healthz",
        "/readyz",
        "/metrics",
        "/v1/auth/login",
        "/v1/notices",  # public for takedown requests, DSA notices and user reports
        "/v1/cases/{case_id}/appeals",  # a notifier proves standing with a receipt
        "/openapi.json",
        "/docs",
    }
)


def create_app(service: Service, *, start: bool = True) -> FastAPI:
    """The HTTP app over ``service``. ``start``: run the service's background threads (index
    watcher, outbox dispatcher) for the app's lifetime."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if start:
            service.start()
        try:
            yield
        finally:
            if start:
                service.stop()

    app = FastAPI(
        title="Jikimi",
        version=__version__,
        summary="Find, remove and document deepfake sexual-abuse imagery.",
        description="Authenticate with `Authorization: Bearer <token>` (`jikimi user token`). "
        "Errors are RFC 9457 problem details.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load scripts from a CDN; ours is self-contained
        redoc_url=None,
    )
    app.state.service = service
    install_problem_handlers(app)
    for module in API_MODULES:
        app.include_router(module.router)
    app.include_router(docs_page.router)
    mount_console(app)
    # Outermost first: metrics see every answer, including a 413 from the size limit.
    settings = service.ws.settings
    app.add_middleware(
        BodyLimit,
        limit=settings.max_upload_bytes,
        routes={exports.PATH: (settings.export_max_upload_bytes, "export_max_upload_bytes")},
    )
    app.add_middleware(RequestMetrics, metrics=service.metrics)
    return app
