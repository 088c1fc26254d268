"""Docs are tested: every setting and every CLI command is documented."""

from __future__ import annotations

from pathlib import Path

import typer

from jikimi.cli.main import build_app
from jikimi.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _command_paths(app: typer.Typer, prefix: str = "jikimi") -> list[str]:
    paths = [f"{prefix} {c.name or c.callback.__name__}" for c in app.registered_commands]
    for group in app.registered_groups:
        assert group.typer_instance is not None and group.name
        paths += _command_paths(group.typer_instance, f"{prefix} {group.name}")
    return paths


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()
    names = list(Settings.model_fields)
    assert names, "no settings found"
    missing = [n for n in names if f"`{n}`" not in text]
    assert not missing, f"settings missing from docs/settings.md: {missing}"


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    commands = _command_paths(build_app())
    assert len(commands) >= 10
    missing = [c for c in commands if f"`{c}" not in text]
    assert not missing, f"commands missing from docs/cli.md: {missing}"


def test_every_api_route_is_documented() -> None:
    from fastapi.routing import APIRoute

    from jikimi.web.app import API_MODULES, PUBLIC_ROUTES

    text = (DOCS / "api.md").read_text()
    routes = [
        f"{method} {route.path}"
        for module in API_MODULES
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
    ]
    assert len(routes) >= 20
    missing = [r for r in routes if f"`{r}`" not in text]
    assert not missing, f"routes missing from docs/api.md: {missing}"
    public = [p for p in sorted(PUBLIC_ROUTES) if f"{p}`" not in text]
    assert not public, f"public routes not named in docs/api.md: {public}"
