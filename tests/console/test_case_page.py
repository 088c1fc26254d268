"""The case page: facts first (items, matches, notices without contact details, the clock,
tasks, custody), the decision form with the service's problems next to the fields, claimed
cases, and the next case after a decision."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from tests.console.review_support import (
    REMOVE,
    as_user,
    bank,
    case_ids,
    item,
    order,
    post_form,
    sha256,
    takedown,
)
from tests.web.helpers import bearer, jpeg

from jikimi.store.items_repo import ItemEdge, NewItem
from jikimi.web.service import Service


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"keep_media": True}


def _decide(console: TestClient, case_id: int, **fields: str) -> object:
    page = f"/console/cases/{case_id}"
    return post_form(console, f"{page}/decision", fields, page, follow_redirects=False)


def test_facts_first_and_no_contact_details(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    picture = jpeg(31)
    bank(console, tokens["admin"], "partner-list", [sha256(picture)])
    item(console, tokens["platform"], "31", picture)
    case_id = takedown(console, "https://t.me/c/1/31")
    as_user(console, "moderator")
    page = console.get(f"/console/cases/{case_id}")
    assert page.status_code == 200
    html = page.text
    assert "Item 1" in html and "<code>-1001</code>" in html and "message 31" in html
    assert '<blockquote class="item-text">hi</blockquote>' in html
    assert sha256(picture) in html and "partner-list" in html and "known-abuse-review" in html
    assert "takedown request" in html and "This is me; I never agreed to this." in html
    assert "https://t.me/c/1/31" in html  # the locator: where, not who
    for private in ("victim@example.org", "+1 555 010 0199", "Full Name"):
        assert private not in html
    assert "contact</dt>" in html and "not shown" in html
    assert "notice.received" in html and "item.verdict" not in html  # custody of the case
    assert 'id="time-left"' in html and "TAKE IT DOWN" in html  # the clock and its rule
    # The media is veiled: a preview, never the original, and a deliberate reveal button.
    assert f'src="/console/media/{sha256(picture)}/preview"' in html
    assert 'class="veiled preview"' in html and "veil-blur-24 veil-grey-1" in html
    assert 'class="reveal"' in html and "/original" not in html
    assert 'data-page="case"' in html and '<script src="/console/static/case.js" defer>' in html
    assert 'id="shortcut-help"' in html and 'id="confirm-decision"' in html


def test_a_decision_goes_to_the_next_case_of_the_queue(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    item(console, tokens["platform"], "41", jpeg(41))
    first = takedown(console, "https://t.me/c/1/41")
    second = takedown(console, "https://t.me/c/1/42")
    as_user(console, "moderator")
    page = console.get(f"/console/cases/{first}?queue=adult_ncii").text
    assert f'href="/console/cases/{second}?queue=adult_ncii" id="next-case"' in page
    r = _decide(console, first, queue="adult_ncii", **REMOVE)
    assert r.status_code == 303
    assert r.headers["location"] == (
        f"/console/cases/{second}?queue=adult_ncii&flash=decided&case={first}"
    )
    landed = console.get(r.headers["location"]).text
    assert f"Case {first} is decided and left the queue." in landed
    assert first not in case_ids(console.get("/console/queues/adult_ncii").text)
    decided = service.cases.get(first, now=service.now())
    assert decided["state"] == "closed"
    # The last case of the queue: back to the queue.
    r = _decide(console, second, queue="adult_ncii", **{**REMOVE, "outcome": "keep"})
    assert r.headers["location"] == f"/console/queues/adult_ncii?flash=decided&case={second}"
    again = _decide(console, second, **REMOVE)
    assert again.status_code == 409 and "already decided" in again.text


def test_an_escalated_case_stays_in_the_queue(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    case_id = takedown(console, "https://t.me/c/1/45")
    as_user(console, "moderator")
    fields = {**REMOVE, "outcome": "escalate", "queue": "adult_ncii"}
    r = _decide(console, case_id, **fields)
    assert r.status_code == 303 and "flash=escalated" in r.headers["location"]
    assert "stays open for a second opinion" in console.get(r.headers["location"]).text
    assert service.cases.get(case_id, now=service.now())["state"] == "escalated"
    assert case_id in case_ids(console.get("/console/queues/adult_ncii").text)


def test_problems_are_shown_next_to_their_fields(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    case_id = takedown(console, "https://t.me/c/1/51")
    as_user(console, "moderator")
    r = _decide(console, case_id, **{**REMOVE, "law": ""})
    assert r.status_code == 422
    law = r.text.split('id="law"')[1].split('<label for="terms"')[0]
    assert "name the law relied on" in law
    r = _decide(console, case_id, **{**REMOVE, "reasons": "see https://example.org or a@b.org"})
    assert r.status_code == 422
    reasons = r.text.split('id="reasons"')[1].split("</fieldset>")[0]
    assert "Take e-mail addresses and links out" in reasons
    assert "see https://example.org" in r.text  # what the reviewer wrote stays in the form
    r = _decide(console, case_id, outcome="delete", ground="x", category="y", reasons="")
    assert r.status_code == 422
    for name in ("outcome", "ground", "category", "reasons"):
        assert f'id="error-{name}-1"' in r.text
    assert service.cases.get(case_id, now=service.now())["state"] == "new"
    as_user(console, "moderator")
    post_form(console, "/console/language", {"language": "ko", "back": "/console"}, "/console")
    r = _decide(console, case_id, **{**REMOVE, "law": ""})
    assert "근거 법률을 적으십시오" in r.text


def test_a_case_claimed_by_someone_else_cannot_be_decided(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    case_id = takedown(console, "https://t.me/c/1/61")
    r = console.post(
        f"/v1/cases/{case_id}/assignment",
        json={"claim": True},
        headers=bearer(tokens["child_safety"]),
    )
    assert r.status_code == 200
    as_user(console, "moderator")
    page = console.get(f"/console/cases/{case_id}").text
    assert 'id="held-by-other"' in page and "test-child_safety has claimed this case" in page
    assert "<fieldset disabled>" in page
    r = _decide(console, case_id, **REMOVE)
    assert r.status_code == 409 and "test-child_safety has claimed this case" in r.text
    assert service.cases.get(case_id, now=service.now())["state"] == "new"


def test_an_authority_order_opens_with_its_own_legal_basis(
    console: TestClient, tokens: dict[str, str]
) -> None:
    case_id = order(console, tokens["investigator"], "https://t.me/c/1/71")
    as_user(console, "moderator")
    page = console.get(f"/console/cases/{case_id}").text
    assert 'value="Information and Communications Network Act, Art. 44-7"' in page
    assert "KCSC" in page and "2026-0001" in page  # issuing body and reference: facts


def _near_copy(image: bytes) -> bytes:
    picture = Image.open(io.BytesIO(image)).resize((560, 420))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=70)
    return out.getvalue()


def test_near_duplicate_tasks_are_resolved_from_the_page(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    picture = jpeg(81)
    item(console, tokens["platform"], "81", picture)
    copy = _near_copy(picture)
    near = item(console, tokens["platform"], "82", copy)
    case_id = takedown(console, "https://t.me/c/1/81")
    as_user(console, "moderator")
    assert _decide(console, case_id, **REMOVE).status_code == 303
    page = console.get(f"/console/cases/{case_id}").text
    task_html = page.split('<section id="tasks">')[1]
    assert f'src="/console/media/{sha256(copy)}/preview"' in task_html  # veiled, like the rest
    task_id = int(page.split('id="task-')[1].split('"', 1)[0])
    assert "Review tasks (1 open)" in page and "PDQ distance" in page
    url = f"/console/cases/{case_id}/tasks/{task_id}"
    fields = {**REMOVE, "back": f"/console/cases/{case_id}"}
    r = post_form(console, url, {**fields, "reasons": ""}, f"/console/cases/{case_id}")
    assert r.status_code == 422 and "Write the reasons" in r.text
    r = post_form(console, url, fields, f"/console/cases/{case_id}", follow_redirects=False)
    assert r.status_code == 303 and "flash=task_resolved" in r.headers["location"]
    case = service.cases.get(case_id, now=service.now())
    assert case["open_tasks"] == 0 and case["tasks"][0]["state"] == "removed"
    assert near["item_id"] in case["items"]


def test_who_may_see_a_case(console: TestClient, tokens: dict[str, str]) -> None:
    picture = jpeg(91)
    bank(console, tokens["admin"], "hotline", [sha256(picture)], minors=True)
    minors_case = int(item(console, tokens["platform"], "91", picture)["case_id"])
    case_id = takedown(console, "https://t.me/c/1/92")
    as_user(console, "moderator")
    assert console.get(f"/console/cases/{minors_case}").status_code == 404
    assert console.get("/console/cases/999999").status_code == 404
    r = _decide(console, minors_case, **REMOVE)
    assert r.status_code == 404
    as_user(console, "child_safety")
    assert console.get(f"/console/cases/{minors_case}").status_code == 200
    as_user(console, "auditor")
    page = console.get(f"/console/cases/{case_id}")
    assert page.status_code == 200 and "reads cases but does not decide" in page.text
    assert _decide(console, case_id, **REMOVE).status_code == 403
    as_user(console, "support_centre")
    assert console.get(f"/console/cases/{case_id}").status_code == 403


UNTRANSLATED = re.compile(r"(?<![/\w.-])(casepage|queues|review|wellness)\.[a-z_]+")


@pytest.mark.parametrize("language", ["en", "ko"])
def test_no_text_is_left_untranslated(
    console: TestClient, service: Service, tokens: dict[str, str], language: str
) -> None:
    picture = jpeg(95)
    bank(console, tokens["admin"], "partner-list", [sha256(picture)])
    item(console, tokens["platform"], "95", picture)
    case_id = takedown(console, "https://t.me/c/1/95")
    order(console, tokens["investigator"], "https://t.me/c/1/96")
    as_user(console, "moderator")
    post_form(console, "/console/language", {"language": language, "back": "/console"}, "/console")
    console.post(
        f"/v1/cases/{case_id}/assignment", json={"claim": True}, headers=bearer(tokens["admin"])
    )
    pages = [
        "/console/queues",
        "/console/queues/all?state=new&overdue=no",
        f"/console/cases/{case_id}",
        "/console/wellness",
    ]
    for path in pages:
        html = console.get(path).text
        assert not UNTRANSLATED.findall(html), (path, UNTRANSLATED.findall(html))
    bad = _decide(console, case_id, outcome="x", ground="y", category="z", reasons="")
    assert not UNTRANSLATED.findall(bad.text)
    as_user(console, "admin")
    post_form(console, "/console/language", {"language": language, "back": "/console"}, "/console")
    html = console.get("/console/wellness").text
    assert 'id="organisation-form"' in html and not UNTRANSLATED.findall(html)


def test_where_an_item_came_from_is_shown(console: TestClient, service: Service) -> None:
    service.ingest(
        NewItem(
            platform="telegram",
            submitted_by="exporter",
            chat_id="-1002",
            message_id="40",
            author_id="user77",
            text="look",
            links=(
                ItemEdge("forwarded_from", actor="channel555", label="Deepfake room"),
                ItemEdge("reply_to", chat_id="-1002", message_id="39"),
                ItemEdge("via_bot", actor="@facemagic_bot"),
            ),
        ),
        [],
        text=None,
        signals=(),
        actor="exporter",
    )
    case_id = takedown(console, "https://t.me/c/2/40")
    as_user(console, "moderator")
    html = console.get(f"/console/cases/{case_id}").text
    assert "Author</dt><dd><code>user77</code>" in html
    assert "Forwarded from</dt><dd><code>channel555</code> · Deepfake room" in html
    assert "Reply to</dt><dd><code>-1002/39</code>" in html
    assert "Posted via bot</dt><dd><code>@facemagic_bot</code>" in html
