"""docs/policy.md documents every key of the rule language, and the example in it is real."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from tests.policy.factsdata import bank_match, facts, nudity_finding

from jikimi.policy.conditions import CONDITION_KEYS
from jikimi.policy.findings import FINDING_SIGNALS, SCORE_SIGNALS
from jikimi.policy.rules import ACTIONS, RULE_KEYS, THEN_KEYS, TOP_KEYS, parse_policy

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def documented() -> set[str]:
    return set(re.findall(r"`([a-z_0-9-]+)", DOC.read_text("utf-8")))


def test_every_key_condition_action_and_signal_is_documented() -> None:
    names = {*TOP_KEYS, *RULE_KEYS, *THEN_KEYS, *ACTIONS, *FINDING_SIGNALS, *SCORE_SIGNALS}
    names |= set(CONDITION_KEYS)
    names |= {key for keys in CONDITION_KEYS.values() for key in keys}
    assert names  # the list under test is not empty
    missing = sorted(names - documented())
    assert not missing, f"missing from docs/policy.md: {missing}"


def test_the_documented_example_loads_and_gives_the_documented_verdict() -> None:
    text = DOC.read_text("utf-8").split("## An example", 1)[1]
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    policy = parse_policy(example, "example.yaml")
    v = policy.evaluate(facts({"nudity": nudity_finding(0.93)}, matches=(bank_match("ncii", 4),)))
    assert v.outcome == "remove"
    assert v.actions == ("delete_message", "ban_author", "notify")
    assert [r.rule for r in v.reasons] == ["hash-remove"]
    v = policy.evaluate(facts(matches=(bank_match("partner", 4),)))
    assert (v.outcome, v.queue, v.priority) == ("review", "review", 90)
    assert [r.rule for r in v.reasons] == ["hash-remove", "safeguard:hash-only-removal"]


@pytest.mark.parametrize(
    "module",
    ["facts", "conditions", "findings", "rules", "evaluate", "holder"],
)
def test_public_api_names_exist(module: str) -> None:
    mod = importlib.import_module(f"jikimi.policy.{module}")
    assert mod.__all__
    for name in mod.__all__:
        assert hasattr(mod, name), f"jikimi.policy.{module}.__all__ names missing {name}"
