"""``jikimi custody verify``: check the hash chain of the custody log."""

from __future__ import annotations

import typer

from jikimi.cli.output import emit_json
from jikimi.workspace import Workspace


def build() -> typer.Typer:
    app = typer.Typer(help="The append-only custody log.", no_args_is_help=True)

    @app.command("verify")
    def verify(json_out: bool = typer.Option(False, "--json")) -> None:
        """Verify every custody event and the chain linking them; exit 1 if anything is off."""
        with Workspace.open() as ws:
            report = ws.custody.verify()
        if json_out:
            emit_json({"ok": report.ok, "checked": report.checked, "problems": report.problems})
        else:
            for problem in report.problems:
                typer.echo(f"problem: {problem}")
            verdict = "verifies" if report.ok else "DOES NOT verify"
            typer.echo(f"custody log {verdict}: {report.checked} events checked")
        if not report.ok:
            raise typer.Exit(1)

    return app
