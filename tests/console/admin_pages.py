"""Helpers for the administration page tests: sign in, post a form or an upload as a browser
does (CSRF field, same-site ``Origin``), read back the page."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from tests.console.conftest import csrf_of, sign_in
from tests.web.helpers import bearer

from jikimi.web.service import Service

ORIGIN = {"origin": "http://testserver"}


def signed_in(console: TestClient, role: str, page: str = "/console/admin/banks") -> str:
    """Sign in as ``test-<role>``; the session's CSRF token (read from ``page``)."""
    sign_in(console, f"test-{role}")
    r = console.get(page)
    assert r.status_code == 200, (page, r.status_code)
    return csrf_of(r.text)


def post(console: TestClient, path: str, csrf: str, **fields: str) -> Any:
    return console.post(path, data={**fields, "csrf": csrf}, headers=ORIGIN, follow_redirects=False)


def upload(
    console: TestClient,
    path: str,
    csrf: str | None,
    files: list[tuple[str, tuple[str, bytes, str]]],
    headers: dict[str, str] | None = None,
    **fields: str,
) -> Any:
    data = dict(fields) if csrf is None else {**fields, "csrf": csrf}
    return console.post(
        path,
        data=data,
        files=files,
        headers={**ORIGIN, **(headers or {})},
        follow_redirects=False,
    )


def matches(console: TestClient, token: str, signal_type: str, value: str) -> list[dict]:
    r = console.get(
        "/v1/match", params={"signal_type": signal_type, "value": value}, headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    return r.json()["matches"]


def park_watcher(service: Service) -> None:
    """Stop the index watcher from rebuilding, so a match proves the change was applied in
    place (as the API's tests do)."""
    service.options.watch_seconds = 3600
    time.sleep(0.5)
