"""``jikimi match``: look signal values up in every bank."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from jikimi.cli.output import emit_json
from jikimi.errors import ImportFormatError
from jikimi.model import Match
from jikimi.workspace import Workspace

EXIT_MATCH = 4
MAX_LINE = 1 << 20


def _read_pairs(path: Path) -> list[tuple[str, str]]:
    pairs = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if len(line) > MAX_LINE:
                raise ImportFormatError("line longer than 1 MiB; is this a hash list?", number)
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            signal_type, _, value = text.partition(" ")
            if not value.strip():
                raise ImportFormatError("expected '<signal_type> <value>'", number)
            pairs.append((signal_type, value.strip()))
    return pairs


def _record(signal_type: str, value: str, matches: list[Match]) -> dict[str, Any]:
    return {
        "signal_type": signal_type,
        "value": value,
        "matches": [m.as_dict() for m in matches],
    }


def register(app: typer.Typer) -> None:
    @app.command("match")
    def match_command(
        signal_type: str | None = typer.Argument(None, help="Signal type, e.g. pdq or sha256."),
        value: str | None = typer.Argument(None, help="The value to look up."),
        file: Path | None = typer.Option(
            None, "--file", help="A list of '<signal_type> <value>' lines (batch lookup)."
        ),
        json_out: bool = typer.Option(False, "--json", help="JSON Lines, one per value."),
    ) -> None:
        """Look values up in every bank; exit 4 when a known-abuse entry matches."""
        if file is not None:
            pairs = _read_pairs(file)
        elif signal_type and value:
            pairs = [(signal_type, value)]
        else:
            raise typer.BadParameter("give TYPE VALUE or --file FILE")
        with Workspace.open() as ws:
            results = ws.matcher().match_values(pairs)
        found = False
        for (st, v), matches in zip(pairs, results, strict=True):
            found = found or any(m.known_abuse for m in matches)
            if json_out:
                emit_json(_record(st, v, matches))
            elif not matches:
                typer.echo(f"{st} {v}: no match")
            else:
                for m in matches:
                    extra = f" transform={m.transform}" if m.transform else ""
                    supp = f" (suppressed by {m.suppressed_by})" if m.suppressed_by else ""
                    typer.echo(
                        f"{st} {v}: bank={m.bank} entry={m.entry_id} "
                        f"distance={m.distance}{extra}{supp}"
                    )
        if found:
            raise typer.Exit(EXIT_MATCH)
