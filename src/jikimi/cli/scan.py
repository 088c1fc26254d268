"""``jikimi scan PATH...``: hash, match and record every media under the paths."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from jikimi.cli.output import emit_json, stderr_console
from jikimi.cli.signals_option import HELP, parse_signals
from jikimi.pipeline.scan import Scanner, ScanOptions, ScanResult
from jikimi.signals.registry import load_registry
from jikimi.workspace import Workspace

CSV_FIELDS = (
    "file", "sha256", "media_type", "pdq", "pdq_quality", "matches", "skipped", "error",
)  # fmt: skip


def _csv_row(result: ScanResult) -> dict[str, object]:
    return {
        "file": result.file,
        "sha256": result.sha256 or "",
        "media_type": result.media_type or "",
        "pdq": result.signals.get("pdq", ""),
        "pdq_quality": result.signals.get("pdq_quality", ""),
        "matches": ";".join(
            f"{m.bank}:{m.entry_id}:{m.signal_type}:{m.distance}" for m in result.matches
        ),
        "skipped": result.skipped or "",
        "error": result.error or "",
    }


def _line(result: ScanResult) -> str:
    if result.error and result.sha256 is None:
        return f"FAILED   {result.file}: {result.error}"
    status = "MATCH  " if result.known_abuse else ("skipped" if result.skipped else "ok     ")
    if result.error:
        status = "error  "
    digest = (result.sha256 or "")[:16]
    detail = ", ".join(
        f"{m.bank}#{m.entry_id} {m.signal_type} d={m.distance}"
        + (f" {m.transform}" if m.transform else "")
        + (" (suppressed)" if m.suppressed_by else "")
        for m in result.matches
    )
    tail = f"  [{detail}]" if detail else ""
    err = f"  {result.error}" if result.error else ""
    return f"{status}  {digest}  {result.file}{tail}{err}"


def register(app: typer.Typer) -> None:
    @app.command("scan")
    def scan_command(
        paths: list[Path] = typer.Argument(..., help="Files and folders to scan."),
        json_out: bool = typer.Option(False, "--json", help="JSON Lines, one per media."),
        csv_out: bool = typer.Option(False, "--csv", help="CSV, one row per media."),
        signals: str | None = typer.Option(None, "--signals", help=HELP),
        keep_media: bool | None = typer.Option(
            None, "--keep-media/--hash-only", help="Keep encrypted copies in the vault."
        ),
        fast: bool = typer.Option(False, "--fast", help="Faster JPEG decoding (PDQ may differ)."),
        workers: int = typer.Option(
            -1, "--workers", help="Worker processes (default: one per core; 0 = in-process)."
        ),
        engine: str = typer.Option("local", "--engine", help="local (ray comes later)."),
    ) -> None:
        """Scan files and folders: signals, matches, records; resumable.

        Exit 0 clean, 3 some files failed, 4 a known-abuse match, 5 both.
        """
        if json_out and csv_out:
            raise typer.BadParameter("choose one of --json and --csv")
        if engine != "local":
            raise typer.BadParameter("only --engine local is available in this version")
        with Workspace.open() as ws:
            registry = load_registry(ws.settings)
            options = ScanOptions(
                signals=parse_signals(signals, registry).extractors,
                keep_media=ws.settings.keep_media if keep_media is None else keep_media,
                fast=fast,
                workers=(os.cpu_count() or 1) if workers < 0 else workers,
            )
            scanner = Scanner(ws, options, registry)
            planned = scanner.walk(paths)
            writer = csv.DictWriter(sys.stdout, CSV_FIELDS) if csv_out else None
            if writer:
                writer.writeheader()
            err = stderr_console()
            share_terminal = err.is_terminal and sys.stdout.isatty()
            with Progress(
                TextColumn("scanning"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.1f} files/s"),
                TimeRemainingColumn(),
                console=err,
                disable=not err.is_terminal,
                transient=True,
                redirect_stdout=False,  # results go to stdout even when it is a file
                redirect_stderr=False,
            ) as progress:
                task = progress.add_task("scan", total=len(planned), rate=0.0)
                for result in scanner.run(planned):
                    if json_out:
                        emit_json(result.as_dict())
                    elif writer:
                        writer.writerow(_csv_row(result))
                    else:
                        line = _line(result)
                        if share_terminal:  # print above the bar, not through it
                            progress.console.print(line, markup=False, highlight=False)
                        else:
                            sys.stdout.write(line + "\n")
                    elapsed = progress.tasks[0].elapsed or 0.0
                    done = progress.tasks[0].completed + 1
                    progress.update(task, advance=1, rate=done / elapsed if elapsed else 0.0)
            s = scanner.summary
            err.print(
                f"{s.files} files: {s.recorded} recorded, {s.skipped} already recorded, "
                f"{s.failed} failed, {s.matched} known-abuse matches in {s.seconds:.1f}s",
                highlight=False,
            )
        raise typer.Exit(s.exit_code)
