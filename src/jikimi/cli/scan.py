"""``jikimi scan PATH...``: hash, match and record every media under the paths; a folder
holding a Telegram Desktop export (``result.json``) is ingested message by message instead
(:mod:`jikimi.connectors.export_ingest`)."""

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
from jikimi.connectors.export_ingest import ExportSummary, MessageResult, ingest_export
from jikimi.connectors.telegram_export import RESULT_NAME
from jikimi.pipeline.scan import Scanner, ScanOptions, ScanResult, ScanSummary
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


def _is_export(path: Path) -> bool:
    return path.is_dir() and (path / RESULT_NAME).is_file()


def _message_line(result: MessageResult) -> str:
    if result.where is not None:
        return f"FAILED   {result.where}: {'; '.join(result.problems)}"
    where = f"chat {result.chat} message {result.message_id}"
    if result.item_id is None:
        return f"FAILED   {where}: {'; '.join(result.problems)}"
    if result.known_abuse:
        status = "MATCH  "
    elif result.problems:
        status = "error  "
    else:
        status = "ok     " if result.created else "skipped"
    counts = (
        (sum(1 for m in result.media if m.sha256), "media"),
        (sum(1 for m in result.media if m.missing), "missing"),
    )
    media = ", ".join(f"{n} {what}" for n, what in counts if n)
    media = f"  {media}" if media else ""
    detail = ", ".join(
        f"{m.bank}#{m.entry_id} {m.signal_type} d={m.distance}" for m in result.matches
    )
    tail = f"  [{detail}]" if detail else ""
    problems = f"  {'; '.join(result.problems)}" if result.problems else ""
    return f"{status}  {where}  item {result.item_id}  {result.verdict}{media}{tail}{problems}"


def _ingest_exports(ws: Workspace, exports: list[Path], json_out: bool) -> list[ExportSummary]:
    """Each export through the service's item pipeline, one line (or JSON line) per message."""
    from jikimi.web.service import Service, ServiceOptions  # heavy: only when there is an export

    service = Service(ws, ServiceOptions(run_dispatcher=False))
    err = stderr_console()
    summaries = []
    try:
        service.refresh_matcher(force=True)
        for folder in exports:
            summary = ExportSummary(str(folder))
            for result in ingest_export(service, folder, actor=ws.operator, summary=summary):
                if json_out:
                    emit_json(result.as_dict())
                else:
                    sys.stdout.write(_message_line(result) + "\n")
            err.print(summary.line(), highlight=False, markup=False)
            summaries.append(summary)
    finally:
        service.stop()
    return summaries


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

        A folder holding result.json (a Telegram Desktop export) is ingested message by
        message, one item each, with the workspace's cascade and keep_media setting.

        Exit 0 clean, 3 some files failed, 4 a known-abuse match, 5 both.
        """
        if json_out and csv_out:
            raise typer.BadParameter("choose one of --json and --csv")
        if engine != "local":
            raise typer.BadParameter("only --engine local is available in this version")
        exports = [p for p in paths if _is_export(p)]
        paths = [p for p in paths if not _is_export(p)]
        if exports and csv_out:
            raise typer.BadParameter("Telegram exports print text or --json, not --csv")
        if exports and (signals or fast or keep_media is not None):
            stderr_console().print(
                "note: --signals, --fast and --keep-media apply to files; exports use the "
                "workspace's cascade and keep_media setting",
                highlight=False,
            )
        with Workspace.open() as ws:
            done = _ingest_exports(ws, exports, json_out) if exports else []
            failed = sum(e.failed for e in done)
            matched = sum(e.matched for e in done)
            if not paths:
                raise typer.Exit(ScanSummary("", failed=failed, matched=matched).exit_code)
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
        raise typer.Exit(
            ScanSummary("", failed=s.failed + failed, matched=s.matched + matched).exit_code
        )
