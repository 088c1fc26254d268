"""``jikimi bank ...``: banks of known signals and their entries."""

from __future__ import annotations

import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from jikimi.banks.formats import iter_lines
from jikimi.banks.service import BankInfo, EntryInfo
from jikimi.cli.output import emit_json, stderr_console
from jikimi.errors import JikimiError
from jikimi.media.limits import Limits
from jikimi.signals.base import SIGNAL_FORMATS
from jikimi.signals.compute import compute_signals
from jikimi.workspace import Workspace

EXIT_SOME_REJECTED = 3


def _jsonable(obj: Any) -> Any:
    data = asdict(obj)
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}


def _parse_signal_arg(text: str) -> tuple[str, str]:
    signal_type, sep, value = text.partition(":")
    if not sep or not value:
        raise typer.BadParameter(f"--signal {text!r} must look like TYPE:VALUE, e.g. pdq:<64 hex>")
    return signal_type.strip(), value.strip()


def _print_bank(info: BankInfo) -> None:
    typer.echo(
        f"{info.name}\t{info.kind}\tpdq<={info.pdq_threshold}\t"
        f"transforms={'on' if info.try_transforms else 'off'}\t"
        f"{'auto-action' if info.auto_action else 'human-review'}"
        f"{', minors' if info.minors else ''}\t"
        f"{info.active_entries} active, {info.withdrawn_entries} withdrawn"
    )


def build() -> typer.Typer:
    app = typer.Typer(help="Banks of known signals.", no_args_is_help=True)

    @app.command("create")
    def create(
        name: str,
        kind: str = typer.Option("known-abuse", "--kind", help="known-abuse or known-benign."),
        pdq_threshold: int | None = typer.Option(
            None, "--pdq-threshold", min=0, max=64, help="PDQ match distance (default 31)."
        ),
        no_transforms: bool = typer.Option(
            False, "--no-transforms", help="Do not match rotated or mirrored copies."
        ),
        auto_action: bool = typer.Option(
            False,
            "--auto-action",
            help="Matches may remove content without a human (vouch for the bank's curation).",
        ),
        minors: bool = typer.Option(
            False, "--minors", help="The bank holds child abuse material: route to child_safety."
        ),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Create a bank."""
        if kind not in ("known-abuse", "known-benign"):
            raise typer.BadParameter("--kind must be known-abuse or known-benign")
        with Workspace.open() as ws:
            info = ws.banks.create(
                name,
                kind=kind,
                pdq_threshold=ws.settings.pdq_threshold if pdq_threshold is None else pdq_threshold,
                try_transforms=not no_transforms,
                auto_action=auto_action,
                minors=minors,
                actor=ws.operator,
            )
        emit_json(_jsonable(info)) if json_out else _print_bank(info)

    @app.command("list")
    def list_banks(json_out: bool = typer.Option(False, "--json")) -> None:
        """List banks."""
        with Workspace.open() as ws:
            banks = ws.banks.list()
        for info in banks:
            emit_json(_jsonable(info)) if json_out else _print_bank(info)

    @app.command("show")
    def show(
        name: str,
        withdrawn: bool = typer.Option(False, "--withdrawn", help="Include withdrawn entries."),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Show a bank and its entries."""
        with Workspace.open() as ws:
            info = ws.banks.get(name)
            entries = ws.banks.entries(name, include_withdrawn=withdrawn)
        if json_out:
            emit_json({**_jsonable(info), "entries": [_jsonable(e) for e in entries]})
            return
        _print_bank(info)
        for e in entries:
            state = (
                f"withdrawn {e.withdrawn_at:%Y-%m-%d} by {e.withdrawn_by}" if e.withdrawn_at else ""
            )
            typer.echo(f"  {e.entry_id}\t{e.signal_type}\t{e.value[:72]}\t{e.note or ''}\t{state}")

    @app.command("delete")
    def delete(name: str) -> None:
        """Delete a bank: its entries leave matching at once."""
        with Workspace.open() as ws:
            ws.banks.delete(name, actor=ws.operator)
        typer.echo(f"deleted bank {name}")

    @app.command("add")
    def add(
        name: str,
        files: list[Path] = typer.Argument(None, help="Files to hash and add."),
        signal: list[str] = typer.Option(None, "--signal", help="TYPE:VALUE, repeatable."),
        note: str | None = typer.Option(None, "--note"),
        label: list[str] = typer.Option(None, "--label", help="Label, repeatable."),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Add entries from files (hashed here) or from signal values."""
        pairs = [_parse_signal_arg(s) for s in signal or []]
        if not files and not pairs:
            raise typer.BadParameter("give FILE... or --signal TYPE:VALUE")
        failed = False
        with Workspace.open() as ws:
            limits = Limits.from_settings(ws.settings)
            for path in files or []:
                media = compute_signals(path, limits, transforms=False)
                if media.error:
                    stderr_console().print(f"error: {media.error}")
                    failed = True
                    continue
                pairs += [(t, s.value) for t, s in media.signals.items() if t in SIGNAL_FORMATS]
            entries = ws.banks.add(name, pairs, actor=ws.operator, note=note, labels=label or ())
        for e in entries:
            if json_out:
                emit_json({"entry_id": e.entry_id, "signal_type": e.signal_type, "value": e.value})
            else:
                typer.echo(f"{e.entry_id}\t{e.signal_type}\t{e.value}")
        if failed:
            raise typer.Exit(EXIT_SOME_REJECTED)

    @app.command("withdraw")
    def withdraw(
        name: str,
        entry_id: int,
        reason: str | None = typer.Option(None, "--reason"),
    ) -> None:
        """Withdraw an entry: out of matching at once, kept as a tombstone."""
        with Workspace.open() as ws:
            e: EntryInfo = ws.banks.withdraw(name, entry_id, actor=ws.operator, reason=reason)
        typer.echo(f"withdrew entry {e.entry_id} from {name}")

    @app.command("import")
    def import_(
        name: str,
        file: Path,
        fmt: str | None = typer.Option(
            None, "--format", help="txt or csv (default: from the file name)."
        ),
    ) -> None:
        """Import a hash list: `<signal_type> <value>` lines (txt) or CSV."""
        fmt = fmt or ("csv" if file.suffix.lower() == ".csv" else "txt")
        if fmt not in ("txt", "csv"):
            raise typer.BadParameter("--format must be txt or csv")
        try:
            handle = file.open("rb")
        except OSError as exc:
            raise JikimiError(f"cannot read {file}: {exc.strerror}") from None
        with handle, Workspace.open() as ws:
            report = ws.banks.import_lines(
                name,
                iter_lines(handle),
                fmt=fmt,  # type: ignore[arg-type]
                actor=ws.operator,
                source=f"file:{file.name}",
            )
        err = stderr_console()
        for line, reason in report.rejected[:50]:
            err.print(f"{file}:{line}: {reason}")
        if len(report.rejected) > 50:
            err.print(f"... and {len(report.rejected) - 50} more rejected lines")
        typer.echo(f"imported {len(report.added)} entries, rejected {len(report.rejected)} lines")
        if report.rejected:
            raise typer.Exit(EXIT_SOME_REJECTED)

    @app.command("export")
    def export(
        name: str,
        fmt: str = typer.Option("txt", "--format", help="txt or csv."),
    ) -> None:
        """Export the active entries."""
        if fmt not in ("txt", "csv"):
            raise typer.BadParameter("--format must be txt or csv")
        with Workspace.open() as ws:
            for line in ws.banks.export(name, fmt):  # type: ignore[arg-type]
                sys.stdout.write(line if line.endswith("\n") else line + "\n")

    return app
