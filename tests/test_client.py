"""The Python client against the real app in-process (Starlette's TestClient is its HTTP
client), and against httpx.MockTransport for answers the app does not give on demand."""

from __future__ import annotations

import importlib.util
import inspect
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from tests.web.helpers import jpeg

import jikimi.client as client_module
from jikimi.client import (
    Item,
    JikimiAPIError,
    JikimiClient,
    JikimiUnavailable,
    NoticeIncomplete,
    RateLimited,
)

BASE = "http://testserver"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "platform_ingest.py"
SECRET = "s3cret-token-value"


def _jikimi(client: TestClient, token: str) -> JikimiClient:
    return JikimiClient(BASE, token, http=client)


def _takedown(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "takedown_request",
        "jurisdiction": "US",
        "locators": ["https://t.me/c/1/5"],
        "signature": "Full Name",
        "good_faith_statement": True,
        "contact": {"email": "me@example.org"},
    }
    body.update(changes)
    return body


RULING = {
    "outcome": "remove",
    "ground": "illegal",
    "law": "TAKE IT DOWN Act, 47 U.S.C. 223(h)",
    "category": "adult_ncii",
    "reasons": "Sexual deepfake of a person who did not consent.",
}


def test_check_a_benign_jpeg(client: TestClient, tokens: dict[str, str]) -> None:
    with _jikimi(client, tokens["platform"]) as jikimi:
        result = jikimi.check([("upload.jpg", jpeg(3))], text="holiday")
    assert result["verdict"]["outcome"] == "allow"
    (media,) = result["media"]
    assert media["filename"] == "upload.jpg" and media["media_type"] == "image"
    assert len(media["sha256"]) == 64


def test_check_with_signals_only_sends_json(client: TestClient, tokens: dict[str, str]) -> None:
    result = _jikimi(client, tokens["platform"]).check(signals={"sha256": "ab" * 32})
    assert result["verdict"]["outcome"] == "allow"
    assert result["signals"][0]["signal_type"] == "sha256"


def test_ingest_is_idempotent_on_external_id(
    client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg(5))
    item = Item(
        platform="telegram",
        chat_id="-1001",
        message_id="42",
        author_id="777",
        posted_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
        external_id="tg:-1001:42",
        text="caption",
        file_ids=["AQADfile1", "AQADgone2"],  # the second could not be fetched
        meta={"lang": "ko"},
    )
    jikimi = _jikimi(client, tokens["platform"])
    first = jikimi.ingest(item, [photo])
    assert first.created is True and first.item_id > 0
    assert first.verdict is not None and first.verdict["outcome"] == "allow"
    assert first.raw["media"][0]["filename"] == "photo.jpg"
    again = jikimi.ingest(item, [photo])  # a retry after a lost answer
    assert again.created is False
    assert (again.item_id, again.verdict_id) == (first.item_id, first.verdict_id)
    stored = jikimi.item(first.item_id)
    assert stored["chat_id"] == "-1001" and stored["text"] == "caption"
    assert [m["file_id"] for m in stored["media"]] == ["AQADfile1", "AQADgone2"]
    assert stored["media"][0]["sha256"] == first.raw["media"][0]["sha256"]
    assert stored["media"][1]["sha256"] is None  # recorded by its platform id alone


def test_item_as_json_leaves_unset_fields_out() -> None:
    assert Item(platform="web").as_json() == {"platform": "web"}
    with pytest.raises(ValueError, match="time zone"):
        Item(platform="web", posted_at=datetime(2026, 1, 1))


def test_errors_are_parsed_from_problem_details(client: TestClient, tokens: dict[str, str]) -> None:
    platform = _jikimi(client, tokens["platform"])
    case_id = platform.file_notice(_takedown())["case_id"]
    with pytest.raises(JikimiAPIError) as forbidden:
        platform.decide(case_id, **RULING)
    assert forbidden.value.status == 403 and forbidden.value.code == "forbidden"
    assert forbidden.value.problem["needs"] and forbidden.value.title
    with pytest.raises(JikimiAPIError) as unknown:
        _jikimi(client, "not-a-token").item(1)
    assert unknown.value.status == 401 and unknown.value.code == "unauthenticated"
    with pytest.raises(JikimiAPIError) as missing:
        platform.item(999_999)
    assert missing.value.code == "not-found" and "999999" in str(missing.value)


def test_notices_complete_and_incomplete(client: TestClient, tokens: dict[str, str]) -> None:
    jikimi = _jikimi(client, tokens["platform"])
    receipt = jikimi.file_notice(_takedown())
    assert receipt["receipt"].startswith("rcpt_") and receipt["case_id"]
    with pytest.raises(NoticeIncomplete) as incomplete:
        jikimi.file_notice(_takedown(signature=None, good_faith_statement=None))
    error = incomplete.value
    assert error.status == 422 and error.code == "incomplete-notice"
    assert sorted(error.missing) == ["good_faith_statement", "signature"]
    assert error.receipt and error.receipt.startswith("rcpt_") and error.notice_id


def test_a_moderator_lists_and_decides_cases(client: TestClient, tokens: dict[str, str]) -> None:
    platform = _jikimi(client, tokens["platform"])
    ingested = platform.ingest(
        Item(platform="telegram", chat_id="-1001", message_id="5"), [("x.jpg", jpeg(31))]
    )
    case_id = platform.file_notice(_takedown())["case_id"]
    moderator = _jikimi(client, tokens["moderator"])
    assert case_id in [c["id"] for c in moderator.cases(state="new", overdue=False)]
    assert case_id not in [c["id"] for c in moderator.cases(state="closed")]
    decided = moderator.decide(case_id, **RULING)
    assert decided["state"] == "closed" and decided["items_removed"] == [ingested.item_id]
    assert decided["statement_of_reasons"]["category"] == "STATEMENT_CATEGORY_CYBER_VIOLENCE"


def _mock(handler: Any) -> JikimiClient:
    return JikimiClient(BASE, SECRET, http=httpx.Client(transport=httpx.MockTransport(handler)))


def test_429_is_rate_limited_with_retry_after() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {SECRET}"
        problem = {
            "type": "urn:jikimi:problem:rate-limited",
            "title": "Too many requests",
            "status": 429,
            "detail": "slow down",
        }
        return httpx.Response(
            429,
            json=problem,
            headers={"Retry-After": "7", "content-type": "application/problem+json"},
        )

    with pytest.raises(RateLimited) as limited:
        _mock(handler).check(text="hello")
    assert limited.value.retry_after == 7.0 and limited.value.code == "rate-limited"
    assert limited.value.status == 429 and isinstance(limited.value, JikimiAPIError)


def test_an_answer_that_is_not_a_problem_document() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    with pytest.raises(JikimiAPIError) as error:
        _mock(handler).item(1)
    assert error.value.status == 502 and error.value.code == "http-502"
    assert error.value.problem == {}


def test_a_transport_failure_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(JikimiUnavailable) as down:
        _mock(handler).ingest(Item(platform="web", external_id="w:1"))
    assert "connection refused" in str(down.value)
    assert SECRET not in str(down.value)


def test_the_token_never_shows(client: TestClient) -> None:
    jikimi = _jikimi(client, SECRET)
    assert SECRET not in repr(jikimi) and SECRET not in str(jikimi)
    with pytest.raises(JikimiAPIError) as error:
        jikimi.item(1)
    assert SECRET not in str(error.value) and SECRET not in repr(error.value)
    assert SECRET not in str(error.value.problem)
    with socket.socket() as closed:  # a loopback port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with JikimiClient(f"http://127.0.0.1:{port}", SECRET, timeout=5) as own:
        assert SECRET not in repr(own)
        with pytest.raises(JikimiUnavailable) as down:
            own.check(text="x")
    assert SECRET not in str(down.value) and SECRET not in repr(down.value)


def test_all_matches_what_the_module_defines() -> None:
    exported = set(client_module.__all__)
    assert all(hasattr(client_module, n) for n in exported)
    defined = {
        n
        for n, obj in vars(client_module).items()
        if not n.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == client_module.__name__
    }
    assert defined and defined <= exported, f"public but not in __all__: {defined - exported}"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("platform_ingest", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_ingests_and_prints_the_verdict(
    client: TestClient,
    tokens: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    photo = tmp_path / "upload.jpg"
    photo.write_bytes(jpeg(8))
    monkeypatch.setenv("JIKIMI_TOKEN", tokens["platform"])
    main = _example().main
    argv = ["--url", BASE, "--external-id", "web:8", str(photo)]
    assert main(argv, http=client) == 0
    out = capsys.readouterr().out
    assert ": allow" in out and "published" in out
    assert main(argv, http=client) == 0
    assert "sent before" in capsys.readouterr().out
    monkeypatch.setenv("JIKIMI_TOKEN", "wrong")
    assert main(argv, http=client) == 2
    assert "unauthenticated" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("header", "problem_member", "expected"),
    [
        ("Wed, 21 Oct 2015 07:28:00 GMT", None, 0.0),  # a date in the past: at once
        (None, 12, 12.0),  # no header: the problem's retry_after
        (None, None, None),  # the service did not say
    ],
)
def test_retry_after_forms(
    header: str | None, problem_member: int | None, expected: float | None
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        problem: dict[str, Any] = {"type": "urn:jikimi:problem:throttled", "status": 429}
        if problem_member is not None:
            problem["retry_after"] = problem_member
        return httpx.Response(429, json=problem, headers={"Retry-After": header} if header else {})

    with pytest.raises(RateLimited) as limited:
        _mock(handler).cases()
    assert limited.value.retry_after == expected


def test_docs_name_every_method_and_export() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "client.md").read_text()
    methods = [
        n for n, f in vars(JikimiClient).items() if inspect.isfunction(f) and not n.startswith("_")
    ]
    assert len(methods) >= 7
    missing = [n for n in [*methods, *client_module.__all__] if n not in text]
    assert not missing, f"missing from docs/client.md: {missing}"


def test_credentials_in_the_url_do_not_show() -> None:
    with JikimiClient("https://proxyuser:proxypass@jikimi.example/", SECRET) as jikimi:
        assert repr(jikimi) == "JikimiClient('https://jikimi.example')"
