"""``jikimi exchange ...``: outside sources of bank entries (StopNCII, NCMEC, files, URL lists)
and their syncs. Credentials are read from the environment or prompted for (never arguments,
which other users can see in the process list), and never printed."""

from __future__ import annotations

import sys
from typing import Any

import typer

from jikimi.banks.exchanges.credentials import Secret, env_var
from jikimi.banks.exchanges.kinds import ExchangeKind, build_registry
from jikimi.banks.exchanges.status import describe
from jikimi.banks.exchanges.status import status as status_rows
from jikimi.banks.exchanges.store import ExchangeStore, checkpoint_name
from jikimi.banks.exchanges.sync import ExchangeSync, SyncProgress, SyncResult
from jikimi.cli.output import emit_json, stderr_console
from jikimi.errors import ExchangeError
from jikimi.store.checkpoints import Checkpoints
from jikimi.workspace import Workspace


def _kind(kinds: dict[str, ExchangeKind], name: str) -> ExchangeKind:
    if name not in kinds:
        raise typer.BadParameter(f"--kind must be one of: {', '.join(kinds)}")
    return kinds[name]


def _read_credentials(kind: ExchangeKind, fields: list[str]) -> dict[str, Secret]:
    """Prompted on a terminal (hidden), else one line per field from stdin, in order."""
    known = {f.name: f for f in kind.credentials}
    for field in fields:
        if field not in known:
            raise typer.BadParameter(
                f"a {kind.name} exchange has no credential {field!r}; it takes: "
                f"{', '.join(sorted(known)) or 'none'}"
            )
    values = {}
    for field in fields:
        if sys.stdin.isatty():
            value = typer.prompt(f"{field} ({known[field].help})", hide_input=True)
        else:
            value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise typer.BadParameter(f"no value given for credential {field!r}")
        values[field] = Secret(value)
    return values


def _result(result: SyncResult) -> dict[str, Any]:
    return {"exchange": result.exchange, "status": result.status, **result.progress.counts()}


class _Progress:
    """Running counts on one terminal line (stderr), only when stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self._console = stderr_console() if enabled and sys.stderr.isatty() else None
        self._shown = False

    def __call__(self, p: SyncProgress) -> None:
        if self._console is None:
            return
        self._shown = True
        self._console.print(
            f"{p.exchange}: page {p.pages}, {p.added} added, {p.withdrawn} withdrawn, "
            f"{p.skipped} skipped",
            end="\r",
            markup=False,
        )

    def done(self) -> None:
        if self._console is not None and self._shown:
            self._console.print()
        self._shown = False


def build() -> typer.Typer:
    app = typer.Typer(help="Hash exchanges that feed banks.", no_args_is_help=True)

    @app.command("add")
    def add(
        name: str,
        kind_name: str = typer.Option(..., "--kind", help="stopncii, ncmec, file or url_list."),
        bank: str | None = typer.Option(None, "--bank", help="Its bank (default: NAME)."),
        environment: str | None = typer.Option(
            None, "--environment", help="NCMEC environment (default NGO_Generative_AI)."
        ),
        url: str | None = typer.Option(None, "--url", help="List URL, or the API's base URL."),
        path: str | None = typer.Option(None, "--path", help="List file (file, url_list)."),
        from_env: bool = typer.Option(
            False,
            "--credentials-from-env",
            help="Read credentials from JIKIMI_EXCHANGE_<NAME>_<FIELD> at each sync.",
        ),
        set_credential: list[str] = typer.Option(
            None,
            "--set-credential",
            help="Store this credential encrypted; its value is prompted or read from stdin.",
        ),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Add an exchange and create its bank (known-abuse, no automatic action)."""
        kinds = build_registry()
        kind = _kind(kinds, kind_name)
        if from_env and set_credential:
            raise typer.BadParameter("give --credentials-from-env or --set-credential, not both")
        values = _read_credentials(kind, set_credential or [])
        config = {"environment": environment, "url": url, "path": path}
        with Workspace.open() as ws:
            store = ExchangeStore(ws.sessions, ws.master_key)
            info = store.add(
                name, kind, bank=bank, config=config, credentials=values, actor=ws.operator
            )
        described = describe(info, kind)
        if json_out:
            emit_json(described)
            return
        typer.echo(f"added exchange {info.name} ({info.kind}) feeding bank {info.bank}")
        for field in kind.credentials:
            where = "stored encrypted" if field.name in values else "from the environment"
            typer.echo(f"  {field.name}: {where} ({env_var(name, field.name)} overrides)")

    @app.command("list")
    def list_exchanges(json_out: bool = typer.Option(False, "--json")) -> None:
        """List exchanges."""
        kinds = build_registry()
        with Workspace.open() as ws:
            infos = ExchangeStore(ws.sessions, ws.master_key).list()
        for info in infos:
            if json_out:
                emit_json(describe(info, kinds[info.kind]))
            else:
                last = "never"
                if info.last_sync_at:
                    last = f"{info.last_sync_status} {info.last_sync_at:%Y-%m-%d %H:%M:%S}Z"
                typer.echo(f"{info.name}\t{info.kind}\tbank={info.bank}\tlast sync: {last}")

    @app.command("sync")
    def sync(
        names: list[str] = typer.Argument(None, help="Exchanges to sync (default: all)."),
        max_seconds: float | None = typer.Option(
            None, "--max-seconds", min=0, help="Stop each exchange after this long (resumes)."
        ),
        from_start: bool = typer.Option(
            False, "--from-start", help="Forget the checkpoint and fetch everything again."
        ),
        json_out: bool = typer.Option(False, "--json", help="JSON Lines, one per exchange."),
    ) -> None:
        """Fetch new and withdrawn entries; each page commits with its checkpoint."""
        kinds = build_registry()
        failed = False
        with Workspace.open() as ws:
            store = ExchangeStore(ws.sessions, ws.master_key)
            wanted = names or [info.name for info in store.list()]
            runner = ExchangeSync(ws.sessions, store, kinds, actor=ws.operator)
            progress = _Progress(enabled=not json_out)
            for name in wanted:
                try:
                    if from_start:
                        store.get(name)
                        Checkpoints(ws.sessions).delete(checkpoint_name(name))
                    result = runner.run(name, max_seconds=max_seconds, on_progress=progress)
                except ExchangeError as exc:
                    progress.done()
                    failed = True
                    typer.echo(f"error: {exc}", err=True)
                    if json_out:
                        emit_json({"exchange": name, "status": "error", "error": str(exc)})
                    continue
                progress.done()
                _print_result(result, json_out)
        if failed:
            raise typer.Exit(1)

    @app.command("status")
    def status(
        name: str | None = typer.Argument(None, help="One exchange (default: all)."),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Checkpoint, last sync, counts and last error of each exchange (never credentials)."""
        kinds = build_registry()
        with Workspace.open() as ws:
            store = ExchangeStore(ws.sessions, ws.master_key)
            rows = status_rows(store, ws.banks, Checkpoints(ws.sessions), kinds, name)
        for row in rows:
            emit_json(row) if json_out else _print_status(row)

    return app


def _print_result(result: SyncResult, json_out: bool) -> None:
    if json_out:
        emit_json(_result(result))
        return
    p = result.progress
    typer.echo(
        f"{result.exchange}: {result.status}, {p.pages} pages, {p.added} added, "
        f"{p.withdrawn} withdrawn, {p.skipped} skipped"
    )
    for note in p.notes:
        typer.echo(f"  note: {note}")
    if result.status == "timed_out":
        typer.echo("  stopped at --max-seconds; the next sync resumes from the checkpoint")


def _print_status(row: dict[str, Any]) -> None:
    typer.echo(f"{row['name']} ({row['kind']}) → bank {row['bank']}")
    typer.echo(f"  settings: {row['settings'] or '-'}")
    creds = ", ".join(f"{k}: {v}" for k, v in row["credentials"].items()) or "none needed"
    typer.echo(f"  credentials: {creds}")
    typer.echo(f"  entries: {row['active_entries']} active, {row['withdrawn_entries']} withdrawn")
    checkpoint = row["checkpoint"]
    typer.echo(f"  checkpoint: {checkpoint['state'] if checkpoint else 'none (full fetch next)'}")
    if row["last_sync_at"]:
        typer.echo(f"  last sync: {row['last_sync_status']} at {row['last_sync_at']}")
        counts = row["last_sync_counts"] or {}
        typer.echo(
            f"    {counts.get('pages', 0)} pages, {counts.get('added', 0)} added, "
            f"{counts.get('withdrawn', 0)} withdrawn, {counts.get('skipped', 0)} skipped"
        )
    else:
        typer.echo("  last sync: never")
    if row["last_sync_error"]:
        typer.echo(f"  last error: {row['last_sync_error']}")
