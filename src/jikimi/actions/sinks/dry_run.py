"""The dry-run sink: records what would have been done, touches nothing.

Effects are routed here in ``actions_mode = "dry_run"`` (``payload["would_sink"]`` names the
sink that would have been used) and, in live mode, when no configured sink could take an effect
(``payload["reason"]`` says why). The outbox row's ``result`` is the record.
"""

from __future__ import annotations

from typing import Any

from jikimi.actions.outbox import OutboxEntry

__all__ = [
    "DryRunSink",
]

_NOTES = ("would_sink", "reason")


class DryRunSink:
    name = "dry_run"

    def deliver(self, entry: OutboxEntry) -> dict[str, Any]:
        payload = {k: v for k, v in entry.payload.items() if k not in _NOTES}
        result: dict[str, Any] = {
            "dry_run": True,
            "would": {
                "sink": entry.payload.get("would_sink"),
                "action": entry.action,
                "target": entry.target,
                "payload": payload,
            },
        }
        if entry.payload.get("reason") is not None:
            result["reason"] = entry.payload["reason"]
        return result
