"""``jikimi models [--json]``: every model the extractors load, and the extractors that are off.

One line (one JSON object with ``--json``) per model: the signal it serves, its name, the
package it ships in and that package's version, the weight file and its SHA-256, its licence,
and whether it loaded. Then one line per disabled extractor with the reason (what to install,
what to set, or which hash did not verify). Every record has the same keys::

    {"signal", "name", "package", "version", "path", "sha256", "licence", "loaded", "error",
     "disabled"}

No workspace is needed; nothing is fetched.
"""

from __future__ import annotations

from typing import Any

import typer

from jikimi.cli.output import emit_json, stdout_console
from jikimi.settings import load_settings
from jikimi.signals.registry import Registry, load_registry


def model_records(registry: Registry) -> list[dict[str, Any]]:
    """The ``jikimi models --json`` records: models by signal, then disabled extractors."""
    records: list[dict[str, Any]] = []
    for signal in sorted(registry.extractors):
        for model in registry.extractors[signal].models():
            records.append(
                {
                    "signal": signal,
                    "name": model.name,
                    "package": model.package,
                    "version": model.package_version,
                    "path": model.path,
                    "sha256": model.sha256,
                    "licence": model.licence,
                    "loaded": model.loaded,
                    "error": model.error,
                    "disabled": False,
                }
            )
    for signal in sorted(registry.disabled):
        records.append(
            {
                "signal": signal,
                "name": None,
                "package": None,
                "version": None,
                "path": None,
                "sha256": None,
                "licence": None,
                "loaded": False,
                "error": registry.disabled[signal].reason,
                "disabled": True,
            }
        )
    return records


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models_command(
        json_out: bool = typer.Option(False, "--json", help="JSON Lines, one per model."),
    ) -> None:
        """List the models behind the signals (package, version, SHA-256, licence) and the
        signals that are disabled, with why."""
        records = model_records(load_registry(load_settings()))
        if json_out:
            for record in records:
                emit_json(record)
            return
        console = stdout_console()
        for r in records:
            if r["disabled"]:
                console.print(f"{r['signal']:<20} disabled: {r['error']}", markup=False)
                continue
            loaded = "loaded yes" if r["loaded"] else f"loaded no: {r['error']}"
            console.print(
                f"{r['signal']:<20} {r['name']}  {r['package']} {r['version']}  "
                f"sha256 {r['sha256']}  licence {r['licence']}  {loaded}",
                markup=False,
            )
