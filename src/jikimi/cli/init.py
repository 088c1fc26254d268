"""``jikimi init``: create the workspace."""

from __future__ import annotations

import typer

from jikimi.cli.output import emit_json
from jikimi.workspace import Workspace


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init_command(
        json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Create the workspace in $JIKIMI_HOME (settings, database, master key); safe to rerun."""
        with Workspace.init() as ws:
            home = str(ws.settings.home)
            url = ws.engine.url.render_as_string(hide_password=True)
        if json_out:
            emit_json({"home": home, "database": url})
        else:
            typer.echo(f"workspace ready at {home} (database {url})")
