"""A reviewer's day in a real browser (Debian's chromium) against a real ``jikimi serve``:
a queue in deadline order, a case whose media is blurred and greyscale, a deliberate reveal
that is logged and veils itself again, and a decision made with the keyboard."""

from __future__ import annotations

import json
import secrets
from typing import Any

from tests.console.conftest import Served, browser_sign_in, screenshot
from tests.web.helpers import jpeg


def _item(served: Served, chat: int, message: int, seed: int) -> None:
    meta = {
        "platform": "telegram",
        "chat_id": f"-100{chat}",
        "message_id": str(message),
        "text": "Look at this one",
    }
    r = served.api(
        "POST",
        "/v1/items",
        data={"item": json.dumps(meta)},
        files={"media": ("x.jpg", jpeg(seed), "image/jpeg")},
    )
    assert r.status_code == 201, r.text


def _seed(served: Served) -> tuple[int, int]:
    """A US takedown (48 h) filed first, then a KR authority order (24 h), each for a
    benign synthetic picture; the order is due first."""
    chat = 700 + secrets.randbelow(10_000)
    _item(served, chat, 1, 501)
    _item(served, chat, 2, 502)
    takedown = {
        "kind": "takedown_request",
        "jurisdiction": "US",
        "locators": [f"https://t.me/c/{chat}/1"],
        "signature": "Full Name",
        "good_faith_statement": True,
        "contact": {"email": "victim@example.org"},
    }
    us = served.api("POST", "/v1/notices", json=takedown)
    assert us.status_code == 201, us.text
    kr_order = {
        "kind": "authority_order",
        "jurisdiction": "KR",
        "locators": [f"https://t.me/c/{chat}/2"],
        "issuing_body": "KCSC",
        "reference": f"2026-{chat}",
        "legal_basis": "Information and Communications Network Act, Art. 44-7",
    }
    kr = served.api("POST", "/v1/notices", role="investigator", json=kr_order)
    assert kr.status_code == 201, kr.text
    return int(us.json()["case_id"]), int(kr.json()["case_id"])


def _listed(page: Any) -> list[int]:
    rows = page.locator("#cases tbody tr[data-case]")
    return [int(rows.nth(i).get_attribute("data-case")) for i in range(rows.count())]


def test_a_reviewers_day(page: Any, served: Served) -> None:
    us, kr = _seed(served)
    page.clock.install()  # real time until run_for: the 20-second veil is tested below
    browser_sign_in(page, served, "moderator")
    page.goto(f"{served.base}/console/queues/all")
    listed = _listed(page)
    assert listed.index(kr) < listed.index(us)  # the 24-hour order before the 48-hour takedown
    screenshot(page, "queue")

    page.click(f'tr[data-case="{kr}"] a.case-link')
    page.wait_for_load_state()
    assert f"/console/cases/{kr}" in page.url
    preview = page.locator(".media-view img.preview").first
    page.wait_for_function(
        "() => { const i = document.querySelector('.media-view img.preview');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    veil = preview.evaluate("img => getComputedStyle(img).filter")
    assert "blur(24px)" in veil and "grayscale(1)" in veil
    preview.hover()  # hovering reveals nothing
    assert page.locator(".media-view img.original").count() == 0
    screenshot(page, "case")

    # A deliberate reveal: logged, the original shown without the blur.
    page.click(".media-view button.reveal")
    original = page.locator(".media-view img.original")
    original.wait_for()
    shown = original.evaluate("img => getComputedStyle(img).filter")
    assert "blur" not in shown
    assert page.locator(".media-view img.preview").first.is_hidden()
    with served.workspace() as ws:
        events = ws.custody.events(subject=f"case:{kr}")
    revealed = [e for e in events if e.kind == "media.revealed"]
    assert len(revealed) == 1 and revealed[0].actor == "test-moderator"
    assert revealed[0].payload["media"] == page.locator(".media-view").first.get_attribute(
        "data-media"
    )
    assert any(e.kind == "media.original_served" for e in events)
    # Leaving the media area veils it again.
    page.mouse.move(5, 5)
    original.wait_for(state="detached")
    assert page.locator(".media-view img.preview").first.is_visible()
    # So does time: 20 seconds after a reveal (the page's clock, run forward).
    page.click(".media-view button.reveal")
    original.wait_for()
    page.clock.run_for(21_000)
    original.wait_for(state="detached")

    # Shortcuts do nothing while typing; "?" shows the help.
    page.focus("#terms")
    page.keyboard.press("r")
    assert not page.locator("#confirm-decision").evaluate("d => d.open")
    page.locator("#terms").fill("")
    page.locator("h1").click()
    page.keyboard.press("?")
    assert page.locator("#shortcut-help").evaluate("d => d.open")
    page.keyboard.press("Escape")

    # Decide with the keyboard: r, then Enter confirms.
    page.keyboard.press("r")
    dialog = page.locator("#confirm-decision")
    assert dialog.evaluate("d => d.open")
    assert "Remove" in page.locator("#confirm-summary").inner_text()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "flash=decided" in page.url and f"case={kr}" in page.url
    assert f"Case {kr} is decided" in page.locator("#flash").inner_text()
    page.goto(f"{served.base}/console/queues/all")
    assert kr not in _listed(page) and us in _listed(page)
    with served.workspace() as ws:
        decided = [e for e in ws.custody.events(subject=f"case:{kr}") if e.kind == "case.decided"]
    assert decided and decided[0].payload["outcome"] == "remove"
