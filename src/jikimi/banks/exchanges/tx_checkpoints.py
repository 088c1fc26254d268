"""threatexchange checkpoints (dataclasses) to JSON and back, for the ``checkpoints`` table."""

from __future__ import annotations

import dataclasses
from typing import Any

from jikimi.errors import ExchangeError


def to_json(checkpoint: Any) -> dict[str, Any]:
    return dataclasses.asdict(checkpoint)


def from_json(cls: type[Any], value: dict[str, Any] | None, exchange: str) -> Any | None:
    """The checkpoint saved as ``value``, or None (fetch from the start) when there is none or
    threatexchange says it is stale (e.g. StopNCII's after 30 days without a fetch)."""
    if value is None:
        return None
    import dacite

    try:
        checkpoint = dacite.from_dict(cls, value)
    except (dacite.DaciteError, TypeError) as exc:
        raise ExchangeError(
            f"exchange {exchange!r}: its saved checkpoint does not fit {cls.__name__} ({exc}); "
            "reset it with `jikimi exchange sync --from-start` to fetch everything again"
        ) from None
    return None if checkpoint.is_stale() else checkpoint
