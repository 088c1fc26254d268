"""An HTTP client of the DSA Transparency Database submission API.

Follows the Commission's API documentation (https://transparency.dsa.ec.europa.eu/page/
api-documentation): ``POST /api/v1/statement`` (one) and ``POST /api/v1/statements``
(``{"statements": [...]}``, at most 100), ``Authorization: Bearer <token>``, ``201 Created``
with the statements as stored (each with its ``uuid``); ``422`` with ``errors`` per field (per
``statement_<n>`` in a batch: then none was created); ``401`` for a bad token.

A PUID the database already holds is not a failure here: the statement was sent before (a
run that stopped after sending and before recording). The single endpoint answers 422 with
``errors.puid`` and the ``existing`` statement; the batch endpoint answers 422 with
``errors.existing_puids`` and creates none, so the client sends the rest again without them
(``PuidNotUniqueMultipleException`` in the Commission's code). Either way the statement is
reported as :attr:`Sent.existing`.

One attempt per call, no sleeping: 429 and 5xx raise :class:`ReportUnavailable` with the
server's ``Retry-After``; the caller decides when to run again, and a re-run is safe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from jikimi.actions.sinks.base import Redactor, parse_retry_after, redact_logs
from jikimi.errors import (
    ReportAuthError,
    ReportNotConfigured,
    ReportRejected,
    ReportUnavailable,
)
from jikimi.reports.transparency_db import batch_payload, statement_payload

__all__ = ["STATEMENTS_PATH", "STATEMENT_PATH", "Sent", "TransparencyDbClient"]

STATEMENT_PATH = "/api/v1/statement"
STATEMENTS_PATH = "/api/v1/statements"


@dataclass(frozen=True, slots=True)
class Sent:
    """One statement the database holds: ``uuid`` its id there (unknown for a PUID a batch
    found already stored), ``existing`` True when it was stored by an earlier send."""

    puid: str
    uuid: str | None
    existing: bool


class TransparencyDbClient:
    """Submits statements of reasons. ``transport`` is for tests."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not token:
            raise ReportNotConfigured(
                "no Transparency Database token: set dsa_tdb_token (JIKIMI_DSA_TDB_TOKEN) to "
                "the token generated in your Transparency Database profile"
            )
        redact_logs(token)
        self._redact = Redactor(token)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TransparencyDbClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, statement: Mapping[str, Any]) -> Sent:
        """Send one statement (checked first: :class:`ReportInvalid` sends nothing)."""
        puid = str(statement.get("puid", ""))
        response = self._post(STATEMENT_PATH, statement_payload(statement, puid))
        body = _json(response)
        if response.status_code == 201:
            return Sent(puid, body.get("uuid"), existing=False)
        existing = body.get("existing")
        if response.status_code == 422 and isinstance(existing, Mapping):
            return Sent(puid, existing.get("uuid"), existing=True)
        raise self._failure(response, body)

    def submit_batch(self, statements: Sequence[Mapping[str, Any]]) -> list[Sent]:
        """Send up to 100 statements in one call (checked first: :class:`ReportInvalid` sends
        nothing). PUIDs already stored come back ``existing``; the rest are sent again once."""
        payload = batch_payload(statements)
        response = self._post(STATEMENTS_PATH, payload)
        body = _json(response)
        known = _existing_puids(response, body)
        if known:
            rest = [s for s in payload["statements"] if s["puid"] not in known]
            found = [Sent(p, None, existing=True) for p in sorted(known)]
            if not rest:
                return found
            response = self._post(STATEMENTS_PATH, {"statements": rest})
            body = _json(response)
            if response.status_code != 201:
                raise self._failure(response, body)
            return found + _created(body)
        if response.status_code != 201:
            raise self._failure(response, body)
        return _created(body)

    def _post(self, path: str, payload: Mapping[str, Any]) -> httpx.Response:
        try:
            return self._http.post(path, json=payload)
        except httpx.HTTPError as exc:
            raise ReportUnavailable(
                f"Transparency Database unreachable ({self._redact(str(exc))}); nothing was "
                "recorded as sent, run again later"
            ) from None

    def _failure(self, response: httpx.Response, body: Mapping[str, Any]) -> Exception:
        status = response.status_code
        if status in (401, 403):
            return ReportAuthError(
                f"Transparency Database refused the token ({status}); generate a new one in "
                "your profile there and set dsa_tdb_token"
            )
        if status == 429 or status >= 500:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            advice = f"after {wait:.0f} s" if wait is not None else "later"
            return ReportUnavailable(
                f"Transparency Database answered {status}; nothing was created, run again "
                f"{advice} (statements already sent are not sent twice)",
                retry_after=wait,
            )
        problems = _problems(body.get("errors")) or [self._redact(response.text[:300])]
        return ReportRejected(
            f"Transparency Database refused the statements ({status})",
            status=status,
            problems=problems,
        )


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _existing_puids(response: httpx.Response, body: Mapping[str, Any]) -> set[str]:
    errors = body.get("errors")
    if response.status_code != 422 or not isinstance(errors, Mapping):
        return set()
    known = errors.get("existing_puids")
    return {p for p in known if isinstance(p, str)} if isinstance(known, list) else set()


def _created(body: Mapping[str, Any]) -> list[Sent]:
    rows = body.get("statements")
    if not isinstance(rows, list):
        raise ReportRejected(
            "Transparency Database answered 201 without statements",
            status=201,
            problems=["the answer has no 'statements' list"],
        )
    return [Sent(str(r.get("puid")), r.get("uuid"), existing=False) for r in rows]


def _problems(errors: Any, prefix: str = "") -> list[str]:
    """The API's ``errors`` ({field: [messages]}, or {statement_n: {field: [...]}}) as
    ``field: message`` lines."""
    if not isinstance(errors, Mapping):
        return []
    out = []
    for key, value in errors.items():
        if isinstance(value, Mapping):
            out += _problems(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            out += [f"{prefix}{key}: {m}" for m in value if isinstance(m, str)]
    return out
