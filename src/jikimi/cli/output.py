"""Printing helpers shared by the commands: JSON Lines, tables and one-line errors."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console


def emit_json(obj: Any) -> None:
    """One JSON document on one line (JSON Lines)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, sort_keys=False) + "\n")


def stderr_console() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def stdout_console() -> Console:
    return Console(highlight=False, soft_wrap=True)
