"""The administration overview, who may open which admin page, and the texts of the pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from tests.console.admin_pages import ORIGIN, signed_in

from jikimi.console.i18n import catalog
from jikimi.console.pages import (
    admin,
    admin_banks,
    admin_outbox,
    admin_persons,
    admin_policy,
    admin_users,
)
from jikimi.console.routes import CONSOLE_MODULES

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
DOC = Path(__file__).resolve().parents[2] / "docs" / "console-admin.md"

BARE_KEY = re.compile(r"admin\.(?:[a-z_]+\.)+[a-z_-]+|admin\.(?:title|intro|yes|no|reason)\b")
ADMIN_MODULES = (admin, admin_banks, admin_persons, admin_users, admin_policy, admin_outbox)
# Pages that need more than reading banks (a moderator has banks:read and match).
CLOSED_TO_MODERATORS = (
    "/console/admin",
    "/console/admin/persons",
    "/console/admin/users",
    "/console/admin/users/test-admin",
    "/console/admin/policy",
    "/console/admin/outbox",
)


@SQLITE
def test_the_overview_shows_each_section_with_its_number(console: TestClient) -> None:
    assert all(m in CONSOLE_MODULES for m in ADMIN_MODULES)
    signed_in(console, "admin")
    page = console.get("/console/admin")
    assert page.status_code == 200
    for section in ("banks", "persons", "users", "policy", "outbox"):
        assert f'id="section-{section}"' in page.text
    assert "Active users: 7" in page.text  # one per role
    assert "Dead letters: 0" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]


@SQLITE
def test_a_moderator_is_refused_every_admin_page_and_form(console: TestClient) -> None:
    csrf = signed_in(console, "moderator")
    for path in CLOSED_TO_MODERATORS:
        r = console.get(path, follow_redirects=False)
        assert r.status_code == 403, path
        assert "Not allowed" in r.text
    posts = [
        route.path
        for module in ADMIN_MODULES
        for route in module.router.routes
        if isinstance(route, APIRoute) and "POST" in route.methods
    ]
    assert len(posts) >= 12
    for path in posts:
        for name in ("name", "entry_id", "person_id", "prefix"):
            path = path.replace("{" + name + "}", "1")
        r = console.post(path, data={"csrf": csrf}, headers=ORIGIN, follow_redirects=False)
        assert r.status_code == 403, path


@SQLITE
def test_an_auditor_sees_banks_but_no_admin_section(console: TestClient) -> None:
    signed_in(console, "auditor")
    assert console.get("/console/admin/banks").status_code == 200
    assert console.get("/console/admin").status_code == 403
    assert console.get("/console/admin/policy").status_code == 403


@SQLITE
def test_every_admin_text_is_in_both_languages(console: TestClient) -> None:
    texts = catalog()
    keys = [k for k in texts._texts if k.startswith("admin.")]
    assert len(keys) > 150
    assert texts.text("admin.title", "ko") == "관리"
    csrf = signed_in(console, "admin")
    console.post(
        "/console/language",
        data={"csrf": csrf, "language": "ko", "back": "/console/admin"},
        headers=ORIGIN,
    )
    for path in (
        "/console/admin",
        "/console/admin/banks",
        "/console/admin/persons",
        "/console/admin/users",
        "/console/admin/users/test-moderator",
        "/console/admin/policy",
        "/console/admin/outbox",
    ):
        page = console.get(path)
        assert page.status_code == 200, path
        assert '<html lang="ko">' in page.text
        assert not BARE_KEY.search(page.text), (path, BARE_KEY.search(page.text))


def test_every_admin_route_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    routes = [
        f"{method} {route.path}"
        for module in ADMIN_MODULES
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
    ]
    assert len(routes) >= 24
    missing = [r for r in routes if f"`{r}`" not in text]
    assert not missing, f"routes missing from docs/console-admin.md: {missing}"
