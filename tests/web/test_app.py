"""The app's contract: authentication on every route but the public ones, roles on the server,
problem+json errors, size limits, health, metrics."""

from __future__ import annotations

import logging

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from tests.web.helpers import PASSWORD, bearer, jpeg

from jikimi.web.app import API_MODULES, PUBLIC_ROUTES, create_app
from jikimi.web.service import Service

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

PROBLEM = "application/problem+json"


def _concrete(path: str) -> str:
    return path.replace("{name}", "some-bank").replace("{entry_id}", "1").replace("{item_id}", "1")


def test_every_route_but_the_public_ones_needs_a_token(client: TestClient) -> None:
    routes = [r for m in API_MODULES for r in m.router.routes if isinstance(r, APIRoute)]
    guarded = [r for r in routes if r.path not in PUBLIC_ROUTES]
    assert len(guarded) >= 15
    for route in guarded:
        for method in route.methods:
            r = client.request(method, _concrete(route.path))
            assert r.status_code == 401, (method, route.path, r.status_code)
            assert r.headers["content-type"] == PROBLEM
            assert r.headers["www-authenticate"] == "Bearer"
            body = r.json()
            assert body["status"] == 401 and "jikimi user token" in body["detail"]


def test_public_routes_answer_without_a_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert client.get("/openapi.json").json()["info"]["title"] == "Jikimi"
    page = client.get("/docs").text
    assert "/v1/check" in page and "<script" not in page and "http" not in page.split("</h1>")[0]
    assert client.get("/metrics").status_code == 200


def test_readyz_says_503_until_the_indexes_are_loaded(service: Service) -> None:
    app = create_app(service, start=False)
    with TestClient(app) as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["indexes"] == "loading"
        service.refresh_matcher(force=True)
        assert c.get("/readyz").status_code == 200


def test_bad_tokens_are_refused(client: TestClient, tokens: dict[str, str]) -> None:
    good = tokens["admin"]
    for token in (good[:-1] + ("A" if good[-1] != "A" else "B"), "jkm_nothing", "", "x" * 5000):
        r = client.get("/v1/banks", headers=bearer(token))
        assert r.status_code == 401, token[:20]
    assert client.get("/v1/banks", headers={"Authorization": good}).status_code == 401
    assert client.get("/v1/banks", headers=bearer(good)).status_code == 200


def test_roles_are_checked_on_the_server(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post("/v1/check", json={"text": "hello"}, headers=bearer(tokens["moderator"]))
    assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
    assert r.json()["needs"] == ["check"]
    r = client.post("/v1/banks", json={"name": "b"}, headers=bearer(tokens["auditor"]))
    assert r.status_code == 403
    r = client.get("/v1/banks/x/entries", headers=bearer(tokens["platform"]))
    assert r.status_code == 403 and r.json()["needs"] == ["banks:read"]
    r = client.get("/v1/match?signal_type=md5&value=" + "0" * 32, headers=bearer(tokens["auditor"]))
    assert r.status_code == 403
    r = client.get("/v1/outbox", headers=bearer(tokens["moderator"]))
    assert r.status_code == 403
    assert client.get("/v1/outbox", headers=bearer(tokens["admin"])).status_code == 200
    r = client.post("/v1/check", json={"text": "hello"}, headers=bearer(tokens["platform"]))
    assert r.status_code == 200


def test_errors_are_problem_documents_that_say_what_to_do(
    client: TestClient, tokens: dict[str, str]
) -> None:
    h = bearer(tokens["platform"])
    r = client.get("/v1/nothing-here", headers=h)
    assert r.status_code == 404 and r.headers["content-type"] == PROBLEM
    assert r.json()["type"].startswith("urn:jikimi:problem:")
    as_json = {**h, "content-type": "application/json"}
    r = client.post("/v1/check", content=b"{not json", headers=as_json)
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    r = client.post("/v1/check", json={"text": "x", "surprise": 1}, headers=h)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["surprise"]
    assert "1" not in r.json()["detail"].split("(")[0]  # the input is never echoed
    r = client.post("/v1/check", content=b"abc", headers={**h, "content-type": "text/csv"})
    assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"]
    r = client.post("/v1/check", json={"signals": {"pdq": "nothex"}}, headers=h)
    assert r.status_code == 422 and r.json()["type"].endswith("invalid-signal")
    r = client.post("/v1/check", files={"other": ("a.jpg", jpeg(1), "image/jpeg")}, headers=h)
    assert r.status_code == 422 and "media" in r.json()["detail"]


def test_oversized_bodies_are_refused_before_they_are_read(
    service: Service, tokens: dict[str, str]
) -> None:
    service.ws.settings.max_upload_bytes = 4096
    app = create_app(service)
    with TestClient(app) as c:
        h = bearer(tokens["platform"])
        r = c.post("/v1/check", files={"media": ("a.jpg", jpeg(1), "image/jpeg")}, headers=h)
        assert r.status_code == 413 and r.headers["content-type"] == PROBLEM
        assert "max_upload_bytes" in r.json()["detail"]

        def chunks():  # no Content-Length: the limit counts streamed bytes
            for _ in range(10):
                yield b"x" * 1000

        r = c.post("/v1/check", content=chunks(), headers={**h, "content-type": "application/json"})
        assert r.status_code == 413


def test_metrics_count_requests_verdicts_and_outbox_depth(
    client: TestClient, tokens: dict[str, str]
) -> None:
    h = bearer(tokens["platform"])
    client.post("/v1/check", files={"media": ("a.jpg", jpeg(2), "image/jpeg")}, headers=h)
    text = client.get("/metrics").text
    assert 'jikimi_http_requests_total{method="POST",route="/v1/check",status="200"} 1.0' in text
    assert 'jikimi_http_request_seconds_bucket{le="0.05",method="POST",route="/v1/check"}' in text
    assert 'jikimi_verdicts_total{outcome="allow",via="check"} 1.0' in text
    assert 'jikimi_signals_computed_total{signal="pdq"} 1.0' in text
    assert "jikimi_outbox_effects" in text


def test_tokens_passwords_and_bodies_are_never_logged(
    client: TestClient, tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_text = "secret-caption-4242"
    h = bearer(tokens["platform"])
    client.post("/v1/check", json={"text": secret_text}, headers=h)
    client.post("/v1/auth/login", json={"name": "test-admin", "password": "wrong-password-1"})
    client.get("/v1/banks", headers=bearer(tokens["platform"] + "x"))
    logged = caplog.text
    assert tokens["platform"] not in logged
    assert secret_text not in logged
    assert "wrong-password-1" not in logged


def test_password_login_issues_a_token_and_is_throttled(
    client: TestClient, tokens: dict[str, str]
) -> None:
    r = client.post("/v1/auth/login", json={"name": "test-moderator", "password": "x" * 12})
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    r = client.post("/v1/auth/login", json={"name": "test-moderator", "password": PASSWORD})
    assert r.status_code == 200 and r.json()["role"] == "moderator"
    assert client.get("/v1/banks", headers=bearer(r.json()["token"])).status_code == 200
    for _ in range(6):
        client.post("/v1/auth/login", json={"name": "test-auditor", "password": "y" * 12})
    r = client.post("/v1/auth/login", json={"name": "test-auditor", "password": PASSWORD})
    assert r.status_code == 401  # locked, even with the right password


def test_ids_outside_what_the_store_holds_are_refused_not_crashed_on(
    client: TestClient, tokens: dict[str, str]
) -> None:
    admin = bearer(tokens["admin"])
    huge = 2**80
    for method, url in (
        ("GET", f"/v1/outbox/{huge}"),
        ("POST", f"/v1/outbox/-{huge}/retry"),
        ("GET", f"/v1/outbox?after_id={huge}"),
        ("GET", f"/v1/items/{huge}"),
        ("DELETE", f"/v1/banks/x/entries/{huge}"),
        ("GET", f"/v1/banks/x/entries?after_id={huge}"),
    ):
        r = client.request(method, url, headers=admin)
        assert r.status_code == 422, (method, url, r.status_code)


def test_a_check_before_the_indexes_load_is_503_with_retry_after(
    service: Service, tokens: dict[str, str]
) -> None:
    app = create_app(service, start=False)  # nothing loads the indexes
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get(
            "/v1/match",
            params={"signal_type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e"},
            headers=bearer(tokens["platform"]),
        )
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json()["type"].endswith("not-ready")
