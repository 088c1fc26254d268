"""The Telegram sink: Bot API calls that remove content and act on its author.

Follows https://core.telegram.org/bots/api: ``POST {api_url}/bot<token>/<method>`` with a JSON
body; every answer is ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
"description": "...", "parameters": {"retry_after": S, "migrate_to_chat_id": ID}}``.
The outbox entry's ``action`` is the method and its ``payload`` the parameters
(:mod:`jikimi.actions.effects` builds them).

Errors: 429 retryable after ``parameters.retry_after``; 5xx, timeouts and network errors
retryable; ``deleteMessage`` answered "message to delete not found" is delivered (the message is
already gone, so a redelivery is harmless); every other 4xx is permanent (the bot lacks a right,
was removed from the chat, the token is wrong...). The token is part of every URL: it is never
put into an error, a result or a log line (httpx's request log is filtered).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from jikimi.actions.outbox import OutboxEntry
from jikimi.actions.sinks.base import RETRY_AFTER_MAX_SECONDS, Redactor, redact_logs
from jikimi.errors import SinkError

__all__ = [
    "METHODS",
    "TelegramSink",
]

#: The Bot API methods this sink calls; anything else is refused before a request is made.
METHODS = frozenset(
    {"deleteMessage", "banChatMember", "unbanChatMember", "restrictChatMember", "sendMessage"}
)
#: ``deleteMessage`` descriptions meaning the message no longer exists.
ALREADY_GONE = ("message to delete not found",)


class TelegramSink:
    name = "telegram"

    def __init__(
        self,
        token: str,
        *,
        api_url: str = "https://api.telegram.org",
        timeout: float = 10.0,
        client: httpx.Client | None = None,
    ) -> None:
        if not token or "/" in token:
            raise ValueError("the Telegram bot token is empty or malformed (see @BotFather)")
        if not api_url.startswith(("https://", "http://")):
            raise ValueError("telegram_api_url must start with https:// (or http://)")
        self._token = token
        self._base = api_url.rstrip("/")
        self._timeout = timeout
        self._redact = Redactor(token)
        redact_logs(token)
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"TelegramSink(api_url={self._base!r})"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def deliver(self, entry: OutboxEntry) -> dict[str, Any]:
        method = entry.action
        if method not in METHODS:
            raise SinkError(
                f"telegram: {method!r} is not a Bot API method this sink calls "
                f"({', '.join(sorted(METHODS))})",
                retryable=False,
            )
        answer, status = self._call(method, entry.payload)
        if answer.get("ok") is True:
            return {"method": method, "result": _summary(answer.get("result"))}
        return self._refused(method, answer, status)

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """One Bot API call outside the outbox (``getMe`` to check a token): the ``result``,
        or :class:`SinkError`."""
        answer, status = self._call(method, params or {})
        if answer.get("ok") is True:
            return answer.get("result")
        return self._refused(method, answer, status)

    def _call(self, method: str, params: dict[str, Any]) -> tuple[dict[str, Any], int]:
        url = f"{self._base}/bot{self._token}/{method}"
        try:
            response = self._client.post(url, json=params, timeout=self._timeout)
        except httpx.TimeoutException:
            raise SinkError(
                f"telegram {method}: no answer within {self._timeout:g} s", retryable=True
            ) from None
        except httpx.TransportError as exc:
            raise SinkError(
                f"telegram {method}: could not reach the Bot API ({type(exc).__name__}: "
                f"{self._redact(str(exc))})",
                retryable=True,
            ) from None
        except httpx.HTTPError as exc:
            raise SinkError(
                f"telegram {method}: the request could not be made ({type(exc).__name__})",
                retryable=False,
            ) from None
        try:
            answer = response.json()
        except (ValueError, UnicodeDecodeError):
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            raise SinkError(
                f"telegram {method}: HTTP {response.status_code} without a Bot API answer",
                retryable=response.status_code >= 500 or response.status_code == 429,
            )
        return answer, response.status_code

    def _refused(self, method: str, answer: dict[str, Any], status: int) -> dict[str, Any]:
        code = answer.get("error_code")
        code = code if isinstance(code, int) else status
        description = self._redact(str(answer.get("description") or "no description"))
        parameters = answer.get("parameters")
        parameters = parameters if isinstance(parameters, dict) else {}
        if method == "deleteMessage" and code == 400 and _already_gone(description):
            return {"method": method, "result": True, "already_gone": description}
        message = f"telegram {method}: {code} {description}"
        if code == 429:
            retry_after = parameters.get("retry_after")
            retry_after = (
                min(float(retry_after), RETRY_AFTER_MAX_SECONDS)
                if isinstance(retry_after, int | float) and retry_after >= 0
                else None
            )
            raise SinkError(message, retryable=True, retry_after=retry_after)
        if code >= 500:
            raise SinkError(message, retryable=True)
        if "migrate_to_chat_id" in parameters:
            message += f" (the group is now chat {parameters['migrate_to_chat_id']})"
        raise SinkError(message, retryable=False)


def _already_gone(description: str) -> bool:
    lowered = description.lower()
    return any(marker in lowered for marker in ALREADY_GONE)


def _summary(result: Any) -> Any:
    """What is kept of a ``result``: ``true`` as is; of a sent Message, its ids and date (not
    the chat's title or members)."""
    if isinstance(result, dict):
        chat = result.get("chat")
        return {
            "message_id": result.get("message_id"),
            "chat_id": chat.get("id") if isinstance(chat, dict) else None,
            "date": result.get("date"),
        }
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError):
        return repr(result)
    return result
