"""Build the sinks from settings. A factory, never at import time (STYLE.md).

``dry_run`` is always there. In ``actions_mode = "live"`` the webhook sink is added when
``webhook_url`` is set (it needs ``webhook_secret``), the Telegram sink when
``telegram_bot_token`` is set, the ``email`` sink when ``smtp_host`` is set (it needs
``smtp_from``) and the ``notify_webhook`` sink, a second signed webhook for notifications, when
``notify_webhook_url`` is set (it needs ``notify_webhook_secret``). In ``dry_run`` mode no live
sink is built, so switching to dry run also stops effects that were enqueued in live mode: they
wait (and, after the retry schedule, turn dead) until live mode is back or an admin drops them.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from jikimi.actions.sinks.base import Sink
from jikimi.actions.sinks.dry_run import DryRunSink
from jikimi.actions.sinks.email import EmailSink, cleartext_login, valid_address
from jikimi.actions.sinks.telegram import TelegramSink
from jikimi.actions.sinks.webhook import WebhookSink
from jikimi.errors import SettingsError
from jikimi.settings import Settings

__all__ = [
    "build_sinks",
    "configured",
    "configured_notifications",
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


def configured_notifications(settings: Settings) -> dict[str, Any]:
    """The keyword arguments :func:`jikimi.actions.notifications.notification_effects` takes
    from settings: ``mode``, ``email`` and ``notify_webhook`` (whether each is configured)."""
    _check_notifications(settings)
    return {
        "mode": settings.actions_mode,
        "email": bool(settings.smtp_host),
        "notify_webhook": bool(settings.notify_webhook_url),
    }


def build_sinks(settings: Settings, *, client: httpx.Client | None = None) -> dict[str, Sink]:
    """The sinks by name; ``client`` (shared by the HTTP sinks) is for tests and proxies."""
    wanted = configured(settings) | configured_notifications(settings)
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
    if wanted["email"]:
        sinks["email"] = _email_sink(settings)
    if wanted["notify_webhook"]:
        assert settings.notify_webhook_url is not None
        assert settings.notify_webhook_secret is not None
        sinks["notify_webhook"] = WebhookSink(
            settings.notify_webhook_url,
            settings.notify_webhook_secret.get_secret_value(),
            client=client,
            name="notify_webhook",
        )
    return sinks


def _email_sink(settings: Settings) -> EmailSink:
    assert settings.smtp_host is not None and settings.smtp_from is not None
    return EmailSink(
        settings.smtp_host,
        sender=settings.smtp_from,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=_secret(settings.smtp_password),
        timeout=settings.smtp_timeout_seconds,
    )


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


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


def _check_notifications(settings: Settings) -> None:
    if settings.smtp_host:
        _check_smtp(settings)
    if settings.notify_webhook_url and not _secret(settings.notify_webhook_secret):
        raise SettingsError(
            "notify_webhook_url is set but notify_webhook_secret is not: every delivery is "
            "signed; set JIKIMI_NOTIFY_WEBHOOK_SECRET (or notify_webhook_secret in "
            "settings.toml) to a long random value"
        )
    if settings.notify_webhook_url and not settings.notify_webhook_url.startswith(
        ("https://", "http://")
    ):
        # The URL itself is not echoed: webhook URLs often carry a token.
        raise SettingsError("notify_webhook_url must start with https:// (or http://)")


def _check_smtp(settings: Settings) -> None:
    assert settings.smtp_host is not None
    if not settings.smtp_from:
        raise SettingsError(
            "smtp_host is set but smtp_from is not: set JIKIMI_SMTP_FROM (or smtp_from in "
            "settings.toml) to the sender address of notifications"
        )
    if not valid_address(settings.smtp_from):
        raise SettingsError("smtp_from must be one plain email address, e.g. notices@example.org")
    if bool(settings.smtp_username) != bool(_secret(settings.smtp_password)):
        raise SettingsError("set smtp_username and smtp_password together, or neither")
    if cleartext_login(settings.smtp_host, settings.smtp_security, settings.smtp_username):
        raise SettingsError(
            "smtp_security is none with a login to a host that is not loopback: the password "
            "would cross the network unencrypted; use starttls or ssl"
        )
