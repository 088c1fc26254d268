"""A fake DSA Transparency Database submission API on loopback, in the documented wire format
(https://transparency.dsa.ec.europa.eu/page/api-documentation):

- ``POST /api/v1/statement``: 201 with the statement as stored plus ``uuid``, ``id``,
  ``created_at``, ``platform_name``, ``permalink``, ``self``; 422 ``{"message", "errors":
  {field: [..]}}``; a PUID already stored: 422 with ``errors.puid`` and ``existing``.
- ``POST /api/v1/statements``: ``{"statements": [...]}``, 1 to 100; 201 ``{"statements":
  [...]}``; 422 with ``errors.statement_<n>``; PUIDs repeated in the call or already stored:
  422 ``{"message", "errors": {"puid": [..], "existing_puids": [..]}}``. A 422 creates none.
- A wrong or missing bearer token: 401 ``{"message": "Unauthenticated."}``.

Its own checks are the documented required fields and the PUID rules, not our validator, so a
test that passes here did not just agree with itself. :meth:`FakeTransparencyDb.fail` scripts
answers (429 with ``Retry-After``, 500) for coming calls; ``lose_answer_at`` makes one call
store its batch and then answer 500, as when the answer is lost on the way back.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from typing import Any

from tests.support.loopback import LoopbackServer, QuietHandler

TOKEN = "X|tdb-test-token-0123456789abcdef"
REQUIRED = (
    "decision_ground",
    "content_type",
    "category",
    "application_date",
    "decision_facts",
    "source_type",
    "automated_detection",
    "automated_decision",
    "puid",
)
RESTRICTIONS = (
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
)
PUID = re.compile(r"^[A-Za-z0-9_-]{1,500}$")
NOT_UNIQUE_ONE = "The identifier given is not unique within this platform."
NOT_UNIQUE_MANY = "The platform identifier(s) are not all unique within this call."


class FakeTransparencyDb:
    def __init__(self) -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, int]] = []  # (path, statements in the call)
        self.auth_headers: list[str] = []
        self.lose_answer_at: int | None = None  # this call (1-based) stores, answers 500
        self._faults: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                status, body, headers = fake._handle(self.path, self.headers, self.body())
                self.reply(
                    status,
                    json.dumps(body).encode(),
                    {"Content-Type": "application/json", **headers},
                )

        self._server = LoopbackServer(Handler)

    @property
    def url(self) -> str:
        return self._server.base_url

    def __enter__(self) -> FakeTransparencyDb:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def fail(
        self, status: int, retry_after: str | None = None, body: dict[str, Any] | None = None
    ) -> None:
        """Answer the next call with ``status`` (``Retry-After``, ``body``) without storing."""
        headers = {"Retry-After": retry_after} if retry_after else {}
        self._faults.append((status, body or {"message": "Server Error"}, headers))

    def _handle(self, path: str, headers: Any, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            auth = headers.get("Authorization", "")
            self.auth_headers.append(auth)
            if auth != f"Bearer {TOKEN}":
                return 401, {"message": "Unauthenticated."}, {}
            try:
                body = json.loads(raw)
            except ValueError:
                body = {}
            count = len(body.get("statements") or []) if path.endswith("statements") else 1
            self.calls.append((path, count))
            if self._faults:
                return self._faults.pop(0)
            if path == "/api/v1/statement":
                return self._one(body)
            if path == "/api/v1/statements":
                return self._many(body)
            return 404, {"message": "Not Found"}, {}

    def _one(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        errors = _errors(body)
        if errors:
            first = next(iter(errors.values()))[0]
            return 422, {"message": first, "errors": errors}, {}
        if body["puid"] in self.stored:
            existing = self.stored[body["puid"]]
            return 422, {"message": NOT_UNIQUE_ONE, "errors": {"puid": [NOT_UNIQUE_ONE]},
                         "existing": existing}, {}  # fmt: skip
        return 201, self._store(body), {}

    def _many(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        statements = body.get("statements")
        if not isinstance(statements, list) or not 1 <= len(statements) <= 100:
            message = "The statements field must have between 1 and 100 items."
            return 422, {"message": message, "errors": {"statements": [message]}}, {}
        errors: dict[str, Any] = {
            f"statement_{n}": e for n, s in enumerate(statements) if (e := _errors(s))
        }
        if errors:
            return 422, {"errors": errors}, {}
        puids = [s["puid"] for s in statements]
        dupes = sorted({p for p in puids if puids.count(p) > 1 or p in self.stored})
        if dupes:
            errors = {"puid": [NOT_UNIQUE_MANY], "existing_puids": dupes}
            return 422, {"message": NOT_UNIQUE_MANY, "errors": errors}, {}
        created = [self._store(s) for s in statements]
        if self.lose_answer_at == len(self.calls):
            return 500, {"message": "Server Error"}, {}
        return 201, {"statements": created}, {}

    def _store(self, statement: dict[str, Any]) -> dict[str, Any]:
        sid = str(uuid.uuid4())
        stored = {**statement, "uuid": sid, "id": len(self.stored) + 1,
                  "created_at": "2026-01-01 00:00:00", "platform_name": "Test Platform",
                  "permalink": f"{self.url}/statement/{sid}",
                  "self": f"{self.url}/api/v1/statement/{sid}"}  # fmt: skip
        self.stored[statement["puid"]] = stored
        return stored


def _errors(statement: Any) -> dict[str, list[str]]:
    if not isinstance(statement, dict):
        return {"statement": ["The statement must be an object."]}
    errors: dict[str, list[str]] = {}
    for name in REQUIRED:
        if statement.get(name) in (None, "", []):
            errors[name] = [f"The {name.replace('_', ' ')} field is required."]
    if all(statement.get(n) in (None, "", []) for n in RESTRICTIONS):
        errors["decision_visibility"] = [
            "The decision visibility field is required when none of decision monetary / "
            "decision provision / decision account are present."
        ]
    puid = statement.get("puid")
    if isinstance(puid, str) and puid and not PUID.match(puid):
        errors["puid"] = ["The puid format is invalid."]
    if statement.get("automated_detection") not in (None, "Yes", "No"):
        errors["automated_detection"] = ["The selected automated detection is invalid."]
    return errors
