"""Errors as RFC 9457 problem details (``application/problem+json``).

Every error response has ``type``, ``title``, ``status`` and a ``detail`` that says what was
wrong and how to fix it; some add members (``errors`` for invalid fields, ``missing``,
``retry_after``). ``type`` is ``urn:jikimi:problem:<code>``; the codes are listed in
docs/api.md. Request bodies and media are never echoed or logged.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from jikimi import errors

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("jikimi.web")


class Problem(Exception):
    """Raise anywhere in a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:jikimi:problem:{problem.code}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
    }
    if instance:
        body["instance"] = instance
    body.update(problem.extra)
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


# JikimiError subclasses by the status they mean; the first match (most specific) wins.
_STATUS: tuple[tuple[type[errors.JikimiError], int, str, str], ...] = (
    (errors.BankNotFound, 404, "not-found", "Not found"),
    (errors.EntryNotFound, 404, "not-found", "Not found"),
    (errors.UserNotFound, 404, "not-found", "Not found"),
    (errors.PersonNotFound, 404, "not-found", "Not found"),
    (errors.CaseNotFound, 404, "not-found", "Not found"),
    (errors.CaseError, 409, "conflict", "Not possible in this state"),
    (errors.IndexesLoading, 503, "not-ready", "Starting up"),
    (errors.BankExists, 409, "conflict", "Already exists"),
    (errors.UserExists, 409, "conflict", "Already exists"),
    (errors.OutboxError, 409, "conflict", "Not possible in this state"),
    (errors.AuthenticationFailed, 401, "unauthenticated", "Authentication failed"),
    (errors.SignalValueError, 422, "invalid-signal", "Invalid signal value"),
    (errors.UnknownSignalType, 422, "invalid-signal", "Unknown signal type"),
    (errors.ImportFormatError, 422, "invalid-input", "Invalid input"),
    (errors.PolicyError, 422, "invalid-policy", "Invalid policy"),
    (errors.StatementError, 422, "invalid-decision", "Decision refused"),
    (errors.MediaError, 422, "invalid-media", "Media cannot be processed"),
    (errors.JikimiError, 422, "invalid-input", "Request refused"),
)


def problem_for(exc: errors.JikimiError) -> Problem:
    for cls, status, code, title in _STATUS:
        if isinstance(exc, cls):
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            if status == 503:
                headers = {"Retry-After": "5"}
            extra = {"problems": exc.problems} if isinstance(exc, errors.StatementError) else {}
            return Problem(status, code, title, str(exc), headers=headers, **extra)
    raise AssertionError("JikimiError is in the table")  # pragma: no cover


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request.url.path)

    @app.exception_handler(errors.JikimiError)
    async def _jikimi(request: Request, exc: errors.JikimiError) -> JSONResponse:
        return problem_response(problem_for(exc), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            # Never echo the input: it may be a secret or part of the content.
            {"field": _field(e.get("loc", ())), "message": e.get("msg", "invalid")}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        problem = Problem(
            422,
            "invalid-request",
            "Invalid request",
            f"the request does not match the schema ({summary}); fix these fields, the schema "
            "is at /openapi.json",
            errors=fields,
        )
        return problem_response(problem, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404:
            detail = f"no route {request.url.path}; the API is described at /docs"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}; see /docs"
        problem = Problem(
            exc.status_code,
            "http-" + str(exc.status_code),
            detail.split(";")[0][:80],
            detail,
            headers=dict(exc.headers or {}),
        )
        return problem_response(problem, request.url.path)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        incident = uuid.uuid4().hex[:12]
        # The traceback names the code path, never the request body.
        log.error(
            "unhandled error %s on %s %s", incident, request.method, request.url.path, exc_info=exc
        )
        problem = Problem(
            500,
            "internal",
            "Internal error",
            f"the service failed on this request (incident {incident}). Retry (an item sent "
            "with an external_id is never recorded twice); if it persists, give the operator "
            "the incident id",
            incident=incident,
        )
        return problem_response(problem, request.url.path)
