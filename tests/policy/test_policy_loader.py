"""Loading policy files: every mistake is refused at load with the file, the line and a fix."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from jikimi.errors import PolicyError, SettingsError
from jikimi.policy.nodes import MAX_DEPTH, MAX_POLICY_BYTES
from jikimi.policy.rules import ACTIONS, load_policy, parse_policy, parse_policy_bytes

HEAD = 'version: "1"\nname: t\n'


def parse(text: str) -> object:
    return parse_policy(textwrap.dedent(text), "p.yaml")


def refused(text: str, line: int, *fragments: str) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        parse(text)
    err = info.value
    assert (err.path, err.line) == ("p.yaml", line), str(err)
    assert str(err).startswith(f"p.yaml:{line}: ")
    for fragment in fragments:
        assert fragment in str(err)
    return err


def rule(when: str, then: str = "{outcome: review}") -> str:
    return f"{HEAD}rules:\n  - id: r\n    when: {when}\n    then: {then}\n"


def test_a_minimal_policy_loads() -> None:
    policy = parse(HEAD + "rules: []\n")
    assert policy.name == "t"
    assert policy.rules == ()
    assert policy.default.outcome == "allow"
    assert policy.source == "p.yaml"


def test_policy_error_is_a_settings_error() -> None:
    assert issubclass(PolicyError, SettingsError)


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        (HEAD + "rules: []\nrulez: []\n", 4, "'rulez'"),
        (
            HEAD + "rules:\n  - id: r\n    when: {match: {}}\n    then: {outcome: review}\n"
            "    enabled: true\n",
            7,
            "'enabled'",
        ),
        (rule("{match: {}}", "{outcome: review, queeu: x}"), 6, "'queeu'"),
        (rule("{matches: {}}"), 5, "'matches'"),
        (rule("{match: {max_distanse: 3}}"), 5, "'max_distanse'"),
        (rule("{person_match: {name: Jane}}"), 5, "'name'"),
        (rule("{score: {signal: nudity, min: 0.5, above: 1}}"), 5, "'above'"),
        (rule("{context: {category: [deepfake]}}"), 5, "'category'"),
        (rule("{provenance: {c2pa: true}}"), 5, "'c2pa'"),
        (rule("{finding: {signal: nudity, state: ok}}"), 5, "'state'"),
        (rule("{all: [{match: {bank_knd: known-abuse}}]}"), 5, "'bank_knd'"),
        (HEAD + "queues:\n  review:\n    colour: red\n  child_safety:\nrules: []\n", 5, "'colour'"),
        (HEAD + "rules: []\ndefault: {outcome: allow, why: x}\n", 4, "'why'"),
    ],
)
def test_unknown_keys_are_refused_at_every_level(text: str, line: int, key: str) -> None:
    refused(text, line, "unknown key", key)


def test_unknown_key_suggests_the_closest() -> None:
    refused(rule("{match: {max_distanse: 3}}"), 5, "did you mean 'max_distance'?")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("version: 1\nname: t\nrules: []\n", 1, "version must be a non-empty text (quote it)"),
        ('version: "1"\nname: [t]\nrules: []\n', 2, "name must be a non-empty text"),
        (HEAD + "rules: {}\n", 3, "rules must be a list"),
        (HEAD + "rules: [x]\n", 3, "a rule must be a mapping"),
        (rule("{match: {max_distance: near}}"), 5, "max_distance must be a number"),
        (rule("{match: {max_distance: -1}}"), 5, "max_distance must be at least 0"),
        (rule("{match: {max_distance: .nan}}"), 5, "max_distance must be at least 0"),
        (rule("{match: {auto_action: 1}}"), 5, "auto_action must be true or false"),
        (rule("{match: {bank: 2024}}"), 5, "bank must be a non-empty text (quote it)"),
        (rule("{match: {bank: []}}"), 5, "bank must not be an empty list"),
        (rule("{match: {bank_kind: abuse}}"), 5, "bank_kind 'abuse' is not one of"),
        (rule("{match: {bank_kind: protected-person}}"), 5, "use person_match"),
        (rule("{match: {signal_type: phash}}"), 5, "signal_type 'phash' is not one of"),
        (rule("{score: {signal: nudity, min: 1.5}}"), 5, "min must be from 0 to 1"),
        (rule("{score: {signal: nudity, min: 0.8, max: 0.2}}"), 5, "max 0.2 is below min 0.8"),
        (rule("{score: {signal: nudity}}"), 5, "score needs min, max or both"),
        (rule("{score: {signal: nudeness, min: 0.5}}"), 5, "signal 'nudeness' is not one of"),
        (rule("{score: {signal: faces, min: 0.5}}"), 5, "signal 'faces' is not one of"),
        (rule("{score: {min: 0.5}}"), 5, "lacks required key 'signal'"),
        (rule("{context: {}}"), 5, "context needs at least one of"),
        (rule("{context: {known_bot: false}}"), 5, "false is meaningless"),
        (rule("{context: {categories: [Deep Fake]}}"), 5, "must be snake_case"),
        (rule("{context: {min_score: 2}}"), 5, "min_score must be from 0 to 1"),
        (rule("{provenance: {}}"), 5, "provenance needs at least one of"),
        (rule("{provenance: {watermark: sd9}}"), 5, "watermark 'sd9' is not one of"),
        (rule("{provenance: {generator: photoshop}}"), 5, "generator 'photoshop' is not one of"),
        (rule("{provenance: {synthetic_min: -0.1}}"), 5, "synthetic_min must be from 0 to 1"),
        (rule("{finding: {signal: nudity, status: broken}}"), 5, "status 'broken' is not one of"),
        (rule("{finding: {signal: nudity}}"), 5, "finding needs status, present or both"),
        (rule("{all: []}"), 5, "all needs at least one condition"),
        (rule("{any: {match: {}}}"), 5, "any must be a list"),
        (rule("{match: {}, score: {signal: nudity, min: 0.5}}"), 5, "exactly one kind, not 2"),
        (rule("{}"), 5, "exactly one kind, not 0"),
        (rule("{match: {}}", "{outcome: delete}"), 6, "outcome 'delete' is not one of"),
        (rule("{match: {}}", "{outcome: review, priority: 101}"), 6, "priority must be from 0"),
        (rule("{match: {}}", "{outcome: review, priority: 5.5}"), 6, "must be a whole number"),
        (rule("{match: {}}", "{outcome: allow, queue: review}"), 6, "queue is for review"),
        (rule("{match: {}}", "{outcome: review, actions: [notify]}"), 6, "actions is for remove"),
        (rule("{match: {}}", "{outcome: review, queue: Big Queue}"), 6, "queue 'Big Queue'"),
        (rule("{match: {}}", "{outcome: remove}"), 6, "must list its actions"),
        (
            HEAD + "rules:\n  - when: {match: {}}\n    then: {outcome: review}\n",
            4,
            "lacks required key 'id'",
        ),
        (
            HEAD + "rules:\n  - id: Bad_Id\n    when: {match: {}}\n    then: {outcome: review}\n",
            4,
            "rule id 'Bad_Id' must match",
        ),
        (
            HEAD + "rules:\n  - id: default\n    when: {match: {}}\n    then: {outcome: review}\n",
            4,
            "reserved",
        ),
        (
            HEAD + "rules: []\ndefault: {outcome: remove, actions: [notify]}\n",
            4,
            "outcome 'remove' is not one of allow, review",
        ),
        ('version: "1"\nrules: []\n', 1, "lacks required key 'name'"),
        ('version: "not ok!"\nname: t\nrules: []\n', 1, "version must be 1-40"),
    ],
)
def test_wrong_types_and_values_are_refused(text: str, line: int, fragment: str) -> None:
    refused(text, line, fragment)


def test_unknown_action_is_refused_and_every_action_is_accepted() -> None:
    refused(rule("{match: {}}", "{outcome: remove, actions: [nuke]}"), 6, "action 'nuke'")
    actions = ", ".join(ACTIONS)
    policy = parse(rule("{match: {}}", f"{{outcome: remove, actions: [{actions}]}}"))
    assert policy.rules[0].actions == ACTIONS


def test_undeclared_queue_is_refused_when_queues_are_declared() -> None:
    queues = "queues: {review: {}, child_safety: {}, adult_ncii: {}}\n"
    text = HEAD + queues + "rules:\n  - id: r\n    when: {match: {}}\n"
    refused(
        text + "    then: {outcome: review, queue: adult}\n", 7, "queue 'adult' is not declared"
    )
    assert parse(text + "    then: {outcome: review, queue: adult_ncii}\n").queues == (
        "review",
        "child_safety",
        "adult_ncii",
    )
    # Without declared queues any well-formed queue name is accepted.
    assert parse(rule("{match: {}}", "{outcome: review, queue: adult}")).rules[0].queue == "adult"


def test_declared_queues_must_include_the_safeguard_and_review_queues() -> None:
    refused(HEAD + "queues: {review: {}}\nrules: []\n", 3, "'child_safety'", "minors safeguard")
    refused(
        HEAD + "queues: {child_safety: {}}\nreview_queue: triage\nrules: []\n",
        3,
        "'triage'",
    )


def test_duplicate_rule_ids_name_both_lines() -> None:
    text = HEAD + "rules:\n"
    text += "  - id: same\n    when: {match: {}}\n    then: {outcome: review}\n" * 2
    refused(text, 7, "duplicate rule id 'same' (first at line 4)")


def test_duplicate_keys_are_refused() -> None:
    refused(HEAD + "rules: []\nname: u\n", 4, "duplicate key 'name'")


@pytest.mark.parametrize(
    "when",
    [
        "{score: {signal: nudity, min: 0.99}}",
        "{person_match: {}}",
        "{context: {known_bot: true}}",
        "{provenance: {c2pa_ai: true}}",
        "{any: [{match: {}}, {score: {signal: nudity, min: 0.9}}]}",
        "{not: {match: {bank_kind: known-benign}}}",
        "{match: {bank_kind: known-benign}}",
        "{match: {auto_action: false}}",
        "{all: [{person_match: {}}, {score: {signal: nudity, min: 0.9}}]}",
    ],
)
def test_remove_without_a_required_bank_match_is_refused(when: str) -> None:
    err = refused(rule(when, "{outcome: remove, actions: [delete_message]}"), 5, "'r' asks for")
    assert "only a match in a known-abuse bank marked auto_action" in str(err)


@pytest.mark.parametrize(
    "when",
    [
        "{match: {}}",
        "{match: {bank: ncii, auto_action: true}}",
        "{all: [{match: {bank_kind: known-abuse}}, {score: {signal: nudity, min: 0.5}}]}",
        "{any: [{match: {bank: a}}, {match: {bank: b}}]}",
        "{all: [{not: {person_match: {}}}, {match: {signal_type: [pdq, sha256]}}]}",
    ],
)
def test_remove_with_a_required_bank_match_loads(when: str) -> None:
    policy = parse(rule(when, "{outcome: remove, actions: [delete_message]}"))
    assert policy.rules[0].outcome == "remove"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (HEAD + "rules: [\n", 4),
        (HEAD + "rules:\n  - id: r\n   when: x\n", 5),
        (HEAD + "rules: []\n\tdefault: {}\n", 4),
        ("version: '1'\nname: t\nrules: []\n---\nname: u\n", 4),
    ],
)
def test_malformed_yaml_names_the_line(text: str, line: int) -> None:
    refused(text, line, "not valid YAML")


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "~\n", "---\n"])
def test_empty_file_is_refused(text: str) -> None:
    refused(text, 1, "empty policy file")


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    refused("- a\n- b\n", 1, "the policy must be a mapping")


def test_aliases_are_refused() -> None:
    text = HEAD + "rules:\n  - id: r\n    when: &c {match: {}}\n    then: {outcome: review}\n"
    text += "  - id: s\n    when: *c\n    then: {outcome: review}\n"
    refused(text, 8, "aliases")


def test_billion_laughs_is_refused_quickly() -> None:
    lol = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, 10):
        prev = chr(ord("a") + i - 1)
        name = chr(ord("a") + i)
        lol += f"{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
    refused(lol, 2, "aliases")


def test_deep_nesting_is_refused_with_a_clear_error() -> None:
    deep = "{not: " * 10_000 + "{match: {}}" + "}" * 10_000
    err = refused(rule(deep), 5, f"nested deeper than {MAX_DEPTH} levels")
    assert len(str(err)) < 300
    # Just under the limit still loads: 13 nested `not`s are 30 levels of YAML.
    ok = "{not: " * 13 + "{match: {}}" + "}" * 13
    assert parse(rule(ok)).rules[0].id == "r"


def test_huge_file_is_refused(tmp_path: Path) -> None:
    big = HEAD + "rules: []\n" + "# padding\n" * (MAX_POLICY_BYTES // 10 + 1)
    refused(big, 1, f"the limit is {MAX_POLICY_BYTES} bytes")
    path = tmp_path / "big.yaml"
    path.write_text(big)
    with pytest.raises(PolicyError, match=r"big\.yaml:1: policy file is over 1000000 bytes"):
        load_policy(path)


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        load_policy(tmp_path / "missing.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(HEAD.encode() + b"description: caf\xe9\nrules: []\n")
    with pytest.raises(PolicyError, match=r"latin1\.yaml:3: policy file is not UTF-8"):
        load_policy(bad)


def test_errors_from_a_file_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(rule("{match: {max_distance: -3}}"))
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.path == str(path)
    assert info.value.line == 5
    assert str(info.value).startswith(f"{path}:5: ")


def test_version_is_the_file_version_and_a_content_hash(tmp_path: Path) -> None:
    text = HEAD + "rules: []\n"
    a = parse_policy(text, "a")
    assert a.version.startswith("1@")
    digest = a.version.split("@")[1]
    assert len(digest) == 12 and int(digest, 16) >= 0
    # Same bytes, same version, whatever the source; any change, another version.
    assert parse_policy(text, "b").version == a.version
    assert parse_policy(text + "# a comment\n", "a").version != a.version
    path = tmp_path / "p.yaml"
    path.write_bytes(text.encode())
    assert load_policy(path).version == a.version
    assert parse_policy_bytes(text.encode(), "c").version == a.version


def test_queue_entries_may_be_empty_or_described() -> None:
    text = HEAD + "queues:\n  review:\n  child_safety: {description: CSAM}\nrules: []\n"
    assert parse(text).queues == ("review", "child_safety")


def test_default_may_be_review_with_its_queue() -> None:
    policy = parse(HEAD + "rules: []\ndefault: {outcome: review, queue: triage, priority: 5}\n")
    assert (policy.default.outcome, policy.default.queue, policy.default.priority) == (
        "review",
        "triage",
        5,
    )


def test_empty_match_and_person_match_conditions_load() -> None:
    for when in ("{match: {}}", "{match: }", "{person_match: {}}", "{person_match: }"):
        assert parse(rule(when)).rules[0].id == "r"
