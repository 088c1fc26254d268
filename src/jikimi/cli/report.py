"""``jikimi report ...``: reports about a case to outside bodies, one subcommand each.

``report ncmec`` sends a child-safety case to NCMEC's CyberTipline (docs/ncmec.md).
``report dsa`` sends statements of reasons to the DSA Transparency Database and ``report kcsc``
writes a case's takedown package for KCSC (docs/regulators.md).
Each subcommand is a plain function registered in :func:`build`, so another body's report is
one more function and one more line there.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from jikimi.cli.output import emit_json
from jikimi.reports import kcsc as kcsc_package
from jikimi.reports.ncmec_flow import report_case
from jikimi.reports.transparency_db_submit import send_from_workspace
from jikimi.workspace import Workspace

EXIT_INVALID = 1


def ncmec(
    case_id: int = typer.Argument(..., metavar="CASE", min=1),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Build and check the report; send nothing, record nothing."
    ),
    xml: Path | None = typer.Option(
        None, "--xml", metavar="FILE", help="Also write the report document to FILE."
    ),
    force_new: bool = typer.Option(
        False,
        "--force-new",
        help="Send a new report although an earlier one was sent without an answer (check "
        "with NCMEC first that it holds no report of the case).",
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Report a child-safety case to NCMEC's CyberTipline (resumes an unfinished report)."""
    with Workspace.open() as ws:
        result = report_case(ws, case_id, actor=ws.operator, dry_run=dry_run, force_new=force_new)
    if xml is not None:
        xml.write_bytes(result.document)
    if result.submission is None:
        _dry_run(case_id, result.problems, json_out)
        return
    submission = dict(result.submission)
    submission["detail"] = {k: v for k, v in submission["detail"].items() if k != "report_xml"}
    if json_out:
        emit_json(submission)
    else:
        typer.echo(_line(submission))


def _dry_run(case_id: int, problems: list[str], json_out: bool) -> None:
    if json_out:
        emit_json({"case_id": case_id, "dry_run": True, "problems": problems})
    else:
        verdict = "would be sent" if not problems else "would be refused:"
        typer.echo(f"case {case_id}: the CyberTipline report {verdict}")
        for problem in problems:
            typer.echo(f"  {problem}")
    if problems:
        raise typer.Exit(EXIT_INVALID)


def _line(submission: dict[str, Any]) -> str:
    files = submission["detail"].get("files", [])
    uploaded = sum(1 for f in files if f.get("file_id"))
    return (
        f"case {submission['case_id']}: CyberTipline report {submission['external_id']} "
        f"{submission['state']} ({len(files)} files, {uploaded} uploaded, "
        f"{len(files) - uploaded} by their hashes)"
    )


def dsa(
    since: datetime | None = typer.Option(
        None, "--since", metavar="DATE", formats=["%Y-%m-%d"], help="Decisions from DATE (UTC)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check the statements; send nothing, record nothing."
    ),
    out: Path | None = typer.Option(
        None, "--out", metavar="FILE", help='Also write {"statements": [...]} to FILE.'
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Send unsent statements of reasons to the DSA Transparency Database (resumes)."""
    with Workspace.open() as ws:
        run = send_from_workspace(
            ws, actor=ws.operator, since=since.replace(tzinfo=UTC) if since else None,
            dry_run=dry_run,
        )  # fmt: skip
    if out is not None:
        out.write_text(json.dumps({"statements": run.statements}, ensure_ascii=False, indent=2))
    summary = {"pending": run.pending, "sent": run.sent, "existing": run.existing,
               "batches": run.batches, "dry_run": dry_run}  # fmt: skip
    if json_out:
        emit_json(summary)
    elif dry_run:
        typer.echo(f"{run.pending} statement(s) would be sent; all pass the checks")
    else:
        typer.echo(
            f"{run.sent} statement(s) sent, {run.existing} already in the database, "
            f"in {run.batches} call(s)"
        )


def kcsc(
    case_id: int = typer.Argument(..., metavar="CASE", min=1),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Folder for the CSV and PDF."),
    include_contact: bool = typer.Option(
        False, "--include-contact", help="Add the victim's signature and contact details."
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Write a case's takedown package for KCSC and the victim support centre (CSV, PDF)."""
    with Workspace.open() as ws:
        files = kcsc_package.build_files(
            ws, case_id, actor=ws.operator, include_contact=include_contact
        )
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = {}
    for name, data in files.items():
        path = out / f"kcsc-case-{case_id}.{name}"
        path.write_bytes(data)
        written[name] = str(path)
    if json_out:
        emit_json({"case_id": case_id, "files": written})
    else:
        for path in written.values():
            typer.echo(path)


def build() -> typer.Typer:
    app = typer.Typer(help="Reports about a case to outside bodies.", no_args_is_help=True)
    app.command("ncmec")(ncmec)
    app.command("dsa")(dsa)
    app.command("kcsc")(kcsc)
    return app
