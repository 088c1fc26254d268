"""Public routes: liveness, readiness, metrics, and the password login that issues a token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from jikimi.web.api.schemas import LoginIn

router = APIRouter(tags=["service"])
LOGIN_TOKEN_DAYS = 1


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers (liveness)."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: store reachable and match indexes loaded (503 until then)."""
    checks = request.app.state.service.readiness()
    return JSONResponse(checks, status_code=200 if checks["ready"] else 503)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests, latencies, outbox depth, signals, matches, verdicts,
    actions by outcome. Counts only; no content, no identifiers."""
    return Response(request.app.state.service.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@router.post("/v1/auth/login")
async def login(body: LoginIn, request: Request) -> dict[str, Any]:
    """Exchange a name and password for an API token valid one day. Failures are throttled
    (the user is locked after repeated failures) and never say which part was wrong."""
    users = request.app.state.service.ws.users
    who = await run_in_threadpool(users.login, body.name, body.password)
    token, info = await run_in_threadpool(
        users.issue_token, who.name, actor=who.name, label="login", days=LOGIN_TOKEN_DAYS
    )
    expires = info.expires_at
    return {
        "token": token,
        "role": who.role.value,
        "expires_at": expires.isoformat() if isinstance(expires, datetime) else expires,
    }
