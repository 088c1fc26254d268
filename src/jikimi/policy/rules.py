"""Policy files: loading, validation, and the compiled, immutable :class:`Policy`.

Rules are data, validated at load time after Osprey's rules loader: the file is read as YAML
nodes (:mod:`jikimi.policy.nodes`) so that every error names the file and line, unknown keys
are rejected at every level, thresholds are type- and range-checked, and a rule that could
remove content on anything but a bank match is refused (DESIGN.md §2.1, "hash first, humans
decide"). The language is documented in docs/policy.md; the shipped default, with a comment on
every rule, is ``policy/default.yaml``.

``Policy.version`` is the file's ``version:`` plus ``@`` and the first 12 hex digits of the
SHA-256 of the file's bytes, so two different files never share a version even when someone
forgets to bump ``version:``. Every verdict records it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, cast

from yaml.nodes import Node

from jikimi.errors import PolicyError
from jikimi.model import OUTCOMES, Outcome, Verdict
from jikimi.policy.conditions import AllOf, Condition, parse_condition
from jikimi.policy.nodes import MAX_POLICY_BYTES, NULL, NodeReader, compose

if TYPE_CHECKING:
    from jikimi.policy.facts import ItemFacts

__all__ = [
    "ACTIONS",
    "CHILD_SAFETY_QUEUE",
    "DEFAULT_SOURCE",
    "Policy",
    "Rule",
    "load_policy",
    "parse_policy",
    "parse_policy_bytes",
]

ACTIONS = ("delete_message", "ban_author", "restrict_author", "warn_chat", "notify")
CHILD_SAFETY_QUEUE = "child_safety"
DEFAULT_SOURCE = "<default>"
DEFAULT_REVIEW_QUEUE = "review"
REVIEW_PRIORITY = 50  # a review rule that gives none
DEMOTED_PRIORITY = 90  # a remove rule demoted to review by the safeguard, when it gives none
HASH_CHARS = 12

RULE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}", re.ASCII)
QUEUE_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}", re.ASCII)
POLICY_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}", re.ASCII)
VERSION_TEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,39}", re.ASCII)
RESERVED_IDS = frozenset({"default"})

TOP_KEYS = ("version", "name", "description", "queues", "review_queue", "rules", "default")
RULE_KEYS = ("id", "description", "when", "then")
THEN_KEYS = ("outcome", "queue", "priority", "actions")


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule: when ``condition`` holds, ask for ``outcome``. ``priority`` is
    ``None`` when the file gives none (see docs/policy.md for the defaults)."""

    id: str
    condition: Condition
    outcome: Outcome
    queue: str | None = None
    priority: int | None = None
    actions: tuple[str, ...] = ()
    description: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy, ready to evaluate. Immutable: a reload builds a new one."""

    name: str
    version: str
    source: str
    rules: tuple[Rule, ...]
    default: Rule
    review_queue: str = DEFAULT_REVIEW_QUEUE
    queues: tuple[str, ...] | None = None
    sha256: str = ""
    description: str | None = None

    def evaluate(self, facts: ItemFacts) -> Verdict:
        """The verdict on one item (:func:`jikimi.policy.evaluate.evaluate`)."""
        from jikimi.policy.evaluate import evaluate

        return evaluate(self, facts)


def load_policy(path: Path | None = None) -> Policy:
    """The policy in ``path``, or the shipped default when ``path`` is ``None``; any problem
    raises :class:`PolicyError` with the file and line."""
    if path is None:
        data = files("jikimi.policy").joinpath("default.yaml").read_bytes()
        return parse_policy_bytes(data, DEFAULT_SOURCE)
    return parse_policy_bytes(read_policy_bytes(path), str(path))


def read_policy_bytes(path: Path) -> bytes:
    """The bytes of a policy file, refusing files over :data:`MAX_POLICY_BYTES`."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyError(str(path), 1, f"cannot read the policy file: {exc.strerror}") from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(
            str(path), 1, f"policy file is over {MAX_POLICY_BYTES} bytes; this cannot be a policy"
        )
    return data


def parse_policy_bytes(data: bytes, source: str) -> Policy:
    """Parse a policy from the file's bytes (UTF-8); its version hashes these bytes."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PolicyError(source, line, "policy file is not UTF-8 text") from None
    return _parse(text, data, source)


def parse_policy(text: str, source: str) -> Policy:
    """Parse a policy from text; ``source`` names it in errors and in :attr:`Policy.source`."""
    return _parse(text, text.encode("utf-8", "surrogatepass"), source)


def _parse(text: str, data: bytes, source: str) -> Policy:
    root = compose(text, source)
    reader = NodeReader(source)
    if root is None or root.tag == NULL:
        raise PolicyError(source, 1, "empty policy file; it needs version, name and rules")
    keys = reader.fields(root, "the policy", TOP_KEYS, ("version", "name", "rules"))
    version = reader.string(keys["version"], "version")
    if not VERSION_TEXT.fullmatch(version):
        raise reader.error(
            keys["version"], "version must be 1-40 of letters, digits and . _ + - (like 2026.11.1)"
        )
    name = _name(reader, keys["name"], "name", POLICY_NAME)
    queues = _queues(reader, keys.get("queues"))
    review_queue = DEFAULT_REVIEW_QUEUE
    if "review_queue" in keys:
        review_queue = _name(reader, keys["review_queue"], "review_queue", QUEUE_NAME)
    if queues is not None:
        _declared(reader, keys["queues"], queues, review_queue, "review_queue")
        _declared(reader, keys["queues"], queues, CHILD_SAFETY_QUEUE, "the minors safeguard")
    rules = _rules(reader, keys["rules"], queues)
    sha = hashlib.sha256(data).hexdigest()
    return Policy(
        name=name,
        version=f"{version}@{sha[:HASH_CHARS]}",
        source=source,
        rules=rules,
        default=_default(reader, keys.get("default"), queues),
        review_queue=review_queue,
        queues=queues,
        sha256=sha,
        description=reader.string(keys["description"], "description")
        if "description" in keys
        else None,
    )


def _name(reader: NodeReader, node: Node, what: str, pattern: re.Pattern[str]) -> str:
    value = reader.string(node, what)
    if not pattern.fullmatch(value):
        raise reader.error(node, f"{what} {value!r} must match {pattern.pattern}")
    return value


def _queues(reader: NodeReader, node: Node | None) -> tuple[str, ...] | None:
    if node is None:
        return None
    names: list[str] = []
    for name, (key_node, body) in reader.mapping(node, "queues", None).items():
        if not QUEUE_NAME.fullmatch(name):
            raise reader.error(key_node, f"queue name {name!r} must match {QUEUE_NAME.pattern}")
        reader.mapping(body, f"queue {name!r}", ("description",), nullable=True)
        names.append(name)
    return tuple(names)


def _declared(
    reader: NodeReader, node: Node, queues: tuple[str, ...], queue: str, needed_by: str
) -> None:
    if queue not in queues:
        raise reader.error(node, f"queues must declare {queue!r} ({needed_by} routes items there)")


def _rules(reader: NodeReader, node: Node, queues: tuple[str, ...] | None) -> tuple[Rule, ...]:
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for item in reader.sequence(node, "rules"):
        keys = reader.mapping(item, "a rule", RULE_KEYS, ("id", "when", "then"))
        id_node = keys["id"][1]
        rule_id = _name(reader, id_node, "rule id", RULE_ID)
        if rule_id in RESERVED_IDS:
            raise reader.error(id_node, f"rule id {rule_id!r} is reserved")
        if rule_id in seen:
            raise reader.error(
                id_node, f"duplicate rule id {rule_id!r} (first at line {seen[rule_id]})"
            )
        seen[rule_id] = id_node.start_mark.line + 1
        when = keys["when"][1]
        rule = _then(reader, keys["then"][1], queues, rule_id, parse_condition(reader, when))
        if "description" in keys:
            description = reader.string(keys["description"][1], "description")
            rule = dataclasses.replace(rule, description=description)
        if rule.outcome == "remove" and not rule.condition.requires_bank_match():
            raise reader.error(when, _NOT_HASH_GROUNDED.format(rule_id=rule_id))
        rules.append(rule)
    return tuple(rules)


_NOT_HASH_GROUNDED = (
    "rule {rule_id!r} asks for remove, but its condition does not require a bank match: only "
    "a match in a known-abuse bank marked auto_action may remove content without a human "
    "(scores, context, person matches and provenance only route to review). Require a match "
    "condition (alone or under all:, and not auto_action: false), or make the outcome review"
)


def _then(
    reader: NodeReader,
    node: Node,
    queues: tuple[str, ...] | None,
    rule_id: str,
    condition: Condition,
    *,
    outcomes: tuple[str, ...] = OUTCOMES,
) -> Rule:
    keys = reader.fields(node, "then", THEN_KEYS, ("outcome",))
    outcome = reader.string(keys["outcome"], "outcome")
    if outcome not in outcomes:
        raise reader.error(
            keys["outcome"], f"outcome {outcome!r} is not one of {', '.join(outcomes)}"
        )
    for key, allowed_for in (
        ("queue", ("review", "remove")),
        ("priority", ("review", "remove")),
        ("actions", ("remove",)),
    ):
        if key in keys and outcome not in allowed_for:
            raise reader.error(
                keys[key], f"{key} is for {' and '.join(allowed_for)} outcomes, not {outcome}"
            )
    if outcome == "remove" and "actions" not in keys:
        raise reader.error(
            node, f"a remove outcome must list its actions (from {', '.join(ACTIONS)})"
        )
    return Rule(
        id=rule_id,
        condition=condition,
        outcome=cast(Outcome, outcome),
        queue=_queue(reader, keys["queue"], queues) if "queue" in keys else None,
        priority=reader.integer(keys["priority"], "priority", 0, 100)
        if "priority" in keys
        else None,
        actions=_actions(reader, keys["actions"]) if "actions" in keys else (),
        line=node.start_mark.line + 1,
    )


def _queue(reader: NodeReader, node: Node, queues: tuple[str, ...] | None) -> str:
    queue = _name(reader, node, "queue", QUEUE_NAME)
    if queues is not None and queue not in queues:
        raise reader.error(
            node, f"queue {queue!r} is not declared under queues ({', '.join(queues)})"
        )
    return queue


def _actions(reader: NodeReader, node: Node) -> tuple[str, ...]:
    actions = reader.strings(node, "actions")
    for action in actions:
        if action not in ACTIONS:
            raise reader.error(node, f"action {action!r} is not one of {', '.join(ACTIONS)}")
    return tuple(dict.fromkeys(actions))


def _default(reader: NodeReader, node: Node | None, queues: tuple[str, ...] | None) -> Rule:
    always = AllOf(())
    if node is None:
        return Rule("default", always, "allow")
    return _then(reader, node, queues, "default", always, outcomes=("allow", "review"))
