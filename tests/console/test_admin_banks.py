"""Banks in the console: create, import a hash list (bad lines by number), page and withdraw
entries; every change is in matching from the next lookup and recorded as the API records it.
On both backends."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from tests.console.admin_pages import matches, park_watcher, post, signed_in, upload

from jikimi.web.service import Service

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
FRAGMENT = {"x-jikimi-fragment": "1"}


def _hash_list(*lines: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("file", ("list.txt", ("\n".join(lines) + "\n").encode(), "text/plain"))]


def _create(console: TestClient, csrf: str, name: str, **fields: str) -> object:
    values = {"name": name, "kind": "known-abuse", "pdq_threshold": "31", "try_transforms": "on"}
    return post(console, "/console/admin/banks", csrf, **{**values, **fields})


def test_create_import_and_withdraw_reach_matching_at_once(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    csrf = signed_in(console, "admin")
    assert 'id="no-banks"' in console.get("/console/admin/banks").text
    park_watcher(service)
    r = _create(console, csrf, "known", auto_action="on")
    assert r.status_code == 303
    assert r.headers["location"] == "/console/admin/banks/known?done=bank_created"
    page = console.get(r.headers["location"])
    assert page.status_code == 200 and 'id="done"' in page.text and "known" in page.text

    lines = ("# from a partner", f"pdq {PDQ}", f"sha256 {SHA}", "pdq zz", "", f"pdq {PDQ}")
    r = upload(
        console, "/console/admin/banks/known/import", csrf, _hash_list(*lines), headers=FRAGMENT
    )
    assert r.status_code == 200 and r.headers["x-jikimi-fragment"] == "1"
    assert "<html" not in r.text  # a fragment for the page's script
    assert 'data-added="2"' in r.text and 'data-duplicates="1"' in r.text
    assert 'data-rejected="1"' in r.text
    row = re.search(r'<td class="count">(\d+)</td><td lang="en">([^<]*)</td>', r.text)
    assert row is not None and row.group(1) == "4" and "64 hex" in row.group(2)

    # In matching at once: applied in place, the parked watcher rebuilt nothing.
    (found,) = matches(console, tokens["platform"], "sha256", SHA)
    assert found["bank"] == "known"
    assert service.refresh_matcher() is False

    events = [e for e in service.ws.custody.events(subject="bank:known")]
    assert [e.kind for e in events] == ["bank.created", "bank.imported"]
    assert {e.actor for e in events} == {"test-admin"}
    assert events[0].payload["auto_action"] is True
    assert events[1].payload["source"] == "console:test-admin"
    assert events[1].payload["rejected"] == 1

    # Without JavaScript the same form answers with the whole page.
    r = upload(console, "/console/admin/banks/known/import", csrf, _hash_list(f"sha256 {SHA}"))
    assert r.status_code == 200 and "<html" in r.text and 'data-duplicates="1"' in r.text

    (entry,) = [e for e in service.ws.banks.entries("known") if e.signal_type == "sha256"]
    path = f"/console/admin/banks/known/entries/{entry.entry_id}/withdraw"
    r = post(console, path, csrf, reason="")
    assert r.status_code == 400 and 'id="problem"' in r.text
    r = post(console, path, csrf, reason="false positive on a stock photo")
    assert r.status_code == 303 and "done=entry_withdrawn" in r.headers["location"]
    assert matches(console, tokens["platform"], "sha256", SHA) == []
    withdrawn = service.ws.custody.events(subject="bank:known")[-1]
    assert withdrawn.kind == "bank.entry_withdrawn" and withdrawn.actor == "test-admin"
    assert withdrawn.payload["reason"] == "false positive on a stock photo"
    page = console.get("/console/admin/banks/known?withdrawn=1").text
    assert "false positive on a stock photo" in page


def test_entries_are_paged(console: TestClient, service: Service) -> None:
    csrf = signed_in(console, "admin")
    assert _create(console, csrf, "big").status_code == 303
    body = [f"md5 {i:032x}" for i in range(1, 56)]
    r = upload(console, "/console/admin/banks/big/import", csrf, _hash_list(*body))
    assert r.status_code == 200
    first = console.get("/console/admin/banks/big").text
    assert first.count('<tr id="entry-') == 50
    after = re.search(r'id="next-page" href="/console/admin/banks/big\?after_id=(\d+)"', first)
    assert after is not None
    second = console.get(f"/console/admin/banks/big?after_id={after.group(1)}").text
    assert second.count('<tr id="entry-') == 5 and 'id="next-page"' not in second
    listed = console.get("/console/admin/banks").text
    assert re.search(r'big</a></td>(?:\s*<td>[^<]*</td>){4}\s*<td class="count">55</td>', listed)


def test_a_bad_bank_is_refused_with_a_reason(console: TestClient) -> None:
    csrf = signed_in(console, "admin")
    assert _create(console, csrf, "taken").status_code == 303
    again = _create(console, csrf, "taken")
    assert again.status_code == 409 and 'id="problem"' in again.text
    benign = _create(console, csrf, "benign", kind="known-benign", auto_action="on")
    assert benign.status_code == 400 and 'id="problem"' in benign.text
    far = _create(console, csrf, "far", pdq_threshold="99")
    assert far.status_code == 400 and 'value="far"' in far.text  # the form keeps its values
    assert (
        upload(console, "/console/admin/banks/nowhere/import", csrf, _hash_list()).status_code
        == 404
    )


def test_reading_banks_is_not_changing_them(console: TestClient) -> None:
    csrf = signed_in(console, "admin")
    assert _create(console, csrf, "seen").status_code == 303
    console.cookies.clear()
    csrf = signed_in(console, "moderator")  # banks:read and match, not banks:write
    page = console.get("/console/admin/banks/seen")
    assert page.status_code == 200 and 'id="import-form"' not in page.text
    assert 'id="create-bank"' not in console.get("/console/admin/banks").text
    assert _create(console, csrf, "mine").status_code == 403
    imported = upload(console, "/console/admin/banks/seen/import", csrf, _hash_list(f"pdq {PDQ}"))
    assert imported.status_code == 403
    assert console.get("/console/admin").status_code == 403


def test_an_upload_needs_the_session_token_and_this_site(console: TestClient) -> None:
    csrf = signed_in(console, "admin")
    assert _create(console, csrf, "guarded").status_code == 303
    path = "/console/admin/banks/guarded/import"
    assert upload(console, path, None, _hash_list(f"pdq {PDQ}")).status_code == 403
    assert upload(console, path, "wrong", _hash_list(f"pdq {PDQ}")).status_code == 403
    elsewhere = console.post(
        path,
        data={"csrf": csrf},
        files=_hash_list(f"pdq {PDQ}"),
        headers={"origin": "https://evil.example"},
    )
    assert elsewhere.status_code == 403
    plain = console.post(path, content=f"pdq {PDQ}", headers={"origin": "http://testserver"})
    assert plain.status_code == 400
