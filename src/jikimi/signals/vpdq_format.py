"""The vPDQ value format of python-threatexchange: a JSON list of ``"pdqhex,quality,seconds"``.

We write it compactly (no spaces) so it fits the ``<signal_type> <value>`` line format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from jikimi.errors import SignalValueError

_PDQ = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class VpdqFrame:
    pdq: str
    quality: int
    timestamp: float

    def __str__(self) -> str:
        return f"{self.pdq},{self.quality},{self.timestamp:.3f}"


def parse_vpdq(value: str) -> list[VpdqFrame]:
    """Frames of a serialised vPDQ value; raises :class:`SignalValueError` on any defect."""
    try:
        items = json.loads(value)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise SignalValueError(f"vpdq value is not a JSON list: {exc}") from None
    if not isinstance(items, list) or not items:
        raise SignalValueError("vpdq value must be a non-empty JSON list of 'pdq,quality,seconds'")
    frames = []
    for i, item in enumerate(items):
        parts = item.split(",") if isinstance(item, str) else []
        if len(parts) != 3:
            raise SignalValueError(f"vpdq frame {i} is not 'pdqhex,quality,seconds': {item!r:.80}")
        pdq = parts[0].strip().lower()
        try:
            quality, seconds = int(parts[1]), float(parts[2])
        except ValueError:
            raise SignalValueError(f"vpdq frame {i} has a non-numeric field: {item!r:.80}") from (
                None
            )
        if not _PDQ.fullmatch(pdq) or not 0 <= quality <= 100 or not seconds >= 0:
            raise SignalValueError(f"vpdq frame {i} is out of range: {item!r:.80}")
        frames.append(VpdqFrame(pdq, quality, seconds))
    return frames


def format_vpdq(frames: list[VpdqFrame]) -> str:
    return json.dumps([str(f) for f in frames], separators=(",", ":"))


def normalise_vpdq(value: str) -> str:
    return format_vpdq(parse_vpdq(value))
