"""Every string of the console in English and Korean.

The texts live in ``console/locales/*.yaml``, one file per area of the console, each a mapping
of keys to ``{en: ..., ko: ...}``; placeholders are ``{name}`` (str.format). A key in two files,
or a text missing a language, is refused when the catalogue loads (a test loads it). Pages call
``t("key", name=...)``; the language is the signed-in user's, or, on public pages, the one the
visitor chose (a cookie), else the browser's ``Accept-Language``, else English.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

__all__ = ["LANGUAGES", "Catalog", "catalog", "pick_language"]

LANGUAGES = ("en", "ko")
LANGUAGE_NAMES = {"en": "English", "ko": "한국어"}


class Catalog:
    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        self._texts = texts

    def __contains__(self, key: object) -> bool:
        return key in self._texts

    def text(self, key: str, language: str, **values: Any) -> str:
        """The text of ``key`` in ``language`` with ``values`` filled in; an unknown key shows
        itself (so a missing text is visible, never a crash)."""
        entry = self._texts.get(key)
        if entry is None:
            return key
        template = entry.get(language) or entry["en"]
        return template.format(**values) if values else template


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load(sources: Mapping[str, str]) -> Catalog:
    """A catalogue from YAML texts by file name; ``ValueError`` names the file and key."""
    texts: dict[str, dict[str, str]] = {}
    for name, text in sorted(sources.items()):
        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{name}: a locale file maps keys to {{en, ko}}")
        for key, entry in data.items():
            if key in texts:
                raise ValueError(f"{name}: {key!r} is defined twice")
            if not isinstance(entry, dict) or set(entry) != set(LANGUAGES):
                raise ValueError(f"{name}: {key!r} needs exactly {', '.join(LANGUAGES)}")
            if not all(isinstance(v, str) and v for v in entry.values()):
                raise ValueError(f"{name}: {key!r} has an empty or non-text translation")
            if _fields(entry["en"]) != _fields(entry["ko"]):
                raise ValueError(f"{name}: {key!r} has other placeholders in en and ko")
            texts[str(key)] = {k: str(v) for k, v in entry.items()}
    return Catalog(texts)


@cache
def catalog() -> Catalog:
    """The shipped catalogue (loaded once)."""
    folder = files("jikimi.console").joinpath("locales")
    sources = {
        entry.name: entry.read_text("utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    }
    return load(sources)


def pick_language(chosen: str | None, accept_language: str | None) -> str:
    """The visitor's language: the one chosen, else the first of ours the browser asks for."""
    if chosen in LANGUAGES:
        return str(chosen)
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"
