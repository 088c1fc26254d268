"""The public takedown form (/report), in-process: filing, missing elements, hashes only, an
uploaded picture hashed in memory and dropped, bad and oversized uploads, the rate limit, and
Korean. Pictures are benign synthetic photos (tests/web/helpers.py)."""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from tests.console.conftest import csrf_of
from tests.web.helpers import bearer, jpeg

from jikimi.cases.deadlines import load_profiles
from jikimi.console.pages.report import EU_MEMBERS, hash_picture, notice_body
from jikimi.console.ratelimit import SlidingWindow, client_key
from jikimi.media.limits import Limits
from jikimi.signals.compute import compute_signals
from jikimi.store.models import ItemMedia, MediaRecord, Notice

ORIGIN = {"origin": "http://testserver"}
SHA = "ab" * 32
PDQ = "f0" * 32
MD5 = "0123456789abcdef" * 2
COMPLETE = {
    "locators": "https://t.me/somechannel/123\nhttps://example.org/post/9",
    "signature": "Jane Doe",
    "statement": "yes",
    "email": "jane@example.org",
    "phone": "+1 555 010 0199",
    "explanation": "Someone made this with an app.",
    "jurisdiction": "US",
    "language": "en",
}


def _post(
    client: TestClient,
    data: dict[str, str],
    files: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    page = client.get("/report")
    form = {"csrf": csrf_of(page.text), **data}
    # Always multipart, as the browser sends it (the empty picture input included).
    files = files or {"picture": ("", b"", "application/octet-stream")}
    return client.post("/report", data=form, files=files, headers={**ORIGIN, **(headers or {})})


def _case(client: TestClient, tokens: dict[str, str], case_id: int) -> dict[str, Any]:
    r = client.get(f"/v1/cases/{case_id}", headers=bearer(tokens["admin"]))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _between(html: str, start: str, end: str = "<") -> str:
    return html.split(start, 1)[1].split(end, 1)[0]


def _count(service: Any, model: Any) -> int:
    with service.ws.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _field_error(html: str, name: str) -> str:
    """The message shown next to a field (its err-<name> block)."""
    assert f'id="err-{name}"' in html, f"no error next to {name}"
    return _between(html, f'id="err-{name}">', "</div>")


def test_the_form_is_public_plain_and_safe(console: TestClient) -> None:
    page = console.get("/report")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert console.cookies.get("jikimi_form")
    html = page.text
    for name in ("locators", "hashes", "picture", "signature", "statement", "email", "phone"):
        assert f'name="{name}"' in html
    assert 'id="device-file"' in html and 'name="device' not in html  # the browser keeps it
    assert "never stored" in html
    assert "/console/queues" not in html  # no console navigation for visitors
    assert '<option value="DE"' in html and '<option value="GB"' in html


def test_a_complete_request_opens_a_case_with_its_locators(
    console: TestClient, tokens: dict[str, str]
) -> None:
    r = _post(console, COMPLETE)
    assert r.status_code == 201, r.text
    case_id = int(_between(r.text, '<dd id="case-id">'))
    receipt = _between(r.text, '<code id="receipt">')
    assert receipt.startswith("rcpt_")
    assert "within 48 hours" in r.text and "appeal" in r.text
    case = _case(console, tokens, case_id)
    assert case["queue"] == "adult_ncii" and case["jurisdiction"] == "US"
    values = {(loc["kind"], loc["value"]) for loc in case["locators"]}
    assert values == {
        ("telegram", "https://t.me/somechannel/123"),
        ("url", "https://example.org/post/9"),
    }
    notice = case["notices"][0]
    assert notice["complete"] and notice["receipt"] == receipt
    assert notice["submitted_by"] == "public-form"
    assert notice["body"]["signature"] == "Jane Doe"
    assert notice["body"]["contact"] == {"email": "jane@example.org", "phone": "+1 555 010 0199"}
    assert "on_behalf_of" not in notice["body"]


def test_someone_filing_for_another_person_is_recorded(
    console: TestClient, tokens: dict[str, str]
) -> None:
    r = _post(console, {**COMPLETE, "on_behalf_of": "Min-ji Kim", "jurisdiction": "KR"})
    assert r.status_code == 201, r.text
    assert "within 24 hours" in r.text
    case = _case(console, tokens, int(_between(r.text, '<dd id="case-id">')))
    assert case["notices"][0]["body"]["on_behalf_of"] == "Min-ji Kim"


def test_a_second_request_for_the_same_content_joins_its_case(console: TestClient) -> None:
    first = _post(console, COMPLETE)
    second = _post(console, {**COMPLETE, "email": "friend@example.org"})
    assert second.status_code == 201
    assert 'id="joined"' in second.text
    assert _between(first.text, '<dd id="case-id">') == _between(second.text, '<dd id="case-id">')


def test_a_suspended_notifier_is_recorded_without_a_case(
    console: TestClient, tokens: dict[str, str]
) -> None:
    r = console.post(
        "/v1/notifiers/suspensions",
        json={"notifier": "jane@example.org", "reason": "manifestly unfounded notices"},
        headers=bearer(tokens["admin"]),
    )
    assert r.status_code == 200, r.text
    page = _post(console, COMPLETE)
    assert page.status_code == 403
    assert 'id="report-suspended"' in page.text and 'id="case-id"' not in page.text
    assert _between(page.text, '<code id="receipt">').startswith("rcpt_")


@pytest.mark.parametrize(
    ("dropped", "field", "says"),
    [
        (("signature",), "signature", "Type your full name"),
        (("statement",), "statement", "Tick the statement"),
        (("email", "phone"), "contact", "email address or a phone number"),
        (("locators",), "locators", "Tell us where the content is"),
    ],
)
def test_a_missing_element_is_shown_next_to_its_field_and_recorded(
    console: TestClient, service: Any, dropped: tuple[str, ...], field: str, says: str
) -> None:
    data = {k: v for k, v in COMPLETE.items() if k not in dropped}
    r = _post(console, data)
    assert r.status_code == 422
    assert says in _field_error(r.text, field)
    assert f'href="#f-{field}"' in r.text  # listed at the top, linking to the field
    # The values are kept.
    for key in ("signature", "email", "locators"):
        if key not in dropped:
            assert COMPLETE[key].split("\n")[0] in r.text
    if "statement" not in dropped:
        assert 'value="yes" required checked' in r.text
    # Recorded all the same, with its receipt, and no case.
    receipt = _between(r.text, '<code id="recorded-receipt">')
    with service.ws.sessions() as session:
        notice = session.scalar(select(Notice).where(Notice.receipt == receipt))
        assert notice is not None
        assert not notice.complete and notice.case_id is None
        assert notice.missing == [{"statement": "good_faith_statement"}.get(field, field)]


def test_lines_that_point_nowhere_are_named_by_field_and_line(
    console: TestClient, service: Any
) -> None:
    data = {
        **COMPLETE,
        "locators": "t.me/somechannel/5\nftp://example.org/x",
        "hashes": f"sha256:{SHA}\nsha256:abc",
        "email": "not-an-email",
    }
    r = _post(console, data)
    assert r.status_code == 422
    assert "Line 2 (“ftp://example.org/x”)" in _field_error(r.text, "locators")
    assert "Line 2 (“sha256:abc”)" in _field_error(r.text, "hashes")
    assert "not an email address" in _field_error(r.text, "email")
    assert "t.me/somechannel/5" in r.text  # kept as typed
    with service.ws.sessions() as session:
        notice = session.scalars(select(Notice)).one()
    # A link copied without https:// was completed rather than refused.
    assert notice.body["locators"][0] == "https://t.me/somechannel/5"
    assert {i["field"] for i in notice.invalid} == {"locators[1]", "locators[3]", "contact.email"}


def test_fingerprints_alone_locate_the_content(console: TestClient, tokens: dict[str, str]) -> None:
    tool_line = json.dumps({"file": "a.jpg", "sha256": "cd" * 32, "md5": MD5, "pdq": None})
    data = {
        **COMPLETE,
        "locators": "",
        "hashes": f"sha256:{SHA.upper()}\npdq {PDQ}\n# a comment\n{tool_line}\n",
    }
    r = _post(console, data)
    assert r.status_code == 201, r.text
    case = _case(console, tokens, int(_between(r.text, '<dd id="case-id">')))
    found = {(loc["signal_type"], loc["value"]) for loc in case["locators"]}
    assert found == {("sha256", SHA), ("pdq", PDQ), ("sha256", "cd" * 32), ("md5", MD5)}


def test_an_uploaded_picture_is_hashed_in_memory_and_not_kept(
    console: TestClient, service: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    picture = jpeg(11)
    files = {"picture": ("photo.jpg", picture, "image/jpeg")}
    r = _post(console, {**COMPLETE, "locators": ""}, files=files)
    assert r.status_code == 201, r.text
    sha256 = hashlib.sha256(picture).hexdigest()
    assert f"sha256:{sha256}" in _between(r.text, 'id="picture-hashes">', "</div>")
    # The same hashes as the scanner's own pipeline (which reads a file: written here only).
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(picture)
    expected = compute_signals(copy, Limits())
    case = _case(console, tokens, int(_between(r.text, '<dd id="case-id">')))
    found = {(loc["signal_type"], loc["value"]) for loc in case["locators"]}
    assert found == {
        ("sha256", sha256),
        ("md5", hashlib.md5(picture).hexdigest()),
        ("pdq", expected.signals["pdq"].value),
    }
    # Nothing of the picture was kept.
    vault = service.ws.settings.home / "vault"
    assert not vault.exists() or not any(p.is_file() for p in vault.rglob("*"))
    assert _count(service, MediaRecord) == 0 and _count(service, ItemMedia) == 0


def test_an_incomplete_request_keeps_the_pictures_fingerprints_not_the_picture(
    console: TestClient,
) -> None:
    picture = jpeg(12)
    files = {"picture": ("photo.jpg", picture, "image/jpeg")}
    r = _post(console, {**COMPLETE, "locators": "", "signature": ""}, files=files)
    assert r.status_code == 422
    hashes = _between(r.text, 'name="hashes"', "</textarea>")
    assert f"sha256:{hashlib.sha256(picture).hexdigest()}" in hashes
    assert 'id="picture-kept"' in r.text


def test_a_file_that_is_not_a_picture_is_refused_plainly(console: TestClient, service: Any) -> None:
    files = {"picture": ("notes.txt", b"just some text, not a picture\n" * 10, "image/jpeg")}
    r = _post(console, COMPLETE, files=files)
    assert r.status_code == 422
    assert "not a picture we can read" in _field_error(r.text, "picture")
    assert "Jane Doe" in r.text  # the typing is kept
    assert _count(service, Notice) == 0  # nothing filed: the person sends it again


def _bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims 10^10 pixels (only the header is ever read)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_a_decompression_bomb_is_refused_before_decoding(console: TestClient) -> None:
    files = {"picture": ("big.png", _bomb_png(), "image/png")}
    r = _post(console, COMPLETE, files=files)
    assert r.status_code == 422
    assert "far larger than any photo" in _field_error(r.text, "picture")


def test_a_video_is_pointed_to_the_on_device_fingerprint(console: TestClient) -> None:
    mp4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 64
    files = {"picture": ("clip.mp4", mp4, "video/mp4")}
    r = _post(console, COMPLETE, files=files)
    assert r.status_code == 422
    assert "This file is a video" in _field_error(r.text, "picture")


def test_a_form_from_elsewhere_or_without_its_token_is_refused(console: TestClient) -> None:
    console.get("/report")
    no_token = console.post("/report", data=COMPLETE, headers=ORIGIN)
    assert no_token.status_code == 403
    page = console.get("/report")
    elsewhere = console.post(
        "/report",
        data={**COMPLETE, "csrf": csrf_of(page.text)},
        headers={"origin": "https://evil.example"},
    )
    assert elsewhere.status_code == 403


def test_the_language_switch_comes_back_to_the_form(console: TestClient) -> None:
    page = console.get("/report")
    r = console.post(
        "/console/language",
        data={"csrf": csrf_of(page.text), "language": "ko", "back": "/report"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/report"
    korean = console.get("/report")
    assert '<html lang="ko">' in korean.text
    assert "성적 촬영물 삭제 요청" in korean.text
    assert '<option value="KR" selected>' in korean.text  # a Korean visitor: Korea first


def test_errors_and_receipt_in_korean(console: TestClient, tokens: dict[str, str]) -> None:
    console.cookies.set("jikimi_lang", "ko")
    r = _post(console, {k: v for k, v in COMPLETE.items() if k != "signature"})
    assert r.status_code == 422
    assert "성명을 입력해 주십시오" in _field_error(r.text, "signature")
    assert "접수 번호" in r.text
    done = _post(console, {**COMPLETE, "jurisdiction": "KR", "language": "ko"})
    assert done.status_code == 201
    assert "요청을 접수했습니다" in done.text and "24시간 이내" in done.text
    case = _case(console, tokens, int(_between(done.text, '<dd id="case-id">')))
    assert case["notices"][0]["body"]["language"] == "ko"


def test_the_eu_list_is_the_shipped_profiles_one() -> None:
    groups = load_profiles().groups
    assert sorted(EU_MEMBERS) == sorted(c for c, g in groups.items() if g == "EU")


def test_notice_body_maps_every_locator_to_its_line() -> None:
    values = {
        "locators": "https://t.me/a_channel/1\n\nwww.example.org/x",
        "hashes": f"md5 {MD5}",
        "signature": "",
        "statement": False,
        "email": "",
        "phone": "",
        "explanation": "",
        "on_behalf_of": "",
        "jurisdiction": "",
        "language": "en",
    }
    body, sources = notice_body(values, None)
    assert body["locators"] == [
        "https://t.me/a_channel/1",
        "https://www.example.org/x",
        f"md5:{MD5}",
    ]
    assert [(f, n) for f, n, _ in sources] == [("locators", 1), ("locators", 3), ("hashes", 1)]
    assert body["good_faith_statement"] is False and body["contact"] == {}
    assert "signature" not in body and "jurisdiction" not in body


def test_hash_picture_matches_the_scanner(tmp_path: Path) -> None:
    picture = jpeg(21, (320, 240))
    path = tmp_path / "p.jpg"
    path.write_bytes(picture)
    expected = compute_signals(path, Limits())
    got = hash_picture(picture, Limits())
    assert got.sha256 == expected.sha256
    assert got.md5 == expected.signals["md5"].value
    assert got.pdq == expected.signals["pdq"].value


# -- limits: size and rate -------------------------------------------------------------------


class TestLimits:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, object]:
        return {"report_per_hour": 3, "report_max_bytes": 20_000}

    def test_an_oversized_body_is_refused_by_its_length(
        self, console: TestClient, service: Any
    ) -> None:
        files = {"picture": ("photo.jpg", jpeg(3), "image/jpeg")}  # ~50 kB
        r = _post(console, COMPLETE, files=files)
        assert r.status_code == 413
        assert "larger than 20 KB" in r.text  # the limit as it is set
        assert "the most this form accepts" in _field_error(r.text, "picture")
        assert _count(service, Notice) == 0

    def test_an_oversized_body_is_refused_while_it_streams(self, console: TestClient) -> None:
        csrf = csrf_of(console.get("/report").text)

        def body() -> Iterator[bytes]:  # no Content-Length: chunked
            yield (
                f'--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
                '--b\r\nContent-Disposition: form-data; name="picture"; filename="x.jpg"\r\n'
                "Content-Type: image/jpeg\r\n\r\n"
            ).encode()
            for _ in range(10):
                yield b"\xff" * 4096

        r = console.post(
            "/report",
            content=body(),
            headers={**ORIGIN, "content-type": "multipart/form-data; boundary=b"},
        )
        assert r.status_code == 413
        assert "the most this form accepts" in r.text

    def test_the_rate_limit_answers_429_with_retry_after(
        self, console: TestClient, service: Any
    ) -> None:
        for _ in range(3):  # incomplete ones count too: each is a submission
            assert _post(console, {"signature": "x"}).status_code == 422
        r = _post(console, COMPLETE)
        assert r.status_code == 429
        assert 0 < int(r.headers["retry-after"]) <= 3600
        assert "3 requests in the last hour" in r.text
        assert _count(service, Notice) == 3
        assert console.get("/report").status_code == 200  # reading the form is not limited


def test_the_sliding_window_counts_per_key_and_forgets() -> None:
    now = [1000.0]
    window = SlidingWindow(2, 3600, clock=lambda: now[0])
    assert window.hit("a").allowed and window.hit("a").allowed
    refused = window.hit("a")
    assert not refused.allowed and refused.retry_after == 3600
    assert window.hit("b").allowed  # another address has its own count
    now[0] += 1800
    assert window.hit("a").retry_after == 1800  # refused attempts do not count
    now[0] += 1800
    assert window.hit("a").allowed


def test_the_window_stays_bounded() -> None:
    now = [0.0]
    window = SlidingWindow(1, 60, clock=lambda: now[0], max_keys=3)
    for key in "abcde":
        window.hit(key)
    assert len(window) == 3
    now[0] += 61
    window.hit("f")
    assert len(window) == 1  # the idle ones went first


def test_client_keys() -> None:
    assert client_key("203.0.113.7") == "203.0.113.7"
    assert client_key("2001:db8:1:2:3:4:5:6") == client_key("2001:db8:1:2:ffff::1")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_key(None) == "unknown"
