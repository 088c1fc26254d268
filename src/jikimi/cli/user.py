"""``jikimi user ...``: users, their roles and their API tokens.

There is no default password: a user who signs in is given one here, typed twice at a hidden
prompt or passed on standard input with ``--password-stdin`` (never as an argument, which
would land in shell history and process lists). A new token is printed once, alone on standard
output; the notes about it go to standard error, so ``$(jikimi user token NAME)`` is the token.
"""

from __future__ import annotations

import sys

import typer

from jikimi.accounts.roles import Role
from jikimi.accounts.store import TokenInfo, UserInfo
from jikimi.cli.output import emit_json, stderr_console
from jikimi.errors import AccountError
from jikimi.workspace import Workspace


def _read_password(from_stdin: bool) -> str:
    """One line of standard input, or a hidden prompt typed twice on a terminal."""
    if from_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        if not password:
            raise AccountError("--password-stdin: standard input held no password line")
        return password
    if not sys.stdin.isatty():
        raise AccountError(
            "no terminal to prompt for the password: pass it on standard input with "
            "--password-stdin (there is no default password)"
        )
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _print_user(info: UserInfo) -> None:
    if info.disabled_at:
        state = f"disabled {info.disabled_at:%Y-%m-%d} by {info.disabled_by}"
    elif info.locked_until:
        state = f"locked until {info.locked_until:%Y-%m-%d %H:%M:%S} UTC (maybe expired)"
    else:
        state = "active"
    sign_in = "password" if info.has_password else "tokens only"
    typer.echo(
        f"{info.name}\t{info.role}\t{state}\t{sign_in}\t"
        f"added {info.created_at:%Y-%m-%d} by {info.created_by}"
    )


def _print_token(info: TokenInfo) -> None:
    expires = f"expires {info.expires_at:%Y-%m-%d}" if info.expires_at else "no expiry"
    used = f"last used {info.last_used_at:%Y-%m-%d %H:%M}" if info.last_used_at else "never used"
    revoked = f" by {info.revoked_by} on {info.revoked_at:%Y-%m-%d}" if info.revoked_at else ""
    typer.echo(
        f"{info.prefix}\t{info.user}\t{info.state}{revoked}\t{info.label or '-'}\t"
        f"created {info.created_at:%Y-%m-%d}\t{expires}\t{used}"
    )


def build() -> typer.Typer:
    app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)

    @app.command("add")
    def add(
        name: str,
        role: Role = typer.Option(..., "--role", help="What the user may do (docs/accounts.md)."),
        password_stdin: bool = typer.Option(
            False, "--password-stdin", help="Read the password from one line of standard input."
        ),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Add a user. Every role but platform needs a password; platform uses tokens only."""
        # A platform user has no password; given one anyway, the store says why it refuses.
        password = (
            None if role is Role.PLATFORM and not password_stdin else _read_password(password_stdin)
        )
        with Workspace.open() as ws:
            info = ws.users.add(name, role, password=password, actor=ws.operator)
        if json_out:
            emit_json(info.as_dict())
        else:
            typer.echo(f"added user {info.name} ({info.role})")

    @app.command("list")
    def list_users(json_out: bool = typer.Option(False, "--json")) -> None:
        """List users, disabled ones included (never a password)."""
        with Workspace.open() as ws:
            users = ws.users.list()
        for info in users:
            emit_json(info.as_dict()) if json_out else _print_user(info)

    @app.command("disable")
    def disable(name: str) -> None:
        """Disable a user and revoke all of its API tokens; the record stays."""
        with Workspace.open() as ws:
            ws.users.disable(name, actor=ws.operator)
        typer.echo(f"disabled user {name}; its API tokens are revoked")

    @app.command("password")
    def password(
        name: str,
        password_stdin: bool = typer.Option(
            False, "--password-stdin", help="Read the password from one line of standard input."
        ),
    ) -> None:
        """Set a user's password (this also lifts a sign-in lock)."""
        new = _read_password(password_stdin)
        with Workspace.open() as ws:
            ws.users.set_password(name, new, actor=ws.operator)
        typer.echo(f"password changed for {name}")

    @app.command("token")
    def token(
        name: str,
        label: str | None = typer.Option(None, "--label", help="What the token is for."),
        days: int | None = typer.Option(
            None, "--days", min=1, max=3650, help="Lifetime in days (default: token_days)."
        ),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Issue an API token; it is printed once, alone on the last line."""
        with Workspace.open() as ws:
            secret, info = ws.users.issue_token(name, actor=ws.operator, label=label, days=days)
        if json_out:
            emit_json({**info.as_dict(), "token": secret})
            return
        expires = f"{info.expires_at:%Y-%m-%d}" if info.expires_at else "never"
        stderr_console().print(
            f"token {info.prefix} for {info.user}, expires {expires}. It is shown only now: "
            "store it in a secret store. Revoke it with `jikimi user revoke-token "
            f"{info.prefix}`.",
            markup=False,
        )
        typer.echo(secret)

    @app.command("tokens")
    def tokens(name: str, json_out: bool = typer.Option(False, "--json")) -> None:
        """List a user's API tokens by prefix (never the tokens themselves)."""
        with Workspace.open() as ws:
            infos = ws.users.tokens(name)
        for info in infos:
            emit_json(info.as_dict()) if json_out else _print_token(info)

    @app.command("revoke-token")
    def revoke_token(prefix: str) -> None:
        """Revoke an API token by its prefix, at once."""
        with Workspace.open() as ws:
            ws.users.revoke_token(prefix, actor=ws.operator)
        typer.echo(f"revoked token {prefix}")

    return app
