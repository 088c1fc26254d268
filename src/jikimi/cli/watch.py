"""``jikimi watch FOLDER``: a drop box whose files become items (connectors/folder_watch.py)."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Literal

import typer

from jikimi.cli.output import emit_json, stderr_console
from jikimi.connectors.folder_watch import FolderWatch, Taken, WatchOptions
from jikimi.workspace import Workspace


def _line(taken: Taken) -> str:
    if taken.error:
        return f"FAILED   {taken.file}: {taken.error}"
    again = "" if taken.created else " (already recorded)"
    case = f" case {taken.case_id}" if taken.case_id else ""
    return f"{taken.outcome or '-':8} {taken.file} → item {taken.item_id}{case}{again}"


def register(app: typer.Typer) -> None:
    @app.command("watch")
    def watch(
        folder: Path = typer.Argument(..., help="The drop-box folder to take files from."),
        once: bool = typer.Option(False, "--once", help="Take what has settled, then exit."),
        poll_seconds: float = typer.Option(2.0, "--poll-seconds", min=0.1, max=3600),
        settle_seconds: float = typer.Option(
            2.0, "--settle-seconds", min=0, max=3600, help="Unchanged this long before taken."
        ),
        after: str = typer.Option(
            "move", "--after", help="move (to FOLDER/.jikimi/done) or delete taken files."
        ),
        platform: str = typer.Option(
            "folder", "--platform", help="Platform of sidecar-less files."
        ),
        json_out: bool = typer.Option(False, "--json", help="JSON Lines, one per file."),
        no_worker: bool = typer.Option(
            False, "--no-worker", help="Do not deliver actions here (run `jikimi worker`)."
        ),
    ) -> None:
        """Turn files dropped into FOLDER into items: signals, matches, verdicts, actions.

        Exit 0; 3 when some file failed (it waits in FOLDER/.jikimi/failed with the reason).
        """
        if after not in ("move", "delete"):
            raise typer.BadParameter("--after is move or delete")
        mode: Literal["move", "delete"] = "move" if after == "move" else "delete"
        from jikimi.web.service import Service, ServiceOptions

        options = WatchOptions(settle_seconds=settle_seconds, after=mode, platform=platform)
        failed = 0
        with Workspace.open() as ws:
            service = Service(ws, ServiceOptions(run_dispatcher=not no_worker and not once))
            service.refresh_matcher(force=True)
            try:
                watcher = FolderWatch(service, folder, options, actor=ws.operator)
                stop = threading.Event()
                if once:
                    stop.set()
                    taken_files = watcher.poll()
                else:
                    service.start()
                    for sig in (signal.SIGINT, signal.SIGTERM):
                        signal.signal(sig, lambda *_: stop.set())
                    stderr_console().print(
                        f"Jikimi watching {folder} every {poll_seconds:g}s; Ctrl-C stops",
                        markup=False,
                    )
                    taken_files = watcher.run(stop, poll_seconds=poll_seconds)
                for taken in taken_files:
                    failed += taken.error is not None
                    if json_out:
                        emit_json(taken.as_dict())
                    else:
                        typer.echo(_line(taken))
                if once and not no_worker:
                    service.dispatcher().run_once()
            finally:
                service.stop()
        raise typer.Exit(3 if failed else 0)
