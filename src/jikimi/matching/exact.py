"""Exact-value indexes for the cryptographic signals (``sha256``, ``md5``, ``sha1``,
``video_md5``): a dict from normalised value to entry ids, as python-threatexchange's
``TrivialSignalTypeIndex``. Every add and removal is visible to the next lookup."""

from __future__ import annotations

from jikimi.errors import SignalValueError
from jikimi.signals.base import signal_format, validate_value

EXACT_SIGNAL_TYPES = ("sha256", "md5", "sha1", "video_md5")


class ExactIndex:
    """Entry ids by exact value of one signal type.

    Values are validated (and lowercased) with :func:`jikimi.signals.base.validate_value`, so a
    malformed value raises :class:`~jikimi.errors.SignalValueError` on add and on query.
    """

    def __init__(self, signal_type: str = "sha256") -> None:
        if signal_format(signal_type).distance != "exact":
            raise SignalValueError(f"{signal_type} is not an exact-match signal type")
        self.signal_type = signal_type
        self._by_value: dict[str, list[int]] = {}
        self._by_id: dict[int, str] = {}

    def add(self, value: str, entry_id: int) -> None:
        """Index ``entry_id`` under ``value``; an id already present moves to the new value."""
        norm = validate_value(self.signal_type, value)
        self.remove(entry_id)
        self._by_value.setdefault(norm, []).append(entry_id)
        self._by_id[entry_id] = norm

    def remove(self, entry_id: int) -> None:
        """Forget ``entry_id``; unknown ids are ignored."""
        norm = self._by_id.pop(entry_id, None)
        if norm is None:
            return
        ids = self._by_value[norm]
        ids.remove(entry_id)
        if not ids:
            del self._by_value[norm]

    def query(self, value: str) -> list[int]:
        """Entry ids stored under ``value``, ascending."""
        return sorted(self._by_value.get(validate_value(self.signal_type, value), ()))

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._by_id


__all__ = ["EXACT_SIGNAL_TYPES", "ExactIndex"]
