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

from jikimi.actions.effects import MODES, Target, routed_effect, telegram_user_id
from jikimi.model import Effect, Message

__all__ = [
    "EMAIL_ACTION",
    "NOTIFY_ACTION",
    "NO_SINK_REASON",
    "STATEMENT_ACTION",
    "notification_effects",
    "statement_effects",
]

EMAIL_ACTION = "send_email"
NOTIFY_ACTION = "notify"
NO_SINK_REASON = "no notification sink configured"
STATEMENT_ACTION = "statement_of_reasons"


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
    reason = None if sink else NO_SINK_REASON
    return [
        routed_effect(sink, action, message.as_dict(), reason, target, mode=mode, origin=origin)
    ]


def statement_effects(
    statement: dict[str, Any],
    text: str,
    target: Target,
    *,
    origin: str,
    mode: str,
    webhook: bool,
    telegram: bool,
) -> list[Effect]:
    """The statement of reasons for the uploader of removed content (DSA Art. 17): to the
    platform's webhook as ``statement_of_reasons`` (the platform knows how to reach its
    user); on Telegram without a webhook, a private message from the bot to the author
    (``sendMessage`` to their user id: the Bot API refuses when the user never started the
    bot, and the dead letter says so); else recorded with the reason."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    where = target.as_dict()
    author = telegram_user_id(target.author_id)
    if webhook:
        payload = {"statement": statement, "text": text}
        return [
            routed_effect(
                "webhook", STATEMENT_ACTION, payload, None, where, mode=mode, origin=origin
            )
        ]
    if telegram and target.platform == "telegram" and author is not None:
        payload = {"chat_id": author, "text": text}
        return [
            routed_effect("telegram", "sendMessage", payload, None, where, mode=mode, origin=origin)
        ]
    reason = "the uploader's author id is unknown" if telegram else "no sink configured"
    return [
        routed_effect(
            None,
            STATEMENT_ACTION,
            {"statement": statement},
            reason,
            where,
            mode=mode,
            origin=origin,
        )
    ]
