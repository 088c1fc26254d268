"""A fake StopNCII.org hash API on loopback, in the wire format threatexchange's client reads.

``GET /v1/FetchHashes?startTimestamp=&pageSize=[&nextPageToken=]`` with the headers
``Ocp-Apim-Subscription-Key`` (wrong: 401, as Azure API Management answers) and
``x-functions-key`` (wrong: 403) answers::

    {"count": N, "nextPageToken": "..."|null, "nextSetTimestamp": T, "hasMoreRecords": bool,
     "hashRecords": [{"lastModtimestamp", "signalType": "ImagePDQ"|"VideoMD5"|...,
                      "hashValue", "hashStatus": "Active"|"Withdrawn"|"Deleted"|...,
                      "caseNumbers": {...}, "CSPFeedbacks": [...]}]}

Records come in ``(lastModtimestamp, hashValue)`` order from ``startTimestamp`` (inclusive);
``nextSetTimestamp`` is the last record's time. :meth:`FakeStopNCII.fault` scripts a failing
or malformed answer for a given fetch request.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.loopback import LoopbackServer, QuietHandler

SUBSCRIPTION_KEY = "sub-key-for-tests-0123456789"
FUNCTION_KEY = "fn-key-for-tests-9876543210"
BASE_TIME = 1_700_000_000


@dataclass
class Fault:
    request: int  # the 1-based FetchHashes request it answers
    status: int
    body: bytes


class FakeStopNCII:
    def __init__(self, page_size: int = 2) -> None:
        self.page_size = page_size
        self.records: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, str]] = []
        self._faults: list[Fault] = []
        self._clock = BASE_TIME
        self._lock = threading.Lock()
        fake = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                status, body = fake._handle(self.path, self.headers)
                self.reply(status, body, {"Content-Type": "application/json"})

        self._server = LoopbackServer(Handler)

    @property
    def url(self) -> str:
        return f"{self._server.base_url}/v1"

    def __enter__(self) -> FakeStopNCII:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    # -- the data ------------------------------------------------------------------------------

    def add(self, value: str, signal_type: str = "ImagePDQ", status: str = "Active") -> None:
        with self._lock:
            self._clock += 1
            self.records[value] = {
                "lastModtimestamp": self._clock,
                "signalType": signal_type,
                "hashValue": value,
                "hashStatus": status,
                "caseNumbers": {f"case-{len(self.records)}": status},
                "CSPFeedbacks": [],
            }

    def set_status(self, value: str, status: str) -> None:
        """A person withdrew their case (``Withdrawn``) or StopNCII deleted it (``Deleted``)."""
        with self._lock:
            self._clock += 1
            record = self.records[value]
            record["hashStatus"] = status
            record["caseNumbers"] = {k: status for k in record["caseNumbers"]}
            record["lastModtimestamp"] = self._clock

    def fault(self, request: int, status: int = 500, body: bytes = b"{}") -> None:
        """Answer the ``request``-th FetchHashes call (1-based, counted from now) so."""
        with self._lock:
            self._faults.append(Fault(len(self.requests) + request, status, body))

    # -- the wire ------------------------------------------------------------------------------

    def _handle(self, path: str, headers: Any) -> tuple[int, bytes]:
        parts = urlsplit(path)
        if parts.path != "/v1/FetchHashes":
            return 404, b'{"message": "Resource not found"}'
        if headers.get("Ocp-Apim-Subscription-Key") != SUBSCRIPTION_KEY:
            return 401, b'{"statusCode": 401, "message": "Access denied due to invalid key."}'
        if headers.get("x-functions-key") != FUNCTION_KEY:
            return 403, b""
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(query)
            for fault in self._faults:
                if fault.request == len(self.requests):
                    return fault.status, fault.body
            return 200, json.dumps(self._page(query)).encode()

    def _page(self, query: dict[str, str]) -> dict[str, Any]:
        start = int(query.get("startTimestamp", "0"))
        size = min(int(query.get("pageSize", "800")), self.page_size)
        offset = int(query.get("nextPageToken") or 0)
        ordered = sorted(
            (r for r in self.records.values() if r["lastModtimestamp"] >= start),
            key=lambda r: (r["lastModtimestamp"], r["hashValue"]),
        )
        page = ordered[offset : offset + size]
        more = offset + size < len(ordered)
        return {
            "count": len(page),
            "nextPageToken": str(offset + size) if more else None,
            "nextSetTimestamp": page[-1]["lastModtimestamp"] if page else start,
            "hasMoreRecords": more,
            "hashRecords": page,
        }
