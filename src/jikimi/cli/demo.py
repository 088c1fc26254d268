"""``jikimi demo``: a workspace with synthetic, benign data, served, so a newcomer sees the
whole flow (banks, items, verdicts, cases, dry-run actions) in one command."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from jikimi.cli.output import emit_json, stdout_console
from jikimi.cli.serve import DEFAULT_HOST, DEFAULT_PORT, serve_workspace
from jikimi.errors import WorkspaceError
from jikimi.settings import load_settings
from jikimi.workspace import Workspace


def _fresh_home(home: Path) -> None:
    """Start the demo over in ``home``; refuse to touch a folder that is not a demo's."""
    from jikimi.demo.seed import MARKER

    if home.exists() and any(home.iterdir()):
        if not (home / MARKER).exists():
            raise WorkspaceError(
                f"{home} exists and is not a Jikimi demo workspace; pick another --home"
            )
        shutil.rmtree(home)
    home.mkdir(parents=True, mode=0o700)
    (home / MARKER).write_text("made by `jikimi demo`; deleted and remade by it\n")


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        home: Path = typer.Option(
            Path("jikimi-demo"), "--home", help="Demo workspace folder (remade on each run)."
        ),
        host: str = typer.Option(DEFAULT_HOST, "--host"),
        port: int = typer.Option(DEFAULT_PORT, "--port", min=1, max=65535),
        no_serve: bool = typer.Option(False, "--no-serve", help="Build the demo, do not serve."),
        json_out: bool = typer.Option(False, "--json", help="Print the demo's accounts as JSON."),
    ) -> None:
        """Make a demo workspace with synthetic, benign data and serve it."""
        from jikimi.demo.seed import seed_demo
        from jikimi.web.service import Service, ServiceOptions

        home = home.resolve()
        _fresh_home(home)
        # The demo's media are synthetic and benign: kept, so the console can show them.
        settings = load_settings(
            home=home, actions_mode="dry_run", database_url=None, keep_media=True
        )
        with Workspace.init(settings) as ws:
            service = Service(ws, ServiceOptions(run_dispatcher=False))
            summary = seed_demo(service, home / "demo-media")
            service.dispatcher().run_once()  # the dry-run sink records the demo's actions
            service.stop()
            if json_out:
                emit_json(
                    {
                        "home": str(home),
                        "url": f"http://{host}:{port}",
                        "users": [u.__dict__ for u in summary.users],
                        "items": [
                            {"label": lb, "item_id": i, "outcome": o, "case_id": c}
                            for lb, i, o, c in summary.items
                        ],
                        "notices": [{"kind": k, "case_id": c} for k, c in summary.notices],
                    }
                )
            else:
                _print(summary, home, host, port)
            if not no_serve:
                serve_workspace(ws, host=host, port=port, worker=True)


def _print(summary: object, home: Path, host: str, port: int) -> None:
    from jikimi.demo.seed import DemoSummary

    assert isinstance(summary, DemoSummary)
    console = stdout_console()
    out = console.print
    out(f"Demo workspace: {home} (JIKIMI_HOME={home} jikimi ... to use it)", markup=False)
    out(f"Synthetic, benign media: {summary.media_dir}", markup=False)
    out("Items sent through the pipeline:", markup=False)
    for label, item_id, outcome, case_id in summary.items:
        case = f", case {case_id}" if case_id else ""
        out(f"  item {item_id}: {label} -> {outcome}{case}", markup=False)
    out("Notices on the legal clock:", markup=False)
    for kind, case_id in summary.notices:
        out(f"  {kind} -> case {case_id}", markup=False)
    out("Accounts (passwords and tokens are shown this once):", markup=False)
    for user in summary.users:
        password = f" password {user.password}" if user.password else ""
        out(f"  {user.name} ({user.role}){password}", markup=False)
        out(f"    token {user.token}", markup=False)
    platform = next(u for u in summary.users if u.role == "platform")
    base = f"http://{host}:{port}"
    out("Try:", markup=False)
    out(
        f"  curl -s -H 'Authorization: Bearer {platform.token}' "
        f"-F media=@{summary.media_dir / 'known-1.jpg'} {base}/v1/check",
        markup=False,
    )
    out(f"  curl -s -H 'Authorization: Bearer {platform.token}' {base}/v1/items/1", markup=False)
    out(f"  open {base}/console and sign in as demo-moderator (the review console)", markup=False)
    out(f"  open {base}/report (the public takedown form, no account)", markup=False)
    out(f"  open {base}/docs for the API", markup=False)
