"""The administration pages in a real browser (Debian's chromium) against a real server: create
a bank, import a hash list with the upload progress bar, and see the counts and the rejected
line; the imported hashes match at once."""

from __future__ import annotations

import secrets
from typing import Any

from tests.console.conftest import Served, browser_sign_in, screenshot

LINES = 40_000
BAD_LINE = 3

# Records every value the progress bar takes (set before the upload starts).
WATCH_PROGRESS = """() => {
  const bar = document.getElementById("import-progress");
  window.seenProgress = [];
  new MutationObserver(() => window.seenProgress.push(bar.value))
    .observe(bar, { attributes: true, attributeFilter: ["value"] });
}"""


def _hash_list() -> bytes:
    lines = [f"md5 {i:032x}" for i in range(1, LINES + 1)]
    lines.insert(BAD_LINE - 1, "md5 not-a-hash")
    return ("\n".join(lines) + "\n").encode()


def test_import_a_hash_list_with_a_progress_bar(page: Any, served: Served) -> None:
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    # A CSP refusal is a console error; a 404 is one too, but only the browser's own
    # favicon request may be missing.
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    browser_sign_in(page, served, "admin")
    page.goto(f"{served.base}/console/admin")
    assert page.locator("#section-banks").is_visible()

    name = f"partner-{secrets.token_hex(3)}"
    page.goto(f"{served.base}/console/admin/banks")
    page.fill("#bank-name", name)
    page.check("#bank-auto")
    page.click("#create-bank button[type=submit]")
    page.wait_for_url(f"**/console/admin/banks/{name}?done=bank_created")
    assert page.locator("#done").is_visible()

    page.evaluate(WATCH_PROGRESS)
    page.set_input_files(
        "#import-file", {"name": "partner.txt", "mimeType": "text/plain", "buffer": _hash_list()}
    )
    page.click("#import-submit")
    summary = page.locator("#import-summary")
    summary.wait_for(timeout=60_000)
    assert summary.get_attribute("data-added") == str(LINES)
    assert summary.get_attribute("data-rejected") == "1"
    assert f"Added: {LINES}. Already in the bank: 0. Rejected lines: 1." in summary.inner_text()
    rejected = page.locator("#import-rejects tbody tr").first
    assert rejected.locator("td").first.inner_text() == str(BAD_LINE)
    assert "not-a-hash" in rejected.inner_text()

    bar = page.locator("#import-progress")
    assert bar.evaluate("b => b.value") == 100
    assert bar.get_attribute("data-state") == "done"
    assert page.locator("#import-status").inner_text() == "100%"
    seen = page.evaluate("window.seenProgress")
    assert seen and seen[-1] == 100 and seen == sorted(seen), seen
    assert page.locator("#active-count").inner_text() == str(LINES)
    assert "/console/admin/banks/" in page.url  # the page itself never left

    r = served.api("GET", "/v1/match", params={"signal_type": "md5", "value": f"{LINES:032x}"})
    assert r.status_code == 200 and [m["bank"] for m in r.json()["matches"]] == [name]

    page.goto(f"{served.base}/console/admin/banks")
    assert page.locator(f"#banks a:text-is('{name}')").is_visible()
    screenshot(page, "admin")
    assert problems == [], problems  # no script error, nothing refused by the CSP
