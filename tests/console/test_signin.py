"""Signing in and out, CSRF, the language switch, and which console pages need a session."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from tests.console.conftest import Served, browser_sign_in, csrf_of, screenshot, sign_in

from jikimi.console.i18n import catalog, load
from jikimi.console.routes import CONSOLE_MODULES, PUBLIC_CONSOLE_ROUTES

ORIGIN = {"origin": "http://testserver"}


def test_every_console_page_but_the_public_ones_needs_a_session(console: TestClient) -> None:
    routes = [r for m in CONSOLE_MODULES for r in m.router.routes if isinstance(r, APIRoute)]
    guarded = [r for r in routes if r.path not in PUBLIC_CONSOLE_ROUTES]
    assert guarded
    for route in guarded:
        path = route.path
        for name in ("case_id", "task_id", "name", "sha256", "entry_id", "person_id", "prefix"):
            path = path.replace("{" + name + "}", "1")
        for method in route.methods:
            r = console.request(method, path, follow_redirects=False)
            assert r.status_code == 303, (method, route.path, r.status_code)
            assert r.headers["location"].startswith("/console/login")


def test_sign_in_and_out(console: TestClient) -> None:
    page = console.get("/console/login")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    wrong = console.post(
        "/console/login",
        data={"name": "test-moderator", "password": "nope", "csrf": csrf_of(page.text)},
        headers=ORIGIN,
    )
    assert wrong.status_code == 401 and 'id="login-error"' in wrong.text
    sign_in(console, "test-moderator")
    cookie = console.cookies.get("jikimi_session")
    assert cookie
    home = console.get("/console", follow_redirects=False)
    assert home.status_code == 303 and home.headers["location"] == "/console/queues"
    wellness = console.get("/console/wellness")
    csrf = csrf_of(wellness.text)
    out = console.post(
        "/console/logout", data={"csrf": csrf}, headers=ORIGIN, follow_redirects=False
    )
    assert out.status_code == 303
    console.cookies.set("jikimi_session", cookie)  # the old cookie is dead on the server
    assert (
        console.get("/console", follow_redirects=False)
        .headers["location"]
        .startswith("/console/login")
    )


def test_a_form_without_its_token_or_from_elsewhere_is_refused(console: TestClient) -> None:
    sign_in(console, "test-moderator")
    csrf = csrf_of(console.get("/console/wellness").text)
    no_token = console.post("/console/logout", data={}, headers=ORIGIN)
    assert no_token.status_code == 403
    elsewhere = console.post(
        "/console/logout", data={"csrf": csrf}, headers={"origin": "https://evil.example"}
    )
    assert elsewhere.status_code == 403
    assert console.get("/console", follow_redirects=False).status_code == 303  # still signed in


def test_a_disabled_user_is_out_at_once(console: TestClient, service: Any) -> None:
    sign_in(console, "test-moderator")
    assert console.get("/console/wellness").status_code == 200
    service.ws.users.disable("test-moderator", actor="tester")
    r = console.get("/console/wellness", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")


def test_the_next_page_after_sign_in_is_never_another_site(console: TestClient) -> None:
    page = console.get("/console/login?next=//evil.example/x")
    assert 'name="next" value="/console"' in page.text


def test_every_text_is_in_both_languages() -> None:
    texts = catalog()
    assert "nav.queues" in texts
    assert texts.text("nav.queues", "ko") == "대기열"
    bad = {"x.yaml": "a: {en: 'Case {id}', ko: '사건'}"}
    try:
        load(bad)
    except ValueError as exc:
        assert "placeholders" in str(exc)
    else:
        raise AssertionError("a text with other placeholders per language was accepted")


def test_in_a_browser_sign_in_and_switch_language(page: Any, served: Served) -> None:
    page.goto(f"{served.base}/console/queues")
    assert "/console/login" in page.url
    screenshot(page, "sign-in")
    browser_sign_in(page, served, "moderator")
    assert "/console/login" not in page.url
    page.click("button[name=language][value=ko]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("#sign-out").inner_text() == "로그아웃"
    page.click("button[name=language][value=en]")
    page.wait_for_load_state()
    assert page.locator("#sign-out").inner_text() == "Sign out"
