"""The context signal: lexicon matching through obfuscation, bot extraction, lexicons as data."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conformance.extractor import TextExtractorConformance

from jikimi.errors import LexiconError, SettingsError
from jikimi.settings import Settings
from jikimi.signals.context import (
    MAX_CHARS_PER_FIELD,
    ContextExtractor,
    extract_bots,
    load,
    load_context,
)
from jikimi.signals.extractor import Finding, TextInput
from jikimi.signals.lexicon import load_lexicons, normalise, shipped_lexicon_paths
from jikimi.signals.registry import Registry


@pytest.fixture(scope="module")
def ext() -> ContextExtractor:
    return load_context()


def scan(ext: ContextExtractor, **fields: str) -> Finding:
    (finding,) = ext.extract_text([TextInput(dict(fields))])
    assert finding.status == "ok", finding.error
    return finding


def categories(finding: Finding) -> set[str]:
    return {m["category"] for m in finding.value["matches"]}


def _has(category: str) -> Any:
    def check(finding: Finding) -> None:
        assert finding.present is True
        assert category in categories(finding)

    return check


def _nothing(finding: Finding) -> None:
    assert finding.present is False
    assert finding.value["matches"] == [] and finding.value["score"] == 0


class TestContextConformance(TextExtractorConformance):
    def make(self) -> ContextExtractor:
        return load_context()

    def known(self) -> list[tuple[TextInput, Any]]:
        return [
            (TextInput({"chat_title": "서울고 능욕방"}), _has("school_room")),
            (TextInput({"caption": "d e e p f a k e"}), _has("deepfake")),
            (TextInput({"caption": "school trip photos", "chat_title": "생일 축하해"}), _nothing),
            (TextInput({"caption": "try t.me/example_undress_bot"}), _has("nudify")),
        ]


# --- every category in both languages ------------------------------------------------------

CATEGORY_CASES = {
    ("deepfake", "ko"): "딥페이크 만들어 줌",
    ("deepfake", "en"): "new deepfakes posted",
    ("humiliation_room", "ko"): "지인능욕 하실 분",
    ("humiliation_room", "en"): "join the humiliation room",
    ("acquaintance_room", "ko"): "겹지인 방 링크",
    ("acquaintance_room", "en"): "mutual acquaintance room is open",
    ("nudify", "ko"): "옷벗기기 해드림",
    ("nudify", "en"): "best undress app",
    ("face_swap", "ko"): "얼굴합성 의뢰",
    ("face_swap", "en"): "face swap requests here",
    ("minors", "ko"): "여고생 사진",
    ("minors", "en"): "underage",
    ("school_room", "ko"): "OO여고 겹지방",
    ("school_room", "en"): "Lincoln High School deepfake room",
}


def _shipped_categories() -> set[tuple[str, str]]:
    out = set()
    for path in shipped_lexicon_paths():
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if doc["kind"] == "terms":
            out |= {(name, doc["language"]) for name in doc["categories"]}
    return out


def test_every_shipped_category_has_a_case() -> None:
    shipped = _shipped_categories()
    assert shipped, "the shipped lexicons define categories"
    assert shipped == set(CATEGORY_CASES)


@pytest.mark.parametrize(("category", "language"), sorted(CATEGORY_CASES))
def test_each_category_in_each_language(
    ext: ContextExtractor, category: str, language: str
) -> None:
    finding = scan(ext, caption=CATEGORY_CASES[category, language])
    assert finding.present is True
    found = [m for m in finding.value["matches"] if m["category"] == category]
    assert found, finding.value
    assert any(m["language"] == language for m in found)
    assert all(m["field"] == "caption" for m in found)
    assert 0 < finding.value["score"] <= 1


# --- obfuscation --------------------------------------------------------------------------

FULL_WIDTH_DEEPFAKE = "".join(chr(ord(c) + 0xFEE0) for c in "DEEPFAKE")
OBFUSCATIONS = {
    "spaces": ("d e e p f a k e", "deepfake"),
    "spaced words": ("deep fake", "deepfake"),
    "dots": ("딥.페.이.크", "deepfake"),
    "symbols": ("d*e*e*p-f_a~k/e", "deepfake"),
    "emoji between": ("딥🔥페🔥이🔥크", "deepfake"),
    "zero-width": ("딥\u200b페\u200c이\u200d크\ufeff", "deepfake"),
    "zero-width latin": ("nu\u200bdi\u2060fy", "nudify"),
    "leetspeak": ("d33pfake", "deepfake"),
    "leetspeak symbols": ("und2e$$".replace("2", "r"), "nudify"),
    "mixed case": ("DeEpFaKe", "deepfake"),
    "full-width": (FULL_WIDTH_DEEPFAKE, "deepfake"),
    "combining marks": ("d\u0337e\u0337e\u0337p\u0337f\u0337a\u0337k\u0337e\u0337", "deepfake"),
    "accents": ("nüdífy", "nudify"),
    "NFD jamo": ("\u1103\u1175\u11b8\u1111\u1166\u110b\u1175\u110f\u1173", "deepfake"),
    "compatibility jamo": ("ㄷㅣㅂㅍㅔㅇㅣㅋㅡ", "deepfake"),
    "initials shorthand": ("ㅈㅇㄴㅇ방 모집", "humiliation_room"),
    "korean particle": ("딥페이크를 만들어", "deepfake"),
    "spaced korean": ("지 인 능 욕", "humiliation_room"),
    "word before suffix": ("df방 링크", "deepfake"),
}


@pytest.mark.parametrize("case", sorted(OBFUSCATIONS))
def test_obfuscations_match(ext: ContextExtractor, case: str) -> None:
    text, category = OBFUSCATIONS[case]
    finding = scan(ext, caption=text)
    assert category in categories(finding), (text, normalise(text).text)


def test_match_reports_the_original_text_and_the_lexicon_term(ext: ContextExtractor) -> None:
    finding = scan(ext, chat_title="새 방: 딥.페.이.크 모음", username="someone")
    (match,) = finding.value["matches"]
    assert match == {
        "category": "deepfake",
        "term": "딥페이크",
        "field": "chat_title",
        "text": "딥.페.이.크",
        "language": "ko",
    }


def test_snippet_is_bounded(ext: ContextExtractor) -> None:
    text = "d" + " " * 30 + "e e p" + "." * 200 + "fake"
    finding = scan(ext, caption=text)
    assert finding.value["matches"]
    assert all(len(m["text"]) <= 80 for m in finding.value["matches"])


@pytest.mark.parametrize(
    "text",
    [
        "school trip photos",
        "생일 축하해",
        "수학여행 사진 올려요",
        "fun dress shopping",  # "undress" only across a word start
        "send me the pdf file",  # "df" only as a whole word
        "1000 photos from 5월",  # digits away from letters stay digits
        "class photo day, room 204",
        "오늘 저녁 뭐 먹지?",
    ],
)
def test_benign_text_finds_nothing(ext: ContextExtractor, text: str) -> None:
    _nothing(scan(ext, caption=text, chat_title=text, username="alice"))


def test_contained_match_of_the_same_category_is_not_repeated(ext: ContextExtractor) -> None:
    finding = scan(ext, caption="지인능욕")
    assert [m["term"] for m in finding.value["matches"]] == ["지인능욕"]


def test_score_combines_distinct_categories(ext: ContextExtractor) -> None:
    one = scan(ext, caption="deepfake").value["score"]
    assert one == pytest.approx(0.5)
    two = scan(ext, caption="deepfake face swap").value["score"]
    assert two == pytest.approx(1 - 0.5 * 0.6)
    same = scan(ext, caption="deepfake", chat_title="딥페이크").value["score"]
    assert same == pytest.approx(0.5)


def test_normalised_spans_point_into_the_original() -> None:
    full = "".join(chr(ord(c) + 0xFEE0) for c in "DEEP")
    original = f"ab {full[:2]}\u200b{full[2:]}"
    norm = normalise(original)
    assert norm.text == "ab deep"
    start = norm.text.index("deep")
    a, b = norm.original_span(start, start + 4)
    assert norm.original[a:b] == original[3:]


# --- bots ----------------------------------------------------------------------------------

BOT_FORMS = {
    "t.me": "see t.me/Example_Undress_Bot",
    "https t.me": "https://t.me/example_undress_bot?start=abc",
    "telegram.me": "http://telegram.me/example_undress_bot",
    "t.me/s": "https://t.me/s/example_undress_bot",
    "tg resolve": "tg://resolve?domain=example_undress_bot",
    "tg resolve later arg": "tg://resolve?start=x&domain=EXAMPLE_UNDRESS_BOT",
    "mention": "ask @example_undress_bot now",
    "mention in korean": "봇은@example_undress_bot 입니다",
    "bare username": "example_undress_bot",
}


@pytest.mark.parametrize("form", sorted(BOT_FORMS))
def test_bot_links_in_every_form(ext: ContextExtractor, form: str) -> None:
    finding = scan(ext, text=BOT_FORMS[form])
    assert finding.value["bots"] == [
        {"name": "example_undress_bot", "field": "text", "known": True, "category": "nudify"}
    ]
    assert finding.present is True
    assert "known_bot" in finding.value["categories"]


def test_unknown_bots_are_reported_but_do_not_score(ext: ContextExtractor) -> None:
    finding = scan(ext, caption="hello @weather_helper_bot", username="t.me/another_bot")
    assert finding.value["bots"] == [
        {"name": "weather_helper_bot", "field": "caption", "known": False},
        {"name": "another_bot", "field": "username", "known": False},
    ]
    assert finding.present is False
    assert finding.value["score"] == 0


@pytest.mark.parametrize(
    "text",
    [
        "mail me at user@somebot.com",
        "robot vacuum",
        "@abot",  # too short for a Telegram username
        "t.me/some_channel",  # a channel, not a bot
        "chat.me/example_undress_bot",
        "@example_undress_botany",
    ],
)
def test_not_bot_references(text: str) -> None:
    assert extract_bots(text) == []


def test_shipped_bots_are_placeholders_only() -> None:
    lexicons = load_lexicons(shipped_lexicon_paths())
    assert lexicons.bots
    assert all(name.startswith("example_") for name in lexicons.bots)


# --- extra lexicons ------------------------------------------------------------------------

EXTRA_TERMS = """\
version: 1
kind: terms
language: ja
categories:
  deepfake:
    weight: 0.6
    terms: [ディープフェイク]
  sextortion:
    weight: 0.9
    words: [sxt]
"""

EXTRA_BOTS = """\
version: 1
kind: bots
weight: 0.95
bots:
  - name: "@Casefile_Swap_Bot"
    category: face_swap
    note: case 2024-17
"""


def test_extra_lexicon_dir_is_merged(tmp_path: Path) -> None:
    (tmp_path / "ja.yaml").write_text(EXTRA_TERMS, encoding="utf-8")
    (tmp_path / "ops_bots.yaml").write_text(EXTRA_BOTS, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a lexicon", encoding="utf-8")
    settings = Settings(home=tmp_path, context_lexicon_dir=tmp_path)
    ext = load(settings)
    finding = scan(ext, caption="ディープフェイク sxt 딥페이크", username="casefile_swap_bot")
    found = {(m["category"], m["language"]) for m in finding.value["matches"]}
    assert found == {("deepfake", "ja"), ("sextortion", "ja"), ("deepfake", "ko")}
    assert finding.value["bots"] == [
        {"name": "casefile_swap_bot", "field": "username", "known": True, "category": "face_swap"}
    ]
    # shipped bots are still known
    assert scan(ext, caption="@example_faceswap_bot").present is True
    expected = 1 - (1 - 0.6) * (1 - 0.9) * (1 - 0.95)
    assert finding.value["score"] == pytest.approx(expected, abs=1e-4)


def test_registry_loads_the_extractor(tmp_path: Path) -> None:
    registry = Registry()
    registry.add("context", load, Settings(home=tmp_path))
    assert registry.text_extractors()[0].name == "context"


def test_missing_extra_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="context_lexicon_dir"):
        load(Settings(home=tmp_path, context_lexicon_dir=tmp_path / "nope"))


# --- validation ----------------------------------------------------------------------------

GOOD_HEAD = "version: 1\nkind: terms\nlanguage: en\ncategories:\n  deepfake:\n    weight: 0.5\n"


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (GOOD_HEAD + "    terms: [deepfake]\n    wieght: 0.4\n", 8, "unknown key 'wieght'"),
        (GOOD_HEAD + "    patterns:\n      - 'deep(fake'\n", 8, "bad regex"),
        (GOOD_HEAD + "    patterns:\n      - '(?:ab{1,3}){1,5}'\n", 8, "nests a repeat"),
        (GOOD_HEAD + "    patterns: ['x[a-z]+']\n", 7, "unbounded repeat"),
        (GOOD_HEAD + "    patterns: ['(a)\\1']\n", 7, "backreference"),
        (GOOD_HEAD + "    patterns: ['a?']\n", 7, "matches empty text"),
        (GOOD_HEAD + "    terms: ['d']\n", 7, "under 2 letters"),
        (GOOD_HEAD.replace("0.5", "1.5") + "    terms: [x1]\n", 6, "weight must be in"),
        (GOOD_HEAD + "    terms: deepfake\n", 7, "must be a list"),
        (GOOD_HEAD + "    terms: [deepfake]\nextra: 1\n", 8, "unknown key 'extra'"),
        (GOOD_HEAD.replace("version: 1", "version: 2") + "    terms: [x1]\n", 1, "version"),
        (GOOD_HEAD.replace("terms\n", "rules\n", 1) + "    terms: [x1]\n", 2, "kind must be"),
        (GOOD_HEAD.replace("language: en", "language: English"), 3, "language must be"),
        (GOOD_HEAD + "    terms: [deepfake\n", 8, "not valid YAML"),
        (GOOD_HEAD, 5, "has no terms"),
        (
            "version: 1\nkind: bots\nweight: 0.9\nbots:\n  - name: example_undress_bot\n"
            "  - name: not-a-bot\n",
            6,
            "not a Telegram bot username",
        ),
        (
            "version: 1\nkind: bots\nweight: 0.9\nbots:\n  - name: example_undress_bot\n"
            "    url: https://example.org\n",
            6,
            "unknown key 'url'",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_validation_errors_name_file_and_line(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(LexiconError) as info:
        load_lexicons([path])
    err = info.value
    assert isinstance(err, SettingsError)
    assert (err.path, err.line) == (str(path), line), str(err)
    assert str(err).startswith(f"{path}:{line}: ")
    assert message in str(err)


def test_bad_extra_lexicon_stops_loading(tmp_path: Path) -> None:
    (tmp_path / "ops.yaml").write_text(GOOD_HEAD + "    trems: [x1]\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"ops\.yaml:7: unknown key 'trems'"):
        load(Settings(home=tmp_path, context_lexicon_dir=tmp_path))


# --- hostile text --------------------------------------------------------------------------


def test_hostile_fields_are_bounded_and_reported(ext: ContextExtractor) -> None:
    fields: dict[str, Any] = {
        "caption": "😀\u200d" * 500_000 + "deepfake",
        "chat_title": "\ud800딥페이크\udfff",
        "username": None,
        "text": 12345,
    }
    (finding,) = ext.extract_text([TextInput(fields)])
    assert finding.status == "ok"
    assert finding.value["truncated"] == {"fields": ["caption"], "max_chars": MAX_CHARS_PER_FIELD}
    assert finding.value["ignored_fields"] == ["text"]
    assert categories(finding) == {"deepfake"}  # the chat title; the caption's tail is cut
    json.dumps(finding.as_dict(), ensure_ascii=False).encode("utf-8")


ADVERSARIAL = {
    "hangul run": "가" * 1_000_000,
    "almost a school room": "서울고 " * 250_000,
    "word-start traps": "fun dress " * 100_000,
    "spaced near-miss": "d e e p f a k " * 70_000,
    "jamo": "ㄷㅣ" * 500_000,
    "emoji and joiners": "😀\u200d" * 500_000,
    "bot link prefixes": "tg://resolve?" * 80_000,
    "bot mentions": "@a_bot" * 170_000,
}


@pytest.mark.parametrize("case", sorted(ADVERSARIAL))
def test_no_catastrophic_backtracking_on_a_megabyte(case: str) -> None:
    uncapped = load_context(max_chars=2_000_000)  # the matcher itself, without the field cap
    start = time.perf_counter()
    (finding,) = uncapped.extract_text([TextInput({"caption": ADVERSARIAL[case]})])
    assert finding.status == "ok"
    assert time.perf_counter() - start < 20  # linear is ~2 s; backtracking would be hours


def test_megabyte_fields_are_fast_with_the_default_cap(ext: ContextExtractor) -> None:
    start = time.perf_counter()
    ext.extract_text([TextInput({k: v for k, v in ADVERSARIAL.items()})])
    assert time.perf_counter() - start < 10
