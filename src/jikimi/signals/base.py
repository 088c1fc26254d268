"""Signal types, their value formats, and the protocol every hasher follows.

Values are fixed-width lowercase hex (never a dropped leading zero, never ``""`` for failure),
after python-threatexchange's ``SignalType``: a stable ``name``, how a stored value is validated,
and how two values compare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from jikimi.errors import SignalValueError, UnknownSignalType


@dataclass(frozen=True, slots=True)
class SignalFormat:
    """How values of one signal type look and compare."""

    name: str
    hex_chars: int | None  # fixed width of a hex value; None for structured values (vpdq)
    distance: str  # "exact" or "hamming"
    media: tuple[str, ...]


SIGNAL_FORMATS: dict[str, SignalFormat] = {
    f.name: f
    for f in (
        SignalFormat("sha256", 64, "exact", ("image", "animation", "video")),
        SignalFormat("md5", 32, "exact", ("image", "animation", "video")),
        SignalFormat("sha1", 40, "exact", ("image", "animation", "video")),
        SignalFormat("pdq", 64, "hamming", ("image", "animation")),
        SignalFormat("video_md5", 32, "exact", ("video",)),
        SignalFormat("vpdq", None, "hamming", ("video",)),
    )
}

_HEX = re.compile(r"[0-9a-f]+")


def signal_format(signal_type: str) -> SignalFormat:
    try:
        return SIGNAL_FORMATS[signal_type]
    except KeyError:
        known = ", ".join(sorted(SIGNAL_FORMATS))
        raise UnknownSignalType(
            f"unknown signal type {signal_type!r}; use one of: {known}"
        ) from None


def validate_value(signal_type: str, value: str) -> str:
    """Return ``value`` normalised (stripped, lowercase) or raise :class:`SignalValueError`."""
    fmt = signal_format(signal_type)
    if fmt.name == "vpdq":
        from jikimi.signals.vpdq_format import normalise_vpdq

        return normalise_vpdq(value)
    assert fmt.hex_chars is not None
    norm = value.strip().lower()
    if len(norm) != fmt.hex_chars or not _HEX.fullmatch(norm):
        raise SignalValueError(
            f"{signal_type} value {value[:80]!r} is not {fmt.hex_chars} hex characters"
        )
    return norm


def hamming_hex(a: str, b: str) -> int:
    """Hamming distance of two equal-width hex strings."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


class Hasher(Protocol):
    """Computes one signal type from a file. Implementations live one per module."""

    name: str
    media: tuple[str, ...]

    def hash_file(self, path: Path) -> str | None:
        """The value, or ``None`` when the media yields no usable hash (e.g. low quality)."""
        ...
