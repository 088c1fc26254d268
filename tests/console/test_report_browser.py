"""The public takedown form in a real browser against a real ``jikimi serve``: an error shown
next to its field then a case, a file hashed on the device (never sent), and Korean."""

from __future__ import annotations

import hashlib
from typing import Any

from tests.console.conftest import Served, screenshot
from tests.web.helpers import jpeg


def test_in_a_browser_a_missing_signature_then_a_case(page: Any, served: Served) -> None:
    page.goto(f"{served.base}/report")
    screenshot(page, "report")
    assert not page.locator("#on-behalf").is_visible()  # shown only when asked for
    page.fill("#f-locators", "https://t.me/somechannel/77")
    page.check("#f-statement")
    page.fill("#f-email", "jane@example.org")
    page.select_option("#f-jurisdiction", "US")
    page.click("#report-submit")
    page.wait_for_load_state()

    error = page.locator("#err-signature")
    assert error.is_visible()
    assert "Type your full name" in error.inner_text()
    assert page.locator("#f-signature").get_attribute("aria-invalid") == "true"
    assert page.locator("#recorded-receipt").inner_text().startswith("rcpt_")
    assert page.input_value("#f-email") == "jane@example.org"  # kept
    assert page.input_value("#f-locators") == "https://t.me/somechannel/77"
    assert page.is_checked("#f-statement")

    page.fill("#f-signature", "Jane Doe")
    page.check("#for-someone")
    page.fill("#f-on-behalf-of", "Min-ji Kim")
    page.click("#report-submit")
    page.wait_for_load_state()
    case_id = int(page.locator("#case-id").inner_text())
    assert page.locator("#receipt").inner_text().startswith("rcpt_")
    assert "48 hours" in page.locator("#deadline").inner_text()

    case = served.api("GET", f"/v1/cases/{case_id}", role="admin").json()
    assert [loc["value"] for loc in case["locators"]] == ["https://t.me/somechannel/77"]
    body = case["notices"][0]["body"]
    assert body["signature"] == "Jane Doe" and body["on_behalf_of"] == "Min-ji Kim"


def test_in_a_browser_a_file_is_hashed_on_the_device_and_never_sent(
    page: Any, served: Served
) -> None:
    picture = jpeg(31)
    sha256 = hashlib.sha256(picture).hexdigest()
    page.goto(f"{served.base}/report")
    page.click("#hash-options summary")
    assert page.locator("#device-hash").is_visible()
    page.set_input_files(
        "#device-file", files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": picture}]
    )
    shown = page.locator("#device-hash-result code[data-sha256]")
    shown.wait_for()
    assert shown.get_attribute("data-sha256") == sha256
    assert shown.inner_text() == f"sha256:{sha256}"
    assert page.input_value("#f-hashes") == f"sha256:{sha256}"

    page.fill("#f-signature", "Jane Doe")
    page.check("#f-statement")
    page.fill("#f-phone", "+82 10 1234 5678")
    sent: list[bytes] = []
    page.on(
        "request",
        lambda r: sent.append(r.post_data_buffer or b"") if r.method == "POST" else None,
    )
    page.click("#report-submit")
    page.wait_for_load_state()
    case_id = int(page.locator("#case-id").inner_text())
    assert sent and all(picture[:512] not in body for body in sent)
    case = served.api("GET", f"/v1/cases/{case_id}", role="admin").json()
    assert [(loc["signal_type"], loc["value"]) for loc in case["locators"]] == [("sha256", sha256)]


def test_in_a_browser_the_form_speaks_korean(page: Any, served: Served) -> None:
    page.goto(f"{served.base}/report")
    assert page.locator("#report-submit").inner_text() == "Send the request"
    page.click("button[name=language][value=ko]")
    page.wait_for_load_state()
    assert "/report" in page.url
    assert page.locator("html").get_attribute("lang") == "ko"
    assert page.locator("h1").inner_text() == "성적 촬영물 삭제 요청"
    assert page.locator("label[for=f-signature]").inner_text() == "성명(서명)"
    assert page.locator("#report-submit").inner_text() == "요청 보내기"
    assert page.locator("#f-jurisdiction").input_value() == "KR"
