"""effects_for: the verdict -> effects routing table, dry run, stable idempotency keys."""

from __future__ import annotations

import pytest

from jikimi.actions.effects import (
    RESTRICTED_PERMISSIONS,
    WARNING_TEXT,
    Target,
    effects_for,
    idempotency_key,
)
from jikimi.model import Effect, Reason, Verdict

ALL_ACTIONS = ("delete_message", "ban_author", "restrict_author", "warn_chat", "notify")
TG = Target("telegram", chat_id="-1001234567890", message_id="42", author_id="777", item_id=5)
OTHER = Target("discord", chat_id="c1", message_id="m1", author_id="u1", url="https://x.test/1")


def verdict(outcome: str = "remove", actions: tuple[str, ...] = ALL_ACTIONS) -> Verdict:
    return Verdict(
        outcome=outcome,  # type: ignore[arg-type]
        reasons=(Reason("bank-match", outcome, ("pdq distance 4 to entry 9",)),),  # type: ignore[arg-type]
        policy_version="p1",
        automated=True,
        queue="csam" if outcome == "review" else None,
        actions=actions,
    )


def routes(effects: list[Effect]) -> list[tuple[str, str]]:
    return [(e.sink, e.action) for e in effects]


def test_allow_has_no_effects() -> None:
    for webhook in (True, False):
        assert (
            effects_for(
                verdict("allow"),
                TG,
                mode="live",
                webhook=webhook,
                telegram=True,
                origin="verdict:1",
            )
            == []
        )


def test_telegram_remove_maps_to_bot_api_methods() -> None:
    effects = effects_for(
        verdict(), TG, mode="live", webhook=True, telegram=True, origin="verdict:1"
    )
    assert routes(effects) == [
        ("telegram", "deleteMessage"),
        ("telegram", "banChatMember"),
        ("telegram", "restrictChatMember"),
        ("telegram", "sendMessage"),
        ("webhook", "verdict"),
    ]
    by = {e.action: e.payload for e in effects}
    assert by["deleteMessage"] == {"chat_id": -1001234567890, "message_id": 42}
    assert by["banChatMember"] == {"chat_id": -1001234567890, "user_id": 777}
    assert by["restrictChatMember"]["user_id"] == 777
    assert by["restrictChatMember"]["permissions"] == RESTRICTED_PERMISSIONS
    assert not any(by["restrictChatMember"]["permissions"].values())
    assert by["sendMessage"] == {"chat_id": -1001234567890, "text": WARNING_TEXT}
    assert by["verdict"]["verdict"] == verdict().as_dict()
    assert all(e.target == TG.as_dict() for e in effects)


def test_telegram_channel_username_is_a_valid_chat_id() -> None:
    target = Target("telegram", chat_id="@somechannel", message_id="9")
    (effect,) = effects_for(
        verdict(actions=("delete_message",)),
        target,
        mode="live",
        webhook=False,
        telegram=True,
        origin="o",
    )
    assert effect.payload == {"chat_id": "@somechannel", "message_id": 9}


def test_other_platforms_go_to_the_webhook() -> None:
    effects = effects_for(
        verdict(), OTHER, mode="live", webhook=True, telegram=True, origin="verdict:2"
    )
    assert routes(effects) == [
        ("webhook", "remove_item"),
        ("webhook", "ban_author"),
        ("webhook", "restrict_author"),
        ("webhook", "warn_chat"),
        ("webhook", "verdict"),
    ]
    warn = effects[3]
    assert warn.payload["text"] == WARNING_TEXT
    assert effects[0].payload["rules"] == ["bank-match"]


def test_telegram_not_configured_falls_back_to_the_webhook() -> None:
    effects = effects_for(verdict(), TG, mode="live", webhook=True, telegram=False, origin="o")
    assert routes(effects)[0] == ("webhook", "remove_item")


def test_missing_ids_fall_back_to_the_webhook_or_are_recorded() -> None:
    no_author = Target("telegram", chat_id="-100", message_id="3")
    actions = ("delete_message", "ban_author")
    effects = effects_for(
        verdict(actions=actions), no_author, mode="live", webhook=True, telegram=True, origin="o"
    )
    assert routes(effects) == [
        ("telegram", "deleteMessage"),
        ("webhook", "ban_author"),
        ("webhook", "verdict"),
    ]
    effects = effects_for(
        verdict(actions=actions), no_author, mode="live", webhook=False, telegram=True, origin="o"
    )
    assert routes(effects) == [("telegram", "deleteMessage"), ("dry_run", "ban_author")]
    assert effects[1].payload == {"would_sink": None, "reason": "target has no author_id"}


def test_review_only_notifies() -> None:
    effects = effects_for(
        verdict("review"), TG, mode="live", webhook=True, telegram=True, origin="o"
    )
    assert routes(effects) == [("webhook", "verdict")]
    assert (
        effects_for(verdict("review"), TG, mode="live", webhook=False, telegram=True, origin="o")
        == []
    )


def test_nothing_configured_is_recorded_not_lost() -> None:
    effects = effects_for(verdict(), TG, mode="live", webhook=False, telegram=False, origin="o")
    assert [e.sink for e in effects] == ["dry_run"] * 5
    assert all(e.payload["reason"] == "no sink configured" for e in effects)
    assert [e.action for e in effects] == [
        "remove_item",
        "ban_author",
        "restrict_author",
        "warn_chat",
        "verdict",
    ]


@pytest.mark.parametrize("target", [TG, OTHER], ids=["telegram", "other"])
def test_dry_run_keeps_the_effects_and_names_the_sink(target: Target) -> None:
    live = effects_for(verdict(), target, mode="live", webhook=True, telegram=True, origin="o")
    dry = effects_for(verdict(), target, mode="dry_run", webhook=True, telegram=True, origin="o")
    assert [e.action for e in dry] == [e.action for e in live]
    assert {e.sink for e in dry} == {"dry_run"}
    for d, lv in zip(dry, live, strict=True):
        assert d.payload == {**lv.payload, "would_sink": lv.sink}
        # a dry run never blocks the live run of the same verdict
        assert d.idempotency_key != lv.idempotency_key


def test_idempotency_keys_are_stable_and_distinct() -> None:
    a = effects_for(verdict(), TG, mode="live", webhook=True, telegram=True, origin="verdict:1")
    b = effects_for(verdict(), TG, mode="live", webhook=True, telegram=True, origin="verdict:1")
    c = effects_for(verdict(), TG, mode="live", webhook=True, telegram=True, origin="verdict:2")
    keys = [e.idempotency_key for e in a]
    assert keys == [e.idempotency_key for e in b]
    assert len(set(keys)) == len(keys)
    assert not set(keys) & {e.idempotency_key for e in c}
    assert all(len(k) == 64 and k == k.lower() for k in keys)
    first = a[0]
    assert first.idempotency_key == idempotency_key(
        "verdict:1", "deleteMessage", "telegram", TG.as_dict()
    )
    # the key does not depend on key order in the target
    assert idempotency_key("o", "a", "s", {"x": 1, "y": 2}) == idempotency_key(
        "o", "a", "s", {"y": 2, "x": 1}
    )


def test_payloads_hold_only_known_fields() -> None:
    """Decisions are data about the item, never the item: no text, no media, no URL."""
    allowed = {
        "chat_id",
        "message_id",
        "user_id",
        "permissions",
        "use_independent_chat_permissions",
        "text",
        "verdict",
        "outcome",
        "automated",
        "policy_version",
        "rules",
        "would_sink",
        "reason",
    }
    for target in (TG, OTHER):
        for webhook, telegram in ((True, True), (True, False), (False, True), (False, False)):
            for mode in ("live", "dry_run"):
                for e in effects_for(
                    verdict(), target, mode=mode, webhook=webhook, telegram=telegram, origin="o"
                ):
                    assert set(e.payload) <= allowed, e.payload
                    if "text" in e.payload:
                        assert e.payload["text"] == WARNING_TEXT


def test_duplicate_actions_are_one_effect_and_notify_is_the_notification() -> None:
    effects = effects_for(
        verdict(actions=("delete_message", "delete_message", "notify")),
        TG,
        mode="live",
        webhook=True,
        telegram=True,
        origin="o",
    )
    assert routes(effects) == [("telegram", "deleteMessage"), ("webhook", "verdict")]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        effects_for(verdict(), TG, mode="wet", webhook=True, telegram=True, origin="o")
    with pytest.raises(ValueError, match="origin"):
        effects_for(verdict(), TG, mode="live", webhook=True, telegram=True, origin="")
