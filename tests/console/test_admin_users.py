"""Users and tokens in the console: add, reset a password, disable; a token is shown once and
works, is listed by its prefix only, and can be revoked. Recorded as ``jikimi user`` does."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.console.admin_pages import post, signed_in
from tests.web.helpers import PASSWORD, bearer

from jikimi.web.service import Service

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

NEW_PASSWORD = "a long and new passphrase"


def _add(console: TestClient, csrf: str, name: str, role: str, password: str = PASSWORD):
    return post(
        console,
        "/console/admin/users",
        csrf,
        name=name,
        role=role,
        password=password,
        password_again=password,
    )


def test_add_a_user_reset_the_password_and_disable(console: TestClient, service: Service) -> None:
    csrf = signed_in(console, "admin", "/console/admin/users")
    listed = console.get("/console/admin/users").text
    assert 'id="user-test-platform"' in listed and "API tokens only" in listed
    r = _add(console, csrf, "Ana.Reviewer", "moderator")
    assert r.status_code == 303
    assert r.headers["location"] == "/console/admin/users/ana.reviewer?done=user_added"
    page = console.get(r.headers["location"]).text
    assert "moderator" in page and 'id="done"' in page

    mismatch = post(
        console,
        "/console/admin/users/ana.reviewer/password",
        csrf,
        password=NEW_PASSWORD,
        password_again=NEW_PASSWORD + "!",
    )
    assert mismatch.status_code == 400 and 'id="problem"' in mismatch.text
    short = post(
        console,
        "/console/admin/users/ana.reviewer/password",
        csrf,
        password="x",
        password_again="x",
    )
    assert short.status_code == 400 and "password too short" in short.text
    r = post(
        console,
        "/console/admin/users/ana.reviewer/password",
        csrf,
        password=NEW_PASSWORD,
        password_again=NEW_PASSWORD,
    )
    assert r.status_code == 303 and "done=password_set" in r.headers["location"]
    assert service.ws.users.login("ana.reviewer", NEW_PASSWORD).name == "ana.reviewer"

    r = post(console, "/console/admin/users/ana.reviewer/disable", csrf)
    assert r.status_code == 303 and "done=user_disabled" in r.headers["location"]
    assert service.ws.users.get("ana.reviewer").disabled_at is not None
    events = service.ws.custody.events(subject="user:ana.reviewer")
    assert [(e.kind, e.actor) for e in events] == [
        ("user.created", "test-admin"),
        ("user.password_changed", "test-admin"),
        ("user.disabled", "test-admin"),
    ]


def test_bad_users_are_refused(console: TestClient) -> None:
    csrf = signed_in(console, "admin", "/console/admin/users")
    assert _add(console, csrf, "test-moderator", "moderator").status_code == 409
    assert _add(console, csrf, "robot", "platform").status_code == 400  # a machine: no password
    nopass = post(console, "/console/admin/users", csrf, name="someone", role="auditor")
    assert nopass.status_code == 400
    assert _add(console, csrf, "x y", "auditor").status_code == 400
    machine = post(console, "/console/admin/users", csrf, name="robot", role="platform")
    assert machine.status_code == 303
    assert _add(console, csrf, "boss", "emperor").status_code == 400
    own = post(console, "/console/admin/users/test-admin/disable", csrf)
    assert own.status_code == 400 and "your own account" in own.text
    assert console.get("/console/admin/users/nobody").status_code == 404


def test_a_token_is_shown_once_and_can_be_revoked(console: TestClient, service: Service) -> None:
    csrf = signed_in(console, "admin", "/console/admin/users")
    r = post(
        console, "/console/admin/users/test-platform/tokens", csrf, label="uploader", days="30"
    )
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    token = re.search(r'id="new-token" class="token" readonly value="(jkm_[^"]+)"', r.text)
    assert token is not None
    secret = token.group(1)
    prefix = secret.split("_")[1]
    check = console.post("/v1/check", json={"text": "hello"}, headers=bearer(secret))
    assert check.status_code == 200

    page = console.get("/console/admin/users/test-platform").text
    assert f'id="token-{prefix}"' in page and "uploader" in page
    assert secret not in page and secret.split("_", 2)[2] not in page  # never shown again
    (issued,) = [
        e
        for e in service.ws.custody.events(subject="user:test-platform")
        if e.kind == "token.issued"
    ][-1:]
    assert issued.actor == "test-admin" and issued.payload["prefix"] == prefix

    other = service.ws.users.tokens("test-moderator")[0].prefix
    mismatch = post(console, f"/console/admin/users/test-platform/tokens/{other}/revoke", csrf)
    assert mismatch.status_code == 404  # only a token of the user whose page it is
    r = post(console, f"/console/admin/users/test-platform/tokens/{prefix}/revoke", csrf)
    assert r.status_code == 303 and "done=token_revoked" in r.headers["location"]
    refused = console.post("/v1/check", json={"text": "hello"}, headers=bearer(secret))
    assert refused.status_code == 401
    bad_days = post(console, "/console/admin/users/test-platform/tokens", csrf, days="0")
    assert bad_days.status_code == 400


def test_users_need_users_admin(console: TestClient) -> None:
    csrf = signed_in(console, "investigator", "/console/admin/banks")
    assert console.get("/console/admin/users").status_code == 403
    r = post(console, "/console/admin/users/test-platform/tokens", csrf)
    assert r.status_code == 403 and "jkm_" not in r.text
