"""A thin Telegram Bot API client for ``jikimi telegram-bot``: the calls the bot makes itself
(reading updates, fetching files, answering ``/report``). Removals and bans are not here: they
go through the outbox to :class:`jikimi.actions.sinks.telegram.TelegramSink`.

Follows https://core.telegram.org/bots/api: ``POST {api_url}/bot<token>/<method>`` with a JSON
body, files from ``GET {api_url}/file/bot<token>/<file_path>``; every answer is ``{"ok": true,
"result": ...}`` or ``{"ok": false, "error_code", "description", "parameters":
{"retry_after"}}``.

Each call retries on its own, within bounds (:class:`RetryPolicy`): 429 waits
``parameters.retry_after`` (at most ``retry_after_max_seconds``); 5xx, timeouts and network
errors back off exponentially, up to ``attempts`` tries, then raise a retryable
:class:`~jikimi.errors.BotApiError`. 401 and 404 mean the token is wrong, 409 that a webhook or
another poller is in the way: both fatal, with a message saying what to do. Any other 4xx is
Telegram refusing this call (not retried). The token is part of every URL: it is never put into
an error, a log line or a repr (httpx's request log is filtered).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from jikimi.actions.sinks.base import Redactor, redact_logs
from jikimi.connectors.telegram_update import updates_of
from jikimi.errors import BotApiError

__all__ = [
    "ALLOWED_UPDATES",
    "BOT_API_DOWNLOAD_LIMIT",
    "BotApi",
    "RetryPolicy",
]

log = logging.getLogger("jikimi.telegram_bot")

#: The update types the bot asks for: posts and their edits, in groups and channels.
ALLOWED_UPDATES = ("message", "edited_message", "channel_post", "edited_channel_post")
#: The cloud Bot API serves files up to 20 MB (https://core.telegram.org/bots/api#getfile).
BOT_API_DOWNLOAD_LIMIT = 20 * 1024**2
# getUpdates holds the request up to its ``timeout``; the HTTP timeout allows that and more.
LONG_POLL_MARGIN_SECONDS = 10.0
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How one call retries: ``attempts`` tries on 5xx, timeouts and network errors, waiting
    ``backoff_seconds`` doubled each time (at most ``backoff_max_seconds``); a 429 waits what
    Telegram says, cut to ``retry_after_max_seconds`` (and counts as an attempt too)."""

    attempts: int = 5
    backoff_seconds: float = 1.0
    backoff_max_seconds: float = 30.0
    retry_after_max_seconds: float = 300.0

    def backoff(self, failures: int) -> float:
        return min(self.backoff_max_seconds, self.backoff_seconds * 2 ** max(failures - 1, 0))


class _Retry(Exception):
    """One attempt failed in a way another attempt may not (``wait``: Telegram's own delay)."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.wait = wait


class BotApi:
    def __init__(
        self,
        token: str,
        *,
        api_url: str = "https://api.telegram.org",
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if not token or "/" in token or not token.strip():
            raise BotApiError(
                "the Telegram bot token is empty or malformed: set telegram_bot_token "
                "(JIKIMI_TELEGRAM_BOT_TOKEN) to the token @BotFather gave you",
                fatal=True,
            )
        if not api_url.startswith(("https://", "http://")):
            raise BotApiError("telegram_api_url must start with https:// (or http://)", fatal=True)
        self._token = token
        self._base = api_url.rstrip("/")
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._redact = Redactor(token)
        redact_logs(token)
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"BotApi(api_url={self._base!r})"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # -- the calls the bot makes ----------------------------------------------------------

    def get_me(self) -> dict[str, Any]:
        return self.call("getMe")

    def get_updates(
        self, offset: int | None, timeout: int, allowed_updates: Sequence[str] = ALLOWED_UPDATES
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"timeout": timeout, "allowed_updates": list(allowed_updates)}
        if offset is not None:
            params["offset"] = offset
        result, body = self._call("getUpdates", params, timeout + LONG_POLL_MARGIN_SECONDS)
        return updates_of(result, body) if isinstance(result, list) else []

    def get_file(self, file_id: str) -> dict[str, Any]:
        return self.call("getFile", {"file_id": file_id})

    def send_message(
        self, chat_id: int | str, text: str, *, reply_to: int | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if reply_to is not None:
            params["reply_parameters"] = {
                "message_id": reply_to,
                "allow_sending_without_reply": True,
            }
        return self.call("sendMessage", params)

    def set_webhook(self, url: str, secret: str, allowed_updates: Sequence[str]) -> bool:
        params = {"url": url, "secret_token": secret, "allowed_updates": list(allowed_updates)}
        return bool(self.call("setWebhook", params))

    def delete_webhook(self) -> bool:
        return bool(self.call("deleteWebhook", {"drop_pending_updates": False}))

    def download(self, file_path: str, dest: Path, max_bytes: int) -> int:
        """Fetch a file ``getFile`` named into ``dest``; its size. A file over ``max_bytes`` is
        refused (:class:`BotApiError`, not retryable) and nothing is left at ``dest``."""
        url = f"{self._base}/file/bot{self._token}/{file_path.lstrip('/')}"
        return self._with_retries("download", lambda: self._download_once(url, dest, max_bytes))

    # -- one call, with retries -----------------------------------------------------------

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """The ``result`` of one Bot API method, or :class:`BotApiError`."""
        return self._call(method, params, timeout)[0]

    def _call(
        self, method: str, params: dict[str, Any] | None, timeout: float | None
    ) -> tuple[Any, bytes]:
        """The ``result`` and the body it came in (updates keep their bytes as evidence)."""
        url = f"{self._base}/bot{self._token}/{method}"
        return self._with_retries(
            method, lambda: self._call_once(method, url, params or {}, timeout or self._timeout)
        )

    def _with_retries(self, what: str, attempt: Callable[[], Any]) -> Any:
        policy = self._retry
        for number in range(1, policy.attempts + 1):
            try:
                return attempt()
            except _Retry as failed:
                if number == policy.attempts:
                    raise BotApiError(
                        f"{failed.message} (gave up after {number} attempts)", retryable=True
                    ) from None
                wait = (
                    min(failed.wait, policy.retry_after_max_seconds)
                    if failed.wait is not None
                    else policy.backoff(number)
                )
                log.warning(
                    "%s; trying again in %.1f s (attempt %d of %d)",
                    failed.message,
                    wait,
                    number + 1,
                    policy.attempts,
                )
                self._sleep(wait)
        raise AssertionError("unreachable: RetryPolicy.attempts is at least 1")

    def _call_once(
        self, method: str, url: str, params: dict[str, Any], timeout: float
    ) -> tuple[Any, bytes]:
        try:
            response = self._client.post(url, json=params, timeout=timeout)
        except httpx.HTTPError as exc:
            raise self._transport_failure(f"telegram {method}", exc) from None
        try:
            answer = response.json()
        except (ValueError, UnicodeDecodeError):
            answer = None
        status = response.status_code
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            message = f"telegram {method}: HTTP {status} without a Bot API answer"
            if status >= 500 or status == 429:
                raise _Retry(message)
            raise BotApiError(message, code=status, fatal=status in (401, 404))
        if answer["ok"]:
            return answer.get("result"), response.content
        raise self._refused(method, answer, status)

    def _download_once(self, url: str, dest: Path, max_bytes: int) -> int:
        written = 0
        try:
            with self._client.stream("GET", url, timeout=self._timeout) as response:
                status = response.status_code
                if status >= 500 or status == 429:
                    raise _Retry(f"telegram file download: HTTP {status}")
                if status != 200:
                    raise BotApiError(f"telegram file download: HTTP {status}", code=status)
                with dest.open("wb") as out:
                    for chunk in response.iter_bytes(_CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            raise BotApiError(
                                f"telegram file download: larger than {max_bytes} bytes"
                            )
                        out.write(chunk)
        except httpx.HTTPError as exc:
            dest.unlink(missing_ok=True)
            raise self._transport_failure("telegram file download", exc) from None
        except (BotApiError, _Retry):
            dest.unlink(missing_ok=True)
            raise
        return written

    def _transport_failure(self, what: str, exc: httpx.HTTPError) -> _Retry | BotApiError:
        if isinstance(exc, httpx.TimeoutException):
            return _Retry(f"{what}: no answer in time")
        if isinstance(exc, httpx.TransportError):
            detail = self._redact(str(exc))
            return _Retry(f"{what}: could not reach the Bot API ({type(exc).__name__}: {detail})")
        return BotApiError(f"{what}: the request could not be made ({type(exc).__name__})")

    def _refused(self, method: str, answer: dict[str, Any], status: int) -> Exception:
        code = answer.get("error_code")
        code = code if isinstance(code, int) else status
        description = self._redact(str(answer.get("description") or "no description"))
        parameters = answer.get("parameters")
        parameters = parameters if isinstance(parameters, dict) else {}
        message = f"telegram {method}: {code} {description}"
        if code == 429:
            retry_after = parameters.get("retry_after")
            wait = float(retry_after) if isinstance(retry_after, int | float) else None
            return _Retry(message, wait=max(wait, 0.0) if wait is not None else None)
        if code >= 500:
            return _Retry(message)
        if code in (401, 404):
            return BotApiError(
                f"{message}: Telegram does not know this bot token. Check telegram_bot_token "
                "(JIKIMI_TELEGRAM_BOT_TOKEN) against the token @BotFather shows (/token), and "
                "telegram_api_url",
                code=code,
                fatal=True,
            )
        if code == 409:
            return BotApiError(f"{message}: {_conflict_advice(description)}", code=code, fatal=True)
        return BotApiError(message, code=code)


def _conflict_advice(description: str) -> str:
    if "webhook" in description.lower():
        return (
            "a webhook is set for this bot, so it cannot poll. Run `jikimi telegram-bot "
            "--delete-webhook` to poll instead, or run it with --webhook"
        )
    return (
        "another program is polling updates with this bot token; stop it (only one process "
        "may read a bot's updates) and start again"
    )
