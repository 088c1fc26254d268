"""A small Python client for a platform's upload pipeline: check, ingest, read back, notices,
cases and decisions over the HTTP API (docs/api.md, docs/client.md).

Errors are parsed from the RFC 9457 problem details the service answers with. They form their
own tree, not :class:`jikimi.errors.JikimiError`'s: those are failures inside Jikimi, these are
answers (or silence) seen from the platform's process, and a platform catching one should not
catch the other by accident::

    ClientError
    ├── JikimiAPIError        a non-2xx answer (``status``, ``code``, ``title``, ``detail``,
    │                         ``problem``)
    │   ├── RateLimited       429 (``retry_after`` seconds, from ``Retry-After`` or the problem)
    │   └── NoticeIncomplete  422 ``incomplete-notice`` (``missing``, ``invalid``, ``receipt``,
    │                         ``notice_id``): the notice was recorded all the same
    ├── JikimiUnavailable     no answer: connection refused, timeout, TLS, reset
    └── InvalidWebhook        a webhook request whose signature does not hold

The client never retries: retries are the caller's business. :meth:`JikimiClient.ingest` is
safe to retry when the item carries an ``external_id``: a repeat returns the first item with
``created=False``. The token is sent in the ``Authorization`` header only and never appears in
``repr()`` or in an error message.

Decisions come back to the platform as signed webhooks (docs/actions.md):
:func:`verify_webhook` checks a request's signature and returns its event.
"""

from __future__ import annotations

import email.utils
import json
import mimetypes
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Protocol

import httpx

from jikimi.webhook_signature import DEFAULT_TOLERANCE_SECONDS, SIGNATURE_HEADER, verify_signature

__all__ = [
    "ClientError",
    "HTTPClient",
    "Ingested",
    "InvalidWebhook",
    "Item",
    "JikimiAPIError",
    "JikimiClient",
    "JikimiUnavailable",
    "Media",
    "NoticeIncomplete",
    "RateLimited",
    "verify_webhook",
]

PROBLEM_PREFIX = "urn:jikimi:problem:"

# A file to upload: a path (read when sent), or (filename, content).
Media = Path | tuple[str, bytes]


class ClientError(Exception):
    """Base of every error the client raises."""


class JikimiAPIError(ClientError):
    """The service answered with a non-2xx status. ``code`` is the last part of the problem
    ``type`` (``forbidden``, ``not-found``, ...; docs/api.md lists them), ``problem`` the whole
    problem document (extra members such as ``errors``, ``needs``, ``missing``)."""

    def __init__(
        self, status: int, code: str, title: str, detail: str, problem: dict[str, Any]
    ) -> None:
        super().__init__(f"{status} {code}: {detail or title}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.problem = problem


class RateLimited(JikimiAPIError):
    """429: try again after ``retry_after`` seconds (``None`` when the service did not say)."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        problem: dict[str, Any],
        retry_after: float | None,
    ) -> None:
        super().__init__(status, code, title, detail, problem)
        self.retry_after = retry_after


class NoticeIncomplete(JikimiAPIError):
    """422 ``incomplete-notice``: the notice was recorded (``notice_id``, ``receipt``) but lacks
    the elements in ``missing`` (and has the ``invalid`` ones); send it again with them."""

    def __init__(
        self, status: int, code: str, title: str, detail: str, problem: dict[str, Any]
    ) -> None:
        super().__init__(status, code, title, detail, problem)
        self.missing: list[str] = list(problem.get("missing") or [])
        self.invalid: list[dict[str, Any]] = list(problem.get("invalid") or [])
        self.receipt: str | None = problem.get("receipt")
        self.notice_id: int | None = problem.get("notice_id")


class JikimiUnavailable(ClientError):
    """No answer from the service (connection refused, timeout, reset). Whether a request that
    was sent took effect is unknown: retry ``ingest`` with the same ``external_id``."""


class InvalidWebhook(ClientError):
    """A webhook request that is not from this Jikimi (wrong secret), was altered, or is older
    than the tolerance (a replay). Answer it 400 and do not act on it."""


@dataclass(frozen=True)
class Item:
    """One item as the platform sees it (the ``ItemIn`` body of ``POST /v1/items``).
    ``posted_at`` must carry a time zone; ``external_id`` makes ingest idempotent."""

    platform: str
    chat_id: str | None = None
    message_id: str | None = None
    url: str | None = None
    author_id: str | None = None
    posted_at: datetime | None = None
    external_id: str | None = None
    text: str | None = None
    chat_title: str | None = None
    author_username: str | None = None
    signals: Mapping[str, str] = field(default_factory=dict)
    file_ids: Sequence[str] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.posted_at is not None and self.posted_at.utcoffset() is None:
            raise ValueError("Item.posted_at needs a time zone (e.g. datetime.now(UTC))")

    def as_json(self) -> dict[str, Any]:
        """The request body: unset fields left out, so the service's defaults apply."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is None or (name in ("signals", "file_ids", "meta") and not value):
                continue
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Mapping):
                value = dict(value)
            elif name == "file_ids":
                value = list(value)
            out[name] = value
        return out


@dataclass(frozen=True)
class Ingested:
    """The answer to an ingest. ``created`` is false when the ``external_id`` was sent before:
    the ids are then the first item's and ``verdict`` its stored verdict."""

    item_id: int
    case_id: int | None
    verdict_id: int | None
    created: bool
    verdict: dict[str, Any] | None
    raw: dict[str, Any]


class HTTPClient(Protocol):
    """What the client needs of an HTTP client: ``httpx.Client`` or one with its API (Starlette's
    ``TestClient``)."""

    def request(self, method: str, url: str, **kwargs: Any) -> Any: ...

    def close(self) -> None: ...


class JikimiClient:
    """The Jikimi API for one token. Use as a context manager, or call :meth:`close`.

    ``http`` is an httpx-compatible client to send through (the caller keeps it and closes it);
    without it the client opens its own ``httpx.Client`` with ``timeout`` seconds.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 30.0,
        http: HTTPClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # What repr() and errors show: no user:password@ (some proxies put credentials there).
        self._shown = str(httpx.URL(self.base_url).copy_with(username=None, password=None))
        self._token = token
        self._owns_http = http is None
        self._http: HTTPClient = http if http is not None else httpx.Client(timeout=timeout)
        self._transport_errors = _transport_errors(self._http)

    def __repr__(self) -> str:
        return f"JikimiClient({self._shown!r})"

    def __enter__(self) -> JikimiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # -- the routes ---------------------------------------------------------------------------

    def check(
        self,
        media: Sequence[Media] = (),
        *,
        text: str | None = None,
        signals: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """``POST /v1/check``: the verdict for an upload before it is published; nothing is
        recorded."""
        body: dict[str, Any] = {}
        if text is not None:
            body["text"] = text
        if signals:
            body["signals"] = dict(signals)
        return self._send("POST", "/v1/check", body, media).json()

    def ingest(self, item: Item, media: Sequence[Media] = ()) -> Ingested:
        """``POST /v1/items``: record the item with its media; the verdict and case out. Safe to
        retry with the same ``item.external_id`` (the first item comes back, ``created=False``)."""
        response = self._send("POST", "/v1/items", item.as_json(), media)
        raw = response.json()
        return Ingested(
            item_id=raw["item_id"],
            case_id=raw.get("case_id"),
            verdict_id=raw.get("verdict_id"),
            created=bool(raw.get("created", response.status_code == 201)),
            verdict=raw.get("verdict"),
            raw=raw,
        )

    def item(self, item_id: int) -> dict[str, Any]:
        """``GET /v1/items/{item_id}``: the item with its media, verdicts and case."""
        return self._request("GET", f"/v1/items/{int(item_id)}").json()

    def file_notice(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /v1/notices``: the receipt (``notice_id``, ``case_id``, ``receipt``,
        ``deadline_at``). An incomplete notice raises :class:`NoticeIncomplete`."""
        return self._request("POST", "/v1/notices", json=dict(body)).json()

    def cases(self, **filters: str | int | bool | None) -> list[dict[str, Any]]:
        """``GET /v1/cases``: cases by the clock; filters as in docs/api.md (``queue``,
        ``state``, ``overdue``, ...). ``None`` leaves a filter out."""
        params = {
            k: str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in filters.items()
            if v is not None
        }
        return self._request("GET", "/v1/cases", params=params).json()

    def decide(self, case_id: int, **ruling: Any) -> dict[str, Any]:
        """``POST /v1/cases/{case_id}/decisions`` with ``outcome``, ``ground``, ``category``,
        ``reasons`` (and ``law``, ``terms``, ...): the decision and its statement of reasons."""
        return self._request("POST", f"/v1/cases/{int(case_id)}/decisions", json=ruling).json()

    # -- plumbing -----------------------------------------------------------------------------

    def _send(self, method: str, path: str, body: dict[str, Any], media: Sequence[Media]) -> Any:
        """JSON alone, or multipart with the JSON under ``item`` and the files under ``media``."""
        if not media:
            return self._request(method, path, json=body)
        with _opened(media) as files:
            return self._request(method, path, data={"item": json.dumps(body)}, files=files)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        try:
            response = self._http.request(method, self.base_url + path, headers=headers, **kwargs)
        except self._transport_errors as exc:
            # The exception's text names the URL, never the header that holds the token.
            raise JikimiUnavailable(
                f"no answer from {self._shown} ({type(exc).__name__}: {exc})"
            ) from None
        if not 200 <= response.status_code < 300:
            raise _api_error(response)
        return response


@contextmanager
def _opened(media: Sequence[Media]) -> Iterator[list[tuple[str, tuple[str, Any, str]]]]:
    with ExitStack() as stack:
        files: list[tuple[str, tuple[str, Any, str]]] = []
        for m in media:
            content: bytes | BinaryIO
            if isinstance(m, Path):
                name, content = m.name, stack.enter_context(m.open("rb"))
            else:
                name, content = m
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            files.append(("media", (name, content, kind)))
        yield files


def _api_error(response: Any) -> JikimiAPIError:
    """The exception for a non-2xx answer, from its problem document (RFC 9457) or, for an
    answer that is not one (a proxy's HTML page), from the status alone."""
    status = int(response.status_code)
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        problem = {}
    kind = problem.get("type")
    code = (
        kind.removeprefix(PROBLEM_PREFIX)
        if isinstance(kind, str) and kind.startswith(PROBLEM_PREFIX)
        else f"http-{status}"
    )
    title = str(problem.get("title") or getattr(response, "reason_phrase", "") or "")
    detail = str(problem.get("detail") or "")
    if status == 429:
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if retry_after is None and isinstance(problem.get("retry_after"), int | float):
            retry_after = float(problem["retry_after"])
        return RateLimited(status, code, title, detail, problem, retry_after)
    if status == 422 and code == "incomplete-notice":
        return NoticeIncomplete(status, code, title, detail, problem)
    return JikimiAPIError(status, code, title, detail, problem)


def _transport_errors(http: HTTPClient) -> tuple[type[BaseException], ...]:
    """``httpx.TransportError``, and the ``TransportError`` of the httpx-compatible library
    ``http`` comes from (Starlette's TestClient is built on the ``httpx2`` fork)."""
    found: list[type[BaseException]] = [httpx.TransportError]
    for cls in type(http).__mro__:
        module = sys.modules.get(cls.__module__.split(".")[0])
        error = getattr(module, "TransportError", None)
        if isinstance(error, type) and issubclass(error, Exception) and error not in found:
            found.append(error)
    return tuple(found)


def _retry_after(value: str | None) -> float | None:
    """Seconds from ``Retry-After`` (RFC 9110 §10.2.3: delay-seconds or an HTTP date). The
    sinks' ``parse_retry_after`` does the same, but importing it loads the outbox and the
    store: too much for a client a platform imports."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return None
    return max(seconds, 0.0) if seconds == seconds else None  # NaN is no answer


def verify_webhook(
    body: bytes,
    signature: str | None,
    secret: str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> dict[str, Any]:
    """The event of a webhook request from Jikimi, once its signature holds.

    ``body`` is the raw request body (before any parsing), ``signature`` the value of its
    ``Jikimi-Signature`` header. The event is ``{"id", "event", "created_at", "target",
    "payload"}``; deliveries repeat until answered 2xx, so act once per ``id`` (also sent as
    ``Idempotency-Key``). Raises :class:`InvalidWebhook` when the signature is missing, wrong
    or older than ``tolerance_seconds``.
    """
    if not signature:
        raise InvalidWebhook(f"the request has no {SIGNATURE_HEADER} header")
    if not verify_signature(body, signature, secret, tolerance_seconds=tolerance_seconds):
        raise InvalidWebhook(
            f"the {SIGNATURE_HEADER} header does not sign this body with this secret "
            f"within {tolerance_seconds} s (altered, replayed, or another secret)"
        )
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidWebhook(f"the signed body is not JSON ({exc})") from None
    if not isinstance(event, dict):
        raise InvalidWebhook("the signed body is not a JSON object")
    return event
