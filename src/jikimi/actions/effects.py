"""Verdict -> effects: which sink should do what, as plain data (DESIGN.md principle 7).

Nothing here touches the outside world or the database: :func:`effects_for` returns
:class:`jikimi.model.Effect` values that the caller writes to the outbox in the same transaction
as the verdict. The routing table (docs/actions.md):

* ``allow`` -> nothing. ``review`` -> only the ``verdict`` notification: humans decide.
* ``remove`` -> each of ``verdict.actions``; on Telegram (platform ``telegram``, a chat id, the
  Telegram sink configured) through the Bot API methods below, elsewhere to the webhook under a
  platform-neutral name. ``notify`` is the ``verdict`` notification itself.
* every non-``allow`` verdict -> one ``verdict`` notification to the webhook (if configured):
  the verdict and the target, never media or item text.
* ``mode="dry_run"`` -> the same effects with sink ``dry_run`` and ``payload["would_sink"]``.
* an action no configured sink can take -> sink ``dry_run`` with ``payload["reason"]``, so
  nothing is silently lost.

Telegram parameters follow the Bot API (https://core.telegram.org/bots/api): ``deleteMessage``
(chat_id, message_id), ``banChatMember`` (chat_id, user_id), ``restrictChatMember`` (chat_id,
user_id, ChatPermissions), ``sendMessage`` (chat_id, text).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from jikimi.model import Effect, Verdict

__all__ = [
    "MODES",
    "RESTRICTED_PERMISSIONS",
    "TELEGRAM_METHODS",
    "VERDICT_EVENT",
    "WARNING_TEXT",
    "WEBHOOK_ACTIONS",
    "Target",
    "canonical_json",
    "effects_for",
    "idempotency_key",
    "restore_effects",
    "routed_effect",
    "telegram_user_id",
]

MODES = ("dry_run", "live")

#: The warning posted by ``warn_chat``: neutral, and never repeating what was removed.
WARNING_TEXT = (
    "A message in this chat was removed by the moderators: sharing sexual images of a person "
    "without their consent, including fake or AI-generated ones, is not allowed here."
)

#: Every permission of a Bot API ``ChatPermissions`` object that lets a member post.
RESTRICTED_PERMISSIONS: dict[str, bool] = {
    "can_send_messages": False,
    "can_send_audios": False,
    "can_send_documents": False,
    "can_send_photos": False,
    "can_send_videos": False,
    "can_send_video_notes": False,
    "can_send_voice_notes": False,
    "can_send_polls": False,
    "can_send_other_messages": False,
    "can_add_web_page_previews": False,
}

TELEGRAM_METHODS = {
    "delete_message": "deleteMessage",
    "ban_author": "banChatMember",
    "restrict_author": "restrictChatMember",
    "warn_chat": "sendMessage",
}
WEBHOOK_ACTIONS = {
    "delete_message": "remove_item",
    "ban_author": "ban_author",
    "restrict_author": "restrict_author",
    "warn_chat": "warn_chat",
}
#: Actions satisfied by the ``verdict`` notification rather than an effect of their own.
NOTIFY_ACTIONS = frozenset({"notify"})
VERDICT_EVENT = "verdict"
RESTORE_ACTION = "restore_item"

_INT = re.compile(r"-?[0-9]+")


@dataclass(frozen=True, slots=True)
class Target:
    """Where the item lives: the platform, and as many of its ids as are known."""

    platform: str
    chat_id: str | None = None
    message_id: str | None = None
    author_id: str | None = None
    url: str | None = None
    item_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The known fields only (``None`` left out), as stored in ``Effect.target``."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def of_item(cls, item: Any) -> Target:
        """Where a recorded item (anything with the item's fields and ``id``) lives."""
        return cls(
            platform=item.platform,
            chat_id=item.chat_id,
            message_id=item.message_id,
            author_id=item.author_id,
            url=item.url,
            item_id=item.id,
        )


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same bytes for the same value, everywhere."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def idempotency_key(origin: str, action: str, sink: str, target: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of (origin, action, sink, target): stable, so the same
    request enqueued twice is one outbox row and a receiver recognises a redelivery."""
    body = {"origin": origin, "action": action, "sink": sink, "target": target}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def effects_for(
    verdict: Verdict,
    target: Target,
    *,
    mode: str,
    webhook: bool,
    telegram: bool,
    origin: str,
) -> list[Effect]:
    """The effects a verdict asks for, routed to the configured sinks (see module doc).
    ``webhook``/``telegram``: whether that sink is configured (in ``dry_run`` mode too, so the
    record says which sink would have been used). ``origin`` names what asked, stably."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if not origin:
        raise ValueError("origin must name what asked for the effects (e.g. 'verdict:12')")
    if verdict.outcome == "allow":
        return []
    planned: list[tuple[str | None, str, dict[str, Any], str | None]] = []
    if verdict.outcome == "remove":
        for action in dict.fromkeys(verdict.actions):  # de-duplicated, order kept
            if action not in NOTIFY_ACTIONS:
                planned.append(_route(action, verdict, target, webhook=webhook, telegram=telegram))
    if webhook:
        planned.append(("webhook", VERDICT_EVENT, {"verdict": verdict.as_dict()}, None))
    elif not telegram:
        planned.append((None, VERDICT_EVENT, {"verdict": verdict.as_dict()}, "no sink configured"))
    where = target.as_dict()
    return [
        routed_effect(sink, action, payload, reason, where, mode=mode, origin=origin)
        for sink, action, payload, reason in planned
    ]


def routed_effect(
    sink: str | None,
    action: str,
    payload: dict[str, Any],
    reason: str | None,
    target: dict[str, Any],
    *,
    mode: str,
    origin: str,
) -> Effect:
    """One effect for ``sink`` (``None``: no sink can take it, ``reason`` says why); in dry-run
    mode, or without a sink, it goes to ``dry_run`` with ``would_sink`` (and ``reason``)."""
    if mode == "live" and sink is not None:
        real_sink = sink
    else:
        real_sink = "dry_run"
        payload = {**payload, "would_sink": sink}
        if reason is not None:
            payload["reason"] = reason
    return Effect(
        action=action,
        sink=real_sink,
        target=target,
        idempotency_key=idempotency_key(origin, action, real_sink, target),
        payload=payload,
    )


def _route(
    action: str, verdict: Verdict, target: Target, *, webhook: bool, telegram: bool
) -> tuple[str | None, str, dict[str, Any], str | None]:
    """(sink or None, action name at that sink, payload, why no sink) for one verdict action."""
    missing: str | None = None
    if target.platform == "telegram" and telegram and action in TELEGRAM_METHODS:
        params, missing = _telegram_params(action, target)
        if params is not None:
            return "telegram", TELEGRAM_METHODS[action], params, None
    if webhook:
        payload: dict[str, Any] = {
            "outcome": verdict.outcome,
            "automated": verdict.automated,
            "policy_version": verdict.policy_version,
            "rules": [r.rule for r in verdict.reasons],
        }
        if action == "warn_chat":
            payload["text"] = WARNING_TEXT
        return "webhook", WEBHOOK_ACTIONS.get(action, action), payload, None
    if missing:
        reason = f"target has no {missing}"
    elif target.platform == "telegram" and telegram:
        reason = f"the telegram sink has no method for {action!r} and no webhook is configured"
    else:
        reason = "no sink configured"
    return None, WEBHOOK_ACTIONS.get(action, action), {}, reason


def _telegram_params(action: str, target: Target) -> tuple[dict[str, Any] | None, str | None]:
    """Bot API parameters for ``action`` on ``target``, or (None, the id that is missing)."""
    chat_id = _chat_id(target.chat_id)
    if chat_id is None:
        return None, "chat_id"
    if action == "delete_message":
        message_id = _int(target.message_id)
        if message_id is None:
            return None, "message_id"
        return {"chat_id": chat_id, "message_id": message_id}, None
    if action == "warn_chat":
        return {"chat_id": chat_id, "text": WARNING_TEXT}, None
    user_id = telegram_user_id(target.author_id)
    if user_id is None:
        return None, "author_id"
    if action == "ban_author":
        return {"chat_id": chat_id, "user_id": user_id}, None
    return {
        "chat_id": chat_id,
        "user_id": user_id,
        "permissions": dict(RESTRICTED_PERMISSIONS),
        "use_independent_chat_permissions": True,
    }, None


def _int(value: str | None) -> int | None:
    if value is None or not _INT.fullmatch(value.strip()):
        return None
    return int(value)


def telegram_user_id(value: str | None) -> int | None:
    """A Telegram user's id from an author id: ``777`` or the typed ``user777`` that the
    connectors record; ``None`` for a chat or channel posting (no member to ban)."""
    if value is not None and value.startswith("user"):
        value = value[len("user") :]
    return _int(value)


def _chat_id(value: str | None) -> int | str | None:
    """A Bot API chat id: an integer, or ``@channelusername``."""
    if value is None:
        return None
    if value.startswith("@") and len(value) > 1:
        return value
    return _int(value)


def restore_effects(
    target: Target, *, mode: str, webhook: bool, telegram: bool, origin: str
) -> list[Effect]:
    """Undo a removal after a reversed appeal: ``restore_item`` to the platform's webhook.
    The Bot API cannot bring a deleted message back, so on Telegram without a webhook the
    effect is recorded (dry run) with that reason, for the moderators to repost by hand."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    reason = None
    if not webhook:
        reason = (
            "the Telegram Bot API cannot restore a deleted message"
            if telegram and target.platform == "telegram"
            else "no sink configured"
        )
    return [
        routed_effect(
            "webhook" if webhook else None,
            RESTORE_ACTION,
            {},
            reason,
            target.as_dict(),
            mode=mode,
            origin=origin,
        )
    ]
