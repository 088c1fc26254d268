"""The console's own stylesheet, script and chart code, served by the app (no CDN)."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import Response

from jikimi.console.web import SECURITY_HEADERS

router = APIRouter(include_in_schema=False)

_NAME = re.compile(r"[a-z0-9_-]{1,64}\.(css|js|svg)")
_TYPES = {"css": "text/css", "js": "text/javascript", "svg": "image/svg+xml"}


@cache
def _read(name: str) -> bytes | None:
    entry = files("jikimi.console").joinpath("static", name)
    return entry.read_bytes() if entry.is_file() else None


@router.get("/console/static/{name}")
def static(name: str) -> Response:
    body = _read(name) if _NAME.fullmatch(name) else None
    if body is None:
        return Response("not found", status_code=404, media_type="text/plain")
    headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"}
    return Response(body, media_type=_TYPES[name.rsplit(".", 1)[1]], headers=headers)
