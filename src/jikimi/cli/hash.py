"""``jikimi hash FILE...``: the signals of each file, no workspace needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from jikimi.cli.output import emit_json, stdout_console
from jikimi.media.limits import Limits
from jikimi.model import MediaSignals
from jikimi.settings import load_settings
from jikimi.signals.base import SIGNAL_FORMATS
from jikimi.signals.compute import compute_signals

EXIT_SOME_FAILED = 3


def parse_signal_list(value: str | None) -> frozenset[str] | None:
    """``--signals sha256,pdq`` → a set; ``all`` or nothing → ``None`` (every applicable)."""
    if value is None or value.strip() == "all":
        return None
    names = frozenset(n.strip() for n in value.split(",") if n.strip())
    unknown = sorted(names - SIGNAL_FORMATS.keys())
    if unknown:
        known = ", ".join(sorted(SIGNAL_FORMATS))
        raise typer.BadParameter(f"unknown signal(s) {', '.join(unknown)}; use {known} or all")
    return names


def hash_record(media: MediaSignals) -> dict[str, Any]:
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
    if media.notes:
        out["note"] = "; ".join(media.notes)
    if media.error:
        out["error"] = media.error
    return out


def register(app: typer.Typer) -> None:
    @app.command("hash")
    def hash_command(
        files: list[Path] = typer.Argument(..., help="Image or video files."),
        signals: str | None = typer.Option(
            None, "--signals", help="Comma-separated signal types, or 'all' (default)."
        ),
        fast: bool = typer.Option(
            False, "--fast", help="Decode large JPEGs at reduced scale (faster, PDQ may differ)."
        ),
        json_out: bool = typer.Option(False, "--json", help="JSON Lines, one per file."),
    ) -> None:
        """Print the signals (sha256, md5, sha1, pdq, vpdq) of each file."""
        settings = load_settings()
        limits = Limits.from_settings(settings)
        want = parse_signal_list(signals)
        console = stdout_console()
        failed = False
        for path in files:
            media = compute_signals(
                path,
                limits,
                min_quality=settings.pdq_min_quality,
                seconds_per_hash=settings.vpdq_seconds_per_hash,
                transforms=False,
                fast=fast,
                want=want,
            )
            record = hash_record(media)
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
            for key in ("note", "error"):
                if key in record:
                    console.print(f"  {key:<12} {record[key]}")
        if failed:
            raise typer.Exit(EXIT_SOME_FAILED)
