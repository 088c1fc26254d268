"""What keeps the bot running: the polling loop (Telegram outages and store hiccups are waited
out, never skipped) and the outbox dispatcher on a thread that the bot wakes as soon as it
records effects, so a removal does not wait for the dispatcher's next poll."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError

from jikimi.actions.dispatcher import Dispatcher
from jikimi.connectors.telegram_bot import TelegramBot
from jikimi.errors import BotApiError, JikimiError

__all__ = ["Deliveries", "poll_forever"]

log = logging.getLogger("jikimi.telegram_bot")

RETRY_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0


def poll_forever(bot: TelegramBot, stop: threading.Event) -> None:
    """Poll until ``stop`` is set. A failed round (Telegram unreachable after the call's own
    retries, the store down) is logged and tried again with backoff: the update it was on is
    delivered again, so none is lost. A fatal error (wrong token, a webhook set) raises."""
    failures = 0
    while not stop.is_set():
        try:
            bot.poll_once(stop)
            failures = 0
        except BotApiError as exc:
            if exc.fatal:
                raise
            failures += 1
            _wait(stop, failures, str(exc))
        except (JikimiError, SQLAlchemyError, OSError) as exc:
            failures += 1
            log.exception("handling an update failed")
            _wait(stop, failures, f"{type(exc).__name__}: {exc}")


def _wait(stop: threading.Event, failures: int, why: str) -> None:
    seconds = min(RETRY_MAX_SECONDS, RETRY_SECONDS * 2 ** (failures - 1))
    log.warning("%s; polling again in %.0f s", why, seconds)
    stop.wait(seconds)


class Deliveries:
    """The outbox dispatcher on its own thread; :meth:`wake` makes it look at once."""

    def __init__(self, dispatcher: Dispatcher, *, poll_seconds: float = 1.0) -> None:
        self._dispatcher = dispatcher
        self._poll = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jikimi-deliveries", daemon=True)

    def start(self) -> Deliveries:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                handled = self._dispatcher.run_once()
            except Exception:  # a failing store: logged, tried again (the dispatcher's way)
                log.exception("outbox dispatch failed; trying again in %.1f s", self._poll)
                handled = 0
            if handled == 0:
                self._wake.wait(self._poll)
                self._wake.clear()
