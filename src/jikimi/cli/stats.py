"""``jikimi stats``: the transparency figures of a period (``docs/transparency.md``).

``--shape summary`` (every figure), ``dsa`` (the DSA transparency report's sections) or
``takeitdown`` (the TAKE IT DOWN compliance log); ``--format table`` (on a terminal), ``json``
or ``csv``. Dates are UTC days, both ends included; the default is the last 30 days.
"""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime

import typer
from rich.table import Table

from jikimi.cli.output import stdout_console
from jikimi.reports.transparency import read_report, report_period
from jikimi.reports.transparency_export import SHAPES, as_csv, as_json
from jikimi.workspace import Workspace

FORMATS = ("table", "json", "csv")


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{option} takes a date as YYYY-MM-DD, not {value!r}") from None


def register(app: typer.Typer) -> None:
    @app.command("stats")
    def stats(
        first: str | None = typer.Option(None, "--from", help="First UTC day (YYYY-MM-DD)."),
        last: str | None = typer.Option(None, "--to", help="Last UTC day, included."),
        fmt: str = typer.Option("table", "--format", help="table, json or csv."),
        shape: str = typer.Option("summary", "--shape", help="summary, dsa or takeitdown."),
        json_out: bool = typer.Option(False, "--json", help="The same as --format json."),
    ) -> None:
        """Transparency figures for a period: notices, removals, deadlines, appeals, suspensions."""
        fmt = "json" if json_out else fmt
        if fmt not in FORMATS:
            raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
        if shape not in SHAPES:
            raise typer.BadParameter(f"--shape must be one of {', '.join(SHAPES)}")
        today = datetime.now(UTC).date()
        try:
            period = report_period(_day(first, "--from"), _day(last, "--to"), today)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        with Workspace.open() as ws, ws.sessions() as session:
            report = read_report(session, period)
        if fmt == "json":
            sys.stdout.write(json.dumps(as_json(report, shape), ensure_ascii=False) + "\n")
        elif fmt == "csv":
            sys.stdout.write(as_csv(report, shape))
        else:
            days = period.days
            _table(as_csv(report, shape), f"{shape}, {days[0]} to {days[-1]} (UTC)")


def _table(text: str, title: str) -> None:
    """The CSV rows as a table on the terminal."""
    head, *rows = list(csv.reader(text.splitlines()))
    table = Table(*head, title=f"jikimi stats: {title}")
    for row in rows:
        table.add_row(*row)
    stdout_console().print(table)
