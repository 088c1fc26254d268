"""``jikimi telegram-bot``: the Telegram moderation bot (docs/telegram-bot.md).

Polls ``getUpdates`` by default (``--webhook`` serves ``POST /telegram/webhook`` on loopback
instead), records and scans every post with media, files ``/report`` notices, and delivers
the verdicts' effects from the outbox (unless ``--no-worker``: then ``jikimi worker`` does).
SIGINT and SIGTERM stop it after the update in flight, its offset saved.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType
from typing import TYPE_CHECKING

import typer

from jikimi.cli.output import stderr_console
from jikimi.errors import JikimiError
from jikimi.settings import Settings
from jikimi.workspace import Workspace

if TYPE_CHECKING:
    from jikimi.connectors.telegram_api import BotApi
    from jikimi.connectors.telegram_bot import TelegramBot
    from jikimi.web.service import Service

DEFAULT_WEBHOOK_PORT = 8788


class _Interrupted(BaseException):
    """A stop that cuts an idle long poll short (nothing is in flight then)."""


def register(app: typer.Typer) -> None:
    @app.command("telegram-bot")
    def telegram_bot(
        once: bool = typer.Option(
            False, "--once", help="Handle the updates waiting now, deliver their effects, exit."
        ),
        webhook: bool = typer.Option(
            False, "--webhook", help="Serve POST /telegram/webhook on loopback instead of polling."
        ),
        port: int = typer.Option(
            DEFAULT_WEBHOOK_PORT, "--port", min=1, max=65535, help="The webhook's port."
        ),
        set_webhook: str | None = typer.Option(
            None,
            "--set-webhook",
            metavar="URL",
            help="Tell Telegram to POST updates to URL (https, your proxy to --port), then exit.",
        ),
        delete_webhook: bool = typer.Option(
            False, "--delete-webhook", help="Remove the webhook (to poll again), then exit."
        ),
        no_worker: bool = typer.Option(
            False, "--no-worker", help="Do not deliver actions here (run `jikimi worker`)."
        ),
    ) -> None:
        """Moderate Telegram groups and channels where the bot is an administrator."""
        from jikimi.connectors.telegram_api import ALLOWED_UPDATES, BotApi

        with Workspace.open() as ws:
            stop = threading.Event()
            api = BotApi(_token(ws.settings), api_url=ws.settings.telegram_api_url, sleep=stop.wait)
            try:
                if delete_webhook:
                    api.delete_webhook()
                    typer.echo("webhook removed: the bot can poll again")
                elif set_webhook:
                    secret = _webhook_secret(ws.settings)
                    api.set_webhook(set_webhook, secret, ALLOWED_UPDATES)
                    typer.echo(f"webhook set: Telegram posts updates to {set_webhook}")
                else:
                    _run(ws, api, stop, once=once, webhook=webhook, port=port, worker=not no_worker)
            finally:
                api.close()


def _token(settings: Settings) -> str:
    token = settings.telegram_bot_token
    if token is None or not token.get_secret_value().strip():
        raise JikimiError(
            "no Telegram bot token: create a bot with @BotFather, then set telegram_bot_token "
            "in settings.toml or JIKIMI_TELEGRAM_BOT_TOKEN in the environment"
        )
    return token.get_secret_value().strip()


def _webhook_secret(settings: Settings) -> str:
    secret = settings.telegram_webhook_secret
    if secret is None or not secret.get_secret_value():
        raise JikimiError(
            "webhook mode needs telegram_webhook_secret (JIKIMI_TELEGRAM_WEBHOOK_SECRET): "
            "1-256 characters A-Z, a-z, 0-9, _ and -"
        )
    return secret.get_secret_value()


def _run(
    ws: Workspace,
    api: BotApi,
    stop: threading.Event,
    *,
    once: bool,
    webhook: bool,
    port: int,
    worker: bool,
) -> None:
    from jikimi.connectors.telegram_bot import BotIdentity, TelegramBot
    from jikimi.connectors.telegram_runtime import Deliveries, poll_forever
    from jikimi.connectors.telegram_webhook import WebhookServer
    from jikimi.web.service import Service, ServiceOptions

    settings = ws.settings
    identity = BotIdentity.of(api.get_me())
    service = Service(ws, ServiceOptions(run_dispatcher=False))
    service.refresh_matcher(force=True)
    service.start()
    deliveries = Deliveries(service.dispatcher()).start() if worker and not once else None
    bot = TelegramBot(
        service,
        api,
        identity,
        poll_seconds=settings.telegram_poll_seconds,
        max_download_bytes=settings.telegram_max_download_bytes,
        on_effects=deliveries.wake if deliveries else None,
    )
    console = stderr_console()
    if settings.actions_mode != "live":
        console.print(
            'actions_mode is "dry_run": removals and bans are recorded, not made. Set '
            'actions_mode = "live" to act.',
            markup=False,
        )
    try:
        if once:
            handled = bot.poll_once(timeout=0)
            delivered = _deliver_due(service) if worker else 0
            typer.echo(f"handled {handled} updates, delivered {delivered} effects")
            return
        mode = f"webhook on 127.0.0.1:{port}" if webhook else "polling"
        console.print(
            f"Jikimi Telegram bot @{identity.username or identity.id} {mode}; actions: "
            f"{settings.actions_mode}; outbox worker: {'on' if worker else 'off'}; Ctrl-C stops",
            markup=False,
        )
        with _stopping_on_signals(stop, bot):
            if webhook:
                server = WebhookServer(bot, _webhook_secret(settings), port=port).start()
                try:
                    stop.wait()
                finally:
                    server.stop()
            else:
                with suppress(_Interrupted):
                    poll_forever(bot, stop)
        console.print("stopped; the next update is read from the saved offset", markup=False)
    finally:
        if deliveries is not None:
            deliveries.stop()
        service.stop()


def _deliver_due(service: Service) -> int:
    dispatcher = service.dispatcher()
    total = 0
    while handled := dispatcher.run_once():
        total += handled
    return total


@contextmanager
def _stopping_on_signals(stop: threading.Event, bot: TelegramBot) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop``; an idle long poll is cut short, an update in flight
    finishes (and its offset is saved) first."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()
        if bot.waiting:
            raise _Interrupted

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
