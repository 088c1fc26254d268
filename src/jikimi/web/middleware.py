"""Plain ASGI middleware (no per-request task overhead): request size limits and metrics."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jikimi.web.metrics import Metrics
from jikimi.web.problems import Problem, problem_response


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuses bodies over ``limit`` bytes with 413 before they are read whole: at once when
    ``Content-Length`` says so, else as soon as the streamed bytes pass the limit. ``routes``
    gives some paths their own limit, as ``path: (bytes, setting name)``."""

    def __init__(
        self, app: ASGIApp, limit: int, routes: Mapping[str, tuple[int, str]] | None = None
    ) -> None:
        self.app = app
        self.limit = limit
        self.routes = dict(routes or {})

    def _problem(self, limit: int, setting: str) -> Problem:
        return Problem(
            413,
            "too-large",
            "Request too large",
            f"the request body is over {limit} bytes (the {setting} setting); "
            "send a smaller file or ask the operator to raise the limit",
            limit=limit,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self.routes.get(scope.get("path", ""), (self.limit, "max_upload_bytes"))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await problem_response(self._problem(limit, setting), scope.get("path"))(
                scope, receive, send
            )
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await problem_response(self._problem(limit, setting), scope.get("path"))(
                    scope, receive, send
                )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestMetrics:
    """Counts requests and times them by route template (``/v1/items/{item_id}``)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = _route(scope)
            method = scope.get("method", "")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def _route(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
