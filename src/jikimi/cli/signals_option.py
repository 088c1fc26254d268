"""The ``--signals LIST|all`` option shared by ``hash`` and ``scan``."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from jikimi.signals.base import SIGNAL_FORMATS
from jikimi.signals.registry import Registry

HELP = (
    "Comma-separated signals (hash types such as sha256,pdq and extractors such as "
    "nudity,faces), or 'all'."
)


@dataclass(frozen=True, slots=True)
class SignalChoice:
    """``hashes``: hash types to compute (None: all that apply). ``extractors``: extractor
    names to run on every media (None: the command's default)."""

    hashes: frozenset[str] | None = None
    extractors: tuple[str, ...] | None = None


def parse_signals(value: str | None, registry: Registry) -> SignalChoice:
    if value is None:
        return SignalChoice()
    if value.strip() == "all":
        return SignalChoice(extractors=tuple(sorted(registry.extractors)))
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = sorted(set(names) - SIGNAL_FORMATS.keys() - set(registry.names()))
    if unknown:
        known = ", ".join([*sorted(SIGNAL_FORMATS), *registry.names()])
        raise typer.BadParameter(f"unknown signal(s) {', '.join(unknown)}; use {known} or all")
    disabled = [registry.disabled[n] for n in names if n in registry.disabled]
    if disabled:
        reasons = "; ".join(f"{d.name}: {d.reason}" for d in disabled)
        raise typer.BadParameter(f"signal(s) not available here: {reasons}")
    hashes = frozenset(n for n in names if n in SIGNAL_FORMATS) or None
    extractors = tuple(n for n in names if n not in SIGNAL_FORMATS)
    return SignalChoice(hashes=hashes, extractors=extractors)
