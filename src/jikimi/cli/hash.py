"""``jikimi hash FILE...``: the signals of each file, no workspace needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from jikimi.cli.output import emit_json, stdout_console
from jikimi.cli.signals_option import HELP, parse_signals
from jikimi.matching.matcher import Matcher
from jikimi.media.limits import Limits
from jikimi.model import MediaSignals
from jikimi.pipeline.cascade import Cascade, HashOptions, override_plan
from jikimi.settings import load_settings
from jikimi.signals.extractor import Finding
from jikimi.signals.registry import load_registry

EXIT_SOME_FAILED = 3


def finding_summary(finding: Finding) -> str:
    """One line for a finding on a terminal: status, presence and the small values."""
    if finding.status != "ok":
        return f"{finding.status}: {finding.error}"
    parts = [] if finding.present is None else ["found" if finding.present else "not found"]
    for key, value in finding.value.items():
        if isinstance(value, str | int | float | bool) and len(str(value)) <= 64:
            parts.append(f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}")
    return ", ".join(parts) + (" (advisory)" if finding.advisory else "")


def hash_record(media: MediaSignals, findings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``jikimi hash --json`` record of DESIGN.md §5."""
    signals = media.signals
    out: dict[str, Any] = {
        "file": media.file,
        "media_type": media.info.media_type if media.info else None,
        "sha256": media.sha256,
        "md5": signals["md5"].value if "md5" in signals else None,
        "sha1": signals["sha1"].value if "sha1" in signals else None,
        "pdq": signals["pdq"].value if "pdq" in signals else None,
        "pdq_quality": media.pdq_quality,
    }
    if "vpdq" in signals:
        out["vpdq"] = signals["vpdq"].value
        out["video_md5"] = signals["video_md5"].value if "video_md5" in signals else None
    if media.info is not None:
        out["info"] = {
            k: v
            for k, v in {
                "mime": media.info.mime,
                "width": media.info.width,
                "height": media.info.height,
                "frames": media.info.frames,
                "duration": media.info.duration,
                "orientation": media.info.orientation,
            }.items()
            if v is not None
        }
    if findings:
        out["signals"] = findings
    if media.notes:
        out["note"] = "; ".join(media.notes)
    if media.error:
        out["error"] = media.error
    return out


def register(app: typer.Typer) -> None:
    @app.command("hash")
    def hash_command(
        files: list[Path] = typer.Argument(..., help="Image or video files."),
        signals: str | None = typer.Option(None, "--signals", help=HELP),
        fast: bool = typer.Option(
            False, "--fast", help="Decode large JPEGs at reduced scale (faster, PDQ may differ)."
        ),
        json_out: bool = typer.Option(False, "--json", help="JSON Lines, one per file."),
    ) -> None:
        """Print the signals (sha256, md5, sha1, pdq, vpdq) of each file."""
        settings = load_settings()
        registry = load_registry(settings)
        choice = parse_signals(signals, registry)
        options = HashOptions(
            limits=Limits.from_settings(settings),
            min_quality=settings.pdq_min_quality,
            seconds_per_hash=settings.vpdq_seconds_per_hash,
            transforms=False,
            fast=fast,
            want=choice.hashes,
        )
        plan = override_plan(choice.extractors or (), match=False)
        cascade = Cascade(registry, Matcher(), plan, options)
        console = stdout_console()
        failed = False
        for path in files:
            outcome = cascade.run(path)
            media = outcome.media
            record = hash_record(media, outcome.findings_json())
            failed = failed or media.error is not None
            if json_out:
                emit_json(record)
                continue
            console.print(f"[bold]{path}[/bold]")
            for key in ("media_type", "sha256", "md5", "sha1", "pdq", "pdq_quality", "video_md5"):
                if record.get(key) is not None:
                    console.print(f"  {key:<12} {record[key]}")
            if "vpdq" in record:
                console.print(f"  {'vpdq':<12} {len(media.vpdq_frames)} frames")
            for name, finding in outcome.findings.items():
                console.print(f"  {name:<12} {finding_summary(finding)}", markup=False)
            for key in ("note", "error"):
                if key in record:
                    console.print(f"  {key:<12} {record[key]}")
        if failed:
            raise typer.Exit(EXIT_SOME_FAILED)
