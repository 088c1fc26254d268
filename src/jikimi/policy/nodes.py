"""Reading a policy file as YAML nodes, which keep their line numbers, with hostile-input limits.

The approach is the lexicon loader's (:mod:`jikimi.signals.lexicon`): compose the document to
nodes rather than Python values, so every error can name the file and line of the offending
node (Osprey's rules-as-data habit). Before composing, the event stream is read once, without
recursion, to refuse what a policy never needs and an attacker would use: files over
:data:`MAX_POLICY_BYTES`, nesting deeper than :data:`MAX_DEPTH` (PyYAML's composer recurses),
more than :data:`MAX_EVENTS` events, and aliases (``*name``; "billion laughs" expansion).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from jikimi.errors import PolicyError

MAX_POLICY_BYTES = 1_000_000
MAX_DEPTH = 32
MAX_EVENTS = 200_000

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"

_OPENING = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def line_of(node: Node | None) -> int:
    """1-based line of ``node`` (1 when there is none)."""
    return node.start_mark.line + 1 if node is not None else 1


def compose(text: str, source: str) -> Node | None:
    """``text`` as one YAML node tree, or ``None`` for an empty document; every problem is a
    :class:`PolicyError` naming ``source`` and the line."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_POLICY_BYTES:
        raise PolicyError(
            source, 1, f"policy file is {size} bytes; the limit is {MAX_POLICY_BYTES} bytes"
        )
    try:
        _check_events(text, source)
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise PolicyError(source, line, f"not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(source, 1, f"not valid YAML: {exc}") from None


def _check_events(text: str, source: str) -> None:
    depth = 0
    for events, event in enumerate(yaml.parse(text, Loader=yaml.SafeLoader), start=1):
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        if events > MAX_EVENTS:
            raise PolicyError(source, line, f"policy has over {MAX_EVENTS} YAML nodes")
        if isinstance(event, yaml.AliasEvent):
            raise PolicyError(
                source, line, "aliases (*name) are not allowed in a policy; write the value out"
            )
        if isinstance(event, _OPENING):
            depth += 1
            if depth > MAX_DEPTH:
                raise PolicyError(
                    source, line, f"nested deeper than {MAX_DEPTH} levels; flatten the conditions"
                )
        elif isinstance(event, _CLOSING):
            depth -= 1


class NodeReader:
    """Typed, checked access to the nodes of one file; each failure is a :class:`PolicyError`
    at the node's line whose message says what was expected."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._constructor = SafeConstructor()

    def error(self, node: Node | None, message: str) -> PolicyError:
        return PolicyError(self.source, line_of(node), message)

    def mapping(
        self,
        node: Node,
        what: str,
        allowed: Collection[str] | None,
        required: Collection[str] = (),
        *,
        nullable: bool = False,
    ) -> dict[str, tuple[Node, Node]]:
        """``node`` as ``{key: (key node, value node)}``; unknown, duplicate and missing keys
        are errors (an unknown key suggests the closest allowed one; ``allowed`` ``None``
        allows any key). With ``nullable`` an empty value (``key:`` alone) reads as an empty
        mapping."""
        if nullable and isinstance(node, ScalarNode) and node.tag == NULL:
            node = MappingNode("tag:yaml.org,2002:map", [], node.start_mark, node.end_mark)
        if not isinstance(node, MappingNode):
            raise self.error(node, f"{what} must be a mapping")
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value in node.value:
            key = self.string(key_node, "a key")
            if key in out:
                raise self.error(key_node, f"duplicate key {key!r} in {what}")
            if allowed is not None and key not in allowed:
                raise self.error(key_node, _unknown(key, what, allowed))
            out[key] = (key_node, value)
        for key in sorted(set(required) - out.keys()):
            raise self.error(node, f"{what} lacks required key {key!r}")
        return out

    def fields(
        self,
        node: Node,
        what: str,
        allowed: Collection[str],
        required: Collection[str] = (),
        *,
        nullable: bool = False,
    ) -> dict[str, Node]:
        """:meth:`mapping` as ``{key: value node}``."""
        found = self.mapping(node, what, allowed, required, nullable=nullable)
        return {key: value for key, (_, value) in found.items()}

    def string(self, node: Node, what: str) -> str:
        if not isinstance(node, ScalarNode) or node.tag != STR or not node.value:
            hint = " (quote it)" if isinstance(node, ScalarNode) and node.tag != STR else ""
            raise self.error(node, f"{what} must be a non-empty text{hint}")
        return str(node.value)

    def strings(self, node: Node, what: str) -> tuple[str, ...]:
        """One text or a non-empty list of texts."""
        if isinstance(node, SequenceNode):
            if not node.value:
                raise self.error(node, f"{what} must not be an empty list")
            return tuple(self.string(item, f"each of {what}") for item in node.value)
        return (self.string(node, what),)

    def boolean(self, node: Node, what: str) -> bool:
        if not isinstance(node, ScalarNode) or node.tag != BOOL:
            raise self.error(node, f"{what} must be true or false")
        return bool(self._value(node))

    def true(self, node: Node, what: str) -> bool:
        """A flag that may only be ``true``: ``false`` would mean nothing, so it is refused."""
        if not self.boolean(node, what):
            raise self.error(node, f"{what}: false is meaningless here; leave the key out")
        return True

    def number(self, node: Node, what: str, low: float, high: float | None = None) -> float:
        if not isinstance(node, ScalarNode) or node.tag not in (INT, FLOAT):
            raise self.error(node, f"{what} must be a number")
        value = float(self._value(node))
        top = math.inf if high is None else high
        if not math.isfinite(value) or not low <= value <= top:
            where = f"at least {low:g}" if high is None else f"from {low:g} to {high:g}"
            raise self.error(node, f"{what} must be {where}, not {node.value}")
        return value

    def integer(self, node: Node, what: str, low: int, high: int) -> int:
        if not isinstance(node, ScalarNode) or node.tag != INT:
            raise self.error(node, f"{what} must be a whole number")
        value = int(self._value(node))
        if not low <= value <= high:
            raise self.error(node, f"{what} must be from {low} to {high}, not {value}")
        return value

    def sequence(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.error(node, f"{what} must be a list")
        return list(node.value)

    def _value(self, node: ScalarNode) -> Any:
        try:
            return self._constructor.construct_object(node)
        except (ConstructorError, ValueError) as exc:
            raise self.error(node, f"cannot read {node.value!r}: {exc}") from None


def _unknown(key: str, what: str, allowed: Collection[str]) -> str:
    message = f"unknown key {key!r} in {what}"
    close = difflib.get_close_matches(key, list(allowed), n=1)
    if close:
        message += f" (did you mean {close[0]!r}?)"
    return message + f"; allowed: {', '.join(sorted(allowed)) or 'none'}"
