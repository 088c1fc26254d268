"""Build the sinks from settings. A factory, never at import time (STYLE.md).

``dry_run`` is always there. In ``actions_mode = "live"`` the webhook sink is added when
``webhook_url`` is set (it needs ``webhook_secret``) and the Telegram sink when
``telegram_bot_token`` is set. In ``dry_run`` mode no live sink is built, so switching to dry
run also stops effects that were enqueued in live mode: they wait (and, after the retry
schedule, turn dead) until live mode is back or an admin drops them.
"""

from __future__ import annotations

from typing import Any

import httpx

from jikimi.actions.sinks.base import Sink
from jikimi.actions.sinks.dry_run import DryRunSink
from jikimi.actions.sinks.telegram import TelegramSink
from jikimi.actions.sinks.webhook import WebhookSink
from jikimi.errors import SettingsError
from jikimi.settings import Settings

__all__ = [
    "build_sinks",
    "configured",
]


def configured(settings: Settings) -> dict[str, Any]:
    """The keyword arguments :func:`jikimi.actions.effects.effects_for` takes from settings:
    ``mode``, ``webhook`` and ``telegram`` (whether each sink is configured, in either mode)."""
    _check(settings)
    return {
        "mode": settings.actions_mode,
        "webhook": bool(settings.webhook_url),
        "telegram": settings.telegram_bot_token is not None
        and bool(settings.telegram_bot_token.get_secret_value()),
    }


def build_sinks(settings: Settings, *, client: httpx.Client | None = None) -> dict[str, Sink]:
    """The sinks by name; ``client`` (shared by the HTTP sinks) is for tests and proxies."""
    wanted = configured(settings)
    sinks: dict[str, Sink] = {"dry_run": DryRunSink()}
    if settings.actions_mode != "live":
        return sinks
    if wanted["webhook"]:
        assert settings.webhook_url is not None and settings.webhook_secret is not None
        sinks["webhook"] = WebhookSink(
            settings.webhook_url, settings.webhook_secret.get_secret_value(), client=client
        )
    if wanted["telegram"]:
        assert settings.telegram_bot_token is not None
        sinks["telegram"] = TelegramSink(
            settings.telegram_bot_token.get_secret_value(),
            api_url=settings.telegram_api_url,
            client=client,
        )
    return sinks


def _check(settings: Settings) -> None:
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if settings.webhook_url and not secret:
        raise SettingsError(
            "webhook_url is set but webhook_secret is not: every delivery is signed; set "
            "JIKIMI_WEBHOOK_SECRET (or webhook_secret in settings.toml) to a long random value"
        )
    if settings.webhook_url and not settings.webhook_url.startswith(("https://", "http://")):
        # The URL itself is not echoed: webhook URLs often carry a token.
        raise SettingsError("webhook_url must start with https:// (or http://)")
