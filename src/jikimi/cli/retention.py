"""``jikimi retention purge``: delete kept media whose retention period is over, except what open
cases, cases still open to appeal and preservation holds need; every deletion a custody event."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from jikimi.cli.output import emit_json
from jikimi.evidence.retention import PurgeReport, purge_media
from jikimi.workspace import TOOL, Workspace

EXIT_USAGE = 2


def _print(report: PurgeReport) -> None:
    would = "would purge" if report.dry_run else "purged"
    for blob in report.purged:
        missing = "; the vault file was already missing" if blob.file_missing else ""
        seq = f", custody seq {blob.custody_seq}" if blob.custody_seq is not None else ""
        typer.echo(f"{would} {blob.sha256} (last seen {blob.last_seen:%Y-%m-%d}{seq}){missing}")
    for kept in report.kept:
        why = "; ".join(p.describe() for p in kept.protections)
        typer.echo(f"kept {kept.sha256} (last seen {kept.last_seen:%Y-%m-%d}): {why}")
    for problem in report.problems:
        typer.echo(f"problem: {problem}")
    more = "; stopped at --limit, more are due" if report.limited else ""
    typer.echo(
        f"{would} {len(report.purged)}, kept {len(report.kept)} still needed, "
        f"{report.not_due} not yet due (retention {report.retention_days} days: last seen "
        f"before {report.cutoff:%Y-%m-%d %H:%M} UTC){more}"
    )


def build() -> typer.Typer:
    app = typer.Typer(help="Media retention: purge kept media.", no_args_is_help=True)

    @app.command("purge")
    def purge(
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Say what would be purged; record and delete nothing."
        ),
        days: int | None = typer.Option(
            None, "--days", min=1, help="Retention in days (default media_retention_days)."
        ),
        limit: int | None = typer.Option(
            None, "--limit", min=1, help="Purge at most this many blobs in this run."
        ),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Purge the vault copies of media last seen more than the retention period ago,
        unless a case that is not closed or still open to appeal, a preservation hold or a
        CyberTipline report under way still needs them; each purge is the custody event
        media.purged. Prints what was purged, what was kept and why, and problems (a kept
        record without its file, a file that could not be deleted)."""
        with Workspace.open() as ws:
            retention = days if days is not None else ws.settings.media_retention_days
            if retention is None:
                typer.echo(
                    "error: no retention period: set media_retention_days (docs/settings.md) "
                    "or pass --days",
                    err=True,
                )
                raise typer.Exit(EXIT_USAGE)
            report = purge_media(
                ws.sessions,
                ws.vault,
                ws.custody,
                now=datetime.now(UTC),
                retention_days=retention,
                actor=ws.operator,
                tool_version=TOOL,
                dry_run=dry_run,
                limit=limit,
            )
        if json_out:
            emit_json(report.as_dict())
        else:
            _print(report)

    return app
