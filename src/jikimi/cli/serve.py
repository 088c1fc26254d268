"""``jikimi serve`` (the API with its background workers) and ``jikimi worker`` (the outbox
dispatcher alone, to run beside servers started with ``--no-worker``)."""

from __future__ import annotations

import os
import signal
import threading

import typer

from jikimi.cli.output import stderr_console
from jikimi.workspace import Workspace

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787


def serve_workspace(
    ws: Workspace,
    *,
    host: str,
    port: int,
    worker: bool,
    workers: int | None = None,
    log_level: str = "info",
) -> None:
    """Serve ``ws`` until interrupted."""
    from jikimi.web import server
    from jikimi.web.app import create_app
    from jikimi.web.service import Service, ServiceOptions

    workers = workers or ws.settings.serve_workers
    if not ws.users.list():
        stderr_console().print(
            "no users yet: every API route but /healthz needs a token. Create an admin with "
            "`jikimi user add NAME --role admin` and a token with `jikimi user token NAME`.",
            markup=False,
        )
    stderr_console().print(
        f"Jikimi serving http://{host}:{port} (API docs at /docs); {workers} process(es); "
        f"actions: {ws.settings.actions_mode}; outbox worker: {'on' if worker else 'off'}",
        markup=False,
    )
    app = None
    if workers <= 1:
        app = create_app(Service(ws, ServiceOptions(run_dispatcher=worker)))
    else:
        os.environ["JIKIMI_HOME"] = str(ws.settings.home)  # the workers open the same one
    server.run(app, host=host, port=port, workers=workers, dispatcher=worker, log_level=log_level)


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str = typer.Option(DEFAULT_HOST, "--host", help="Address to listen on."),
        port: int = typer.Option(DEFAULT_PORT, "--port", min=1, max=65535),
        no_worker: bool = typer.Option(
            False, "--no-worker", help="Do not deliver actions here (run `jikimi worker`)."
        ),
        workers: int | None = typer.Option(
            None, "--workers", min=1, max=64, help="Server processes (default serve_workers)."
        ),
        log_level: str = typer.Option("info", "--log-level"),
    ) -> None:
        """Serve the API (and deliver actions from the outbox, unless --no-worker)."""
        with Workspace.open() as ws:
            serve_workspace(
                ws,
                host=host,
                port=port,
                worker=not no_worker,
                workers=workers,
                log_level=log_level,
            )

    @app.command("worker")
    def worker(
        once: bool = typer.Option(False, "--once", help="Deliver what is due, then exit."),
    ) -> None:
        """Deliver actions from the outbox (for servers run with --no-worker)."""
        from jikimi.actions.outbox import OutboxStore
        from jikimi.actions.sinks.registry import build_sinks
        from jikimi.web.service import dispatcher_for

        with Workspace.open() as ws:
            outbox = OutboxStore(ws.sessions, ws.custody)
            dispatcher = dispatcher_for(ws.settings, outbox, build_sinks(ws.settings))
            if once:
                handled = dispatcher.run_once()
                typer.echo(f"handled {handled} effects")
                return
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            stderr_console().print(
                f"Jikimi worker delivering actions ({ws.settings.actions_mode}); Ctrl-C stops",
                markup=False,
            )
            dispatcher.run_forever(stop, poll_seconds=1.0)
