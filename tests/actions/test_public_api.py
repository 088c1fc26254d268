"""Each actions module's ``__all__`` is exactly its public API (STYLE.md, after httpx)."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = [
    "jikimi.actions.effects",
    "jikimi.actions.outbox",
    "jikimi.actions.dispatcher",
    "jikimi.actions.sinks.base",
    "jikimi.actions.sinks.webhook",
    "jikimi.actions.sinks.telegram",
    "jikimi.actions.sinks.dry_run",
    "jikimi.actions.sinks.registry",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_matches_what_the_module_defines(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    assert exported
    assert all(hasattr(module, n) for n in exported)
    defined = {
        n
        for n, obj in vars(module).items()
        if not n.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == name
    }
    assert defined <= exported, f"public but not in __all__: {defined - exported}"


def test_the_interface_other_packages_use() -> None:
    from jikimi.actions.dispatcher import Dispatcher
    from jikimi.actions.effects import Target, effects_for
    from jikimi.actions.outbox import OutboxEntry, OutboxStore
    from jikimi.actions.sinks.base import Sink
    from jikimi.actions.sinks.dry_run import DryRunSink
    from jikimi.actions.sinks.registry import build_sinks
    from jikimi.actions.sinks.telegram import TelegramSink
    from jikimi.actions.sinks.webhook import SIGNATURE_HEADER, WebhookSink, sign, verify_signature

    assert SIGNATURE_HEADER == "Jikimi-Signature"
    for method in (
        "enqueue",
        "claim",
        "delivered",
        "failed",
        "list",
        "get",
        "retry",
        "drop",
        "counts",
    ):
        assert callable(getattr(OutboxStore, method))
    assert callable(Dispatcher.run_once) and callable(Dispatcher.run_forever)
    assert [s.name for s in (DryRunSink, TelegramSink, WebhookSink)] == [
        "dry_run",
        "telegram",
        "webhook",
    ]
    assert all(callable(f) for f in (effects_for, build_sinks, sign, verify_signature))
    assert {"platform", "chat_id", "message_id", "author_id", "url", "item_id"} == set(
        Target.__dataclass_fields__
    )
    assert "idempotency_key" in OutboxEntry.__dataclass_fields__
    assert Sink.__name__ == "Sink"
