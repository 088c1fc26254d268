"""The ``jikimi`` command: one Typer app, one module per command group.

Exit codes: 0 success; 1 an error stopped the command (the message says what to do); 2 bad
usage; ``scan`` adds 3 (some files failed), 4 (a known-abuse match), 5 (both).
"""

from __future__ import annotations

import sys

import typer

from jikimi import __version__
from jikimi.cli import (
    bank,
    case,
    custody,
    demo,
    evidence,
    exchange,
    hash,
    init,
    match,
    models,
    person,
    report,
    retention,
    scan,
    serve,
    stats,
    telegram_bot,
    user,
    watch,
)
from jikimi.errors import JikimiError

EXIT_ERROR = 1


def build_app() -> typer.Typer:
    """The CLI, built on demand (never at import time) so tests get a fresh one."""
    app = typer.Typer(
        name="jikimi",
        help="Find, remove and document deepfake sexual-abuse imagery.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback(invoke_without_command=True)
    def _root(
        version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    ) -> None:
        if version:
            typer.echo(__version__)
            raise typer.Exit()

    init.register(app)
    hash.register(app)
    app.add_typer(bank.build(), name="bank")
    app.add_typer(person.build(), name="person")
    app.add_typer(case.build(), name="case")
    match.register(app)
    scan.register(app)
    app.add_typer(custody.build(), name="custody")
    app.add_typer(evidence.build(), name="evidence")
    models.register(app)
    serve.register(app)
    telegram_bot.register(app)
    watch.register(app)
    demo.register(app)
    stats.register(app)
    app.add_typer(user.build(), name="user")
    app.add_typer(exchange.build(), name="exchange")
    app.add_typer(report.build(), name="report")
    app.add_typer(retention.build(), name="retention")
    return app


def main(argv: list[str] | None = None) -> None:
    app = build_app()
    try:
        app(args=argv, prog_name="jikimi", standalone_mode=True)
    except JikimiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
