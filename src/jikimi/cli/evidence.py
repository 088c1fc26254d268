"""``jikimi evidence ...``: export a case as an evidence package, and verify one offline."""

from __future__ import annotations

from pathlib import Path

import typer

from jikimi.cli.output import emit_json
from jikimi.workspace import Workspace


def build() -> typer.Typer:
    app = typer.Typer(
        help="Evidence packages: export a case, verify a package.", no_args_is_help=True
    )

    @app.command("export")
    def export(
        case_id: int = typer.Argument(..., metavar="CASE"),
        out: Path = typer.Option(..., "--out", help="Where to write the package (a .zip)."),
        contacts: bool = typer.Option(
            False, "--contacts", help="Include notifiers' contact details (personal data)."
        ),
        media: bool = typer.Option(
            True, "--media/--no-media", help="Include kept media bytes (else hashes only)."
        ),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Export a case as a zipped BagIt bag with a CASE/UCO manifest and a report; the
        export is recorded in the custody log."""
        from jikimi.evidence.package import export_case

        with Workspace.open() as ws:
            summary = export_case(
                ws, case_id, out, actor=ws.operator, contacts=contacts, media=media
            )
        if json_out:
            emit_json(
                {
                    "path": str(summary.path),
                    "sha256": summary.sha256,
                    "case_id": summary.case_id,
                    "files": summary.files,
                    "manifest_sha256": summary.manifest_sha256,
                    "media_included": summary.media_included,
                    "withheld": summary.withheld,
                    "timestamps": summary.timestamps,
                    "custody_seq": summary.custody_seq,
                }
            )
            return
        typer.echo(f"wrote {summary.path} ({summary.files} files), SHA-256 {summary.sha256}")
        typer.echo(f"media included: {len(summary.media_included)}")
        for w in summary.withheld:
            typer.echo(f"withheld: {w['what']}: {w['why']}")
        typer.echo(summary.timestamps)

    @app.command("verify")
    def verify(
        package: Path = typer.Argument(..., metavar="FILE"),
        tsa_roots: list[Path] = typer.Option(
            [],
            "--tsa-roots",
            help="PEM file of TSA root certificates (repeatable); default "
            "the tsa_certificates setting.",
        ),
        allow_unstamped: bool = typer.Option(
            False,
            "--allow-unstamped",
            help="Accept a package with no valid time-stamp (it then proves neither when it was "
            "made nor that it was not changed afterwards).",
        ),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Check a package offline: files against the bag manifests, custody hashes and links,
        the CASE manifest's hashes, RFC 3161 tokens. Exit 1 unless everything holds."""
        from jikimi.evidence.package_stamps import roots_from
        from jikimi.evidence.package_verify import verify_package
        from jikimi.evidence.timestamps import trusted_roots
        from jikimi.settings import load_settings

        try:
            roots = roots_from(tsa_roots) if tsa_roots else trusted_roots(load_settings())
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(f"--tsa-roots: no PEM certificates read ({exc})") from None
        check = verify_package(package, roots=roots, allow_unstamped=allow_unstamped)
        if json_out:
            emit_json({"ok": check.ok, "holds": check.holds, "problems": check.problems})
        else:
            for line in check.holds:
                typer.echo(f"holds: {line}")
            for line in check.problems:
                typer.echo(f"PROBLEM: {line}")
            verdict = "verifies" if check.ok else "DOES NOT verify"
            typer.echo(f"{package}: {verdict} ({len(check.problems)} problems)")
        if not check.ok:
            raise typer.Exit(1)

    return app
