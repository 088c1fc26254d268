"""Dead letters in the console: listed with their last error, retried, dropped with a reason;
recorded as ``/v1/outbox/{id}/retry|drop`` record them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.console.admin_pages import post, signed_in

from jikimi.model import Effect
from jikimi.store.db import write_session
from jikimi.store.models import OutboxRecord
from jikimi.web.service import Service

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _dead_letters(service: Service, n: int) -> list[int]:
    effects = [
        Effect("notify", "webhook", {"platform": "web"}, f"key-{i}", {"n": i}) for i in range(n)
    ]
    with write_session(service.ws.sessions) as session:
        ids = service.outbox.enqueue(session, effects)
    with write_session(service.ws.sessions) as session:
        session.execute(
            update(OutboxRecord)
            .where(OutboxRecord.id.in_(ids))
            .values(state="dead", attempts=8, last_error="HTTP 500 from the platform")
        )
    return list(ids)


def test_dead_letters_are_listed_retried_and_dropped(console: TestClient, service: Service) -> None:
    first, second = _dead_letters(service, 2)
    csrf = signed_in(console, "admin", "/console/admin/outbox")
    page = console.get("/console/admin/outbox").text
    assert f'id="letter-{first}"' in page and f'id="letter-{second}"' in page
    assert "HTTP 500 from the platform" in page

    r = post(console, f"/console/admin/outbox/{first}/retry", csrf)
    assert r.status_code == 303 and r.headers["location"].endswith("done=retried")
    assert service.outbox.get(first).state == "pending"
    again = post(console, f"/console/admin/outbox/{first}/retry", csrf)
    assert again.status_code == 409 and "only a dead row can be retried" in again.text

    no_reason = post(console, f"/console/admin/outbox/{second}/drop", csrf, reason=" ")
    assert no_reason.status_code == 400 and service.outbox.get(second).state == "dead"
    r = post(console, f"/console/admin/outbox/{second}/drop", csrf, reason="platform gone")
    assert r.status_code == 303 and r.headers["location"].endswith("done=dropped")
    assert service.outbox.get(second).state == "dropped"
    after = console.get(r.headers["location"]).text
    assert f'id="letter-{second}"' not in after and 'id="no-letters"' in after

    events = {e.kind: e for e in service.ws.custody.events() if e.kind.startswith("outbox.")}
    assert events["outbox.retried"].actor == "test-admin"
    assert events["outbox.dropped"].payload["reason"] == "platform gone"
    assert post(console, "/console/admin/outbox/x/retry", csrf).status_code == 400
    assert post(console, "/console/admin/outbox/999999/retry", csrf).status_code == 409


def test_dead_letters_need_outbox_admin(console: TestClient, service: Service) -> None:
    (letter,) = _dead_letters(service, 1)
    csrf = signed_in(console, "moderator")
    assert console.get("/console/admin/outbox").status_code == 403
    assert post(console, f"/console/admin/outbox/{letter}/retry", csrf).status_code == 403
    assert service.outbox.get(letter).state == "dead"
