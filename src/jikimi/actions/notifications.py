"""Message -> effect: which sink sends a notification, as plain data (DESIGN.md principle 7).

Like :mod:`jikimi.actions.effects`, nothing here sends anything: the caller writes the effect
to the outbox in the transaction that made the message necessary (a notice recorded, a case
decided). Routing (docs/notifications.md):

* email configured (``smtp_host``) -> sink ``email``, action ``send_email``;
* else the notify webhook configured -> sink ``notify_webhook``, action ``notify``: the
  platform's own receiver sends the message;
* else -> sink ``dry_run`` with ``payload["reason"]``, so the message is recorded, not lost;
* ``mode="dry_run"`` -> sink ``dry_run`` with ``payload["would_sink"]`` naming the sink.

The payload is the message's fields (``kind``, ``to``, ``subject``, ``text``, ``language``).
The idempotency key is that of :func:`jikimi.actions.effects.idempotency_key` over
``(origin, action, sink, target)``: name the recipient in ``target`` by a record
(``{"notice_id": 7}``), never by the address, so one decision notifying several notifiers
makes one effect each, and enqueuing the same notification twice is one outbox row.
"""

from __future__ import annotations

from typing import Any

from jikimi.actions.effects import MODES, idempotency_key
from jikimi.cases.messages import Message
from jikimi.model import Effect

__all__ = [
    "EMAIL_ACTION",
    "NOTIFY_ACTION",
    "NO_SINK_REASON",
    "notification_effects",
]

EMAIL_ACTION = "send_email"
NOTIFY_ACTION = "notify"
NO_SINK_REASON = "no notification sink configured"


def notification_effects(
    message: Message,
    *,
    origin: str,
    target: dict[str, Any],
    mode: str,
    email: bool,
    notify_webhook: bool,
) -> list[Effect]:
    """The one effect that delivers ``message`` (see module doc). ``email`` and
    ``notify_webhook``: whether that sink is configured (in ``dry_run`` mode too, so the
    record says which sink would have been used). ``origin`` names what asked, stably
    (``"notice:7"``, ``"decision:12"``)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if not origin:
        raise ValueError("origin must name what asked for the message (e.g. 'notice:7')")
    sink: str | None
    if email:
        sink, action = "email", EMAIL_ACTION
    elif notify_webhook:
        sink, action = "notify_webhook", NOTIFY_ACTION
    else:
        sink, action = None, NOTIFY_ACTION
    payload: dict[str, Any] = message.as_dict()
    if mode == "live" and sink is not None:
        real_sink = sink
    else:  # the dry-run record of effects.py: the sink it would have used, or why none
        real_sink = "dry_run"
        payload["would_sink"] = sink
        if sink is None:
            payload["reason"] = NO_SINK_REASON
    return [
        Effect(
            action=action,
            sink=real_sink,
            target=target,
            idempotency_key=idempotency_key(origin, action, real_sink, target),
            payload=payload,
        )
    ]
