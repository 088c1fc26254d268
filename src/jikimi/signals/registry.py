"""The extractor registry: built-in extractors and plugins, found the same way.

Every extractor, ours included, is declared as an entry point in the group
``jikimi.extractors`` whose object is a factory ``(Settings) -> Extractor``. The registry is
built on demand by :func:`load_registry` (never at import time, after datasette's plugin
habit). A factory that raises :class:`~jikimi.errors.ExtractorUnavailable` or ``ImportError``
leaves that extractor disabled with a message that says what to install; the rest still run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points

from jikimi.errors import ExtractorUnavailable, UnknownSignalType
from jikimi.settings import Settings
from jikimi.signals.extractor import Extractor, MediaExtractor, ModelInfo, TextExtractor

ENTRY_POINT_GROUP = "jikimi.extractors"

Factory = Callable[[Settings], Extractor]


@dataclass(frozen=True, slots=True)
class Disabled:
    """An extractor that could not be loaded, and why."""

    name: str
    reason: str


@dataclass
class Registry:
    """The loaded extractors by name, and the ones that are disabled."""

    extractors: dict[str, Extractor] = field(default_factory=dict)
    disabled: dict[str, Disabled] = field(default_factory=dict)

    def add(self, name: str, factory: Factory, settings: Settings) -> None:
        try:
            extractor = factory(settings)
        except (ExtractorUnavailable, ImportError) as exc:
            self.disabled[name] = Disabled(name, str(exc) or type(exc).__name__)
            return
        if extractor.name != name:
            raise ValueError(f"extractor registered as {name!r} calls itself {extractor.name!r}")
        if not isinstance(extractor, MediaExtractor | TextExtractor):
            raise TypeError(f"extractor {name!r} does not follow the extractor protocol")
        self.extractors[name] = extractor

    def get(self, name: str) -> Extractor:
        if name in self.extractors:
            return self.extractors[name]
        if name in self.disabled:
            raise ExtractorUnavailable(f"signal {name!r} is disabled: {self.disabled[name].reason}")
        known = ", ".join(sorted(self.names()))
        raise UnknownSignalType(f"unknown signal {name!r}; known: {known}")

    def names(self) -> list[str]:
        return sorted({*self.extractors, *self.disabled})

    def media_extractors(self) -> list[MediaExtractor]:
        return [e for e in self.extractors.values() if isinstance(e, MediaExtractor)]

    def text_extractors(self) -> list[TextExtractor]:
        return [e for e in self.extractors.values() if isinstance(e, TextExtractor)]

    def models(self) -> list[ModelInfo]:
        return [m for e in self.extractors.values() for m in e.models()]


def discovered_factories() -> Iterable[tuple[str, Factory]]:
    """(name, factory) for every entry point in the group; a broken one yields a factory that
    reports why it cannot load."""
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        yield ep.name, _loader(ep)


def _loader(ep: EntryPoint) -> Factory:
    def factory(settings: Settings) -> Extractor:
        try:
            make = ep.load()
        except ImportError as exc:
            missing = getattr(exc, "name", None) or str(exc)
            raise ExtractorUnavailable(
                f"{ep.name}: cannot import {missing}; install it (pip install 'jikimi[all]')"
            ) from exc
        return make(settings)

    return factory


def load_registry(settings: Settings, extra: Iterable[tuple[str, Factory]] = ()) -> Registry:
    """Every discovered extractor, plus ``extra`` (tests, embedders), loaded with ``settings``.
    Names in ``settings.disabled_signals`` are left out with that reason."""
    registry = Registry()
    for name, factory in [*discovered_factories(), *extra]:
        if name in settings.disabled_signals:
            registry.disabled[name] = Disabled(name, "disabled in settings (disabled_signals)")
            continue
        registry.add(name, factory, settings)
    return registry
