"""``jikimi custody verify|anchor``: check the custody log's hash chain and its time-stamped
anchors, and anchor the events since the last anchor."""

from __future__ import annotations

from typing import Any

import typer

from jikimi.cli.output import emit_json
from jikimi.errors import CustodyError, TimestampError
from jikimi.evidence.anchors import Anchor, AnchorCheck, Anchorer, verify_anchors
from jikimi.evidence.timestamps import stamper_for, trusted_roots
from jikimi.workspace import TOOL, Workspace


def _check_json(check: AnchorCheck) -> dict[str, Any]:
    return {
        "anchor_id": check.anchor_id,
        "first_seq": check.first_seq,
        "last_seq": check.last_seq,
        "merkle_root": check.merkle_root,
        "timestamps": [{"tsa": tsa, "time": time.isoformat()} for tsa, time in check.times],
        "ok": not check.problems,
    }


def _anchor_json(anchor: Anchor) -> dict[str, Any]:
    return {
        "anchored": True,
        "anchor_id": anchor.id,
        "first_seq": anchor.first_seq,
        "last_seq": anchor.last_seq,
        "merkle_root": anchor.merkle_root,
        "tokens": [{"tsa": t.tsa, "time": t.time.isoformat()} for t in anchor.tokens],
        "failures": [{"tsa": f.tsa, "problem": f.problem} for f in anchor.failures],
    }


def build() -> typer.Typer:
    app = typer.Typer(help="The append-only custody log.", no_args_is_help=True)

    @app.command("verify")
    def verify(json_out: bool = typer.Option(False, "--json")) -> None:
        """Verify every custody event and the chain linking them, then every anchor (its
        Merkle root recomputed from the log, its time-stamp tokens checked offline against
        tsa_certificates); exit 1 if anything is off."""
        with Workspace.open() as ws:
            report = ws.custody.verify()
            anchors = verify_anchors(ws.sessions, roots=trusted_roots(ws.settings))
        ok = report.ok and anchors.ok
        problems = report.problems + anchors.problems
        if json_out:
            emit_json(
                {
                    "ok": ok,
                    "checked": report.checked,
                    "problems": problems,
                    "anchors": [_check_json(c) for c in anchors.checks],
                }
            )
        else:
            for problem in problems:
                typer.echo(f"problem: {problem}")
            for check in anchors.checks:
                stamped = ", ".join(f"{time.isoformat()} by {tsa}" for tsa, time in check.times)
                state = "verifies" if not check.problems else "DOES NOT verify"
                typer.echo(
                    f"anchor {check.anchor_id}: seq {check.first_seq}..{check.last_seq} "
                    f"{state}" + (f"; unaltered since {stamped}" if stamped else "")
                )
            verdict = "verifies" if ok else "DOES NOT verify"
            typer.echo(
                f"custody log {verdict}: {report.checked} events checked, "
                f"{len(anchors.checks)} anchors checked"
            )
        if not ok:
            raise typer.Exit(1)

    @app.command("anchor")
    def anchor(json_out: bool = typer.Option(False, "--json")) -> None:
        """Anchor the events since the last anchor: their Merkle root, time-stamped by every
        TSA in tsa_urls, stored and recorded as a custody.anchored event. Prints the anchor,
        or "nothing new"; exit 1 when no TSA gave a token (the message names each TSA)."""
        with Workspace.open() as ws:
            if not ws.settings.tsa_urls:
                typer.echo(
                    "error: no time-stamp authority configured; set tsa_urls (docs/evidence.md)",
                    err=True,
                )
                raise typer.Exit(1)
            anchorer = Anchorer(
                ws.sessions,
                ws.custody,
                stamper_for(ws.settings),
                actor=ws.operator,
                tool_version=TOOL,
            )
            try:
                made = anchorer.anchor()
            except (TimestampError, CustodyError) as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(1) from None
        if json_out:
            emit_json(_anchor_json(made) if made else {"anchored": False})
            return
        if made is None:
            typer.echo("nothing new to anchor")
            return
        for failure in made.failures:
            typer.echo(f"warning: {failure.tsa}: {failure.problem}", err=True)
        typer.echo(
            f"anchor {made.id}: seq {made.first_seq}..{made.last_seq}, root {made.merkle_root}"
        )
        for token in made.tokens:
            typer.echo(f"  time-stamped {token.time.isoformat()} by {token.tsa}")

    return app
