"""Conformance base class for hashers (STYLE.md: one base test class per protocol).

A hasher's tests subclass :class:`HasherConformance` and supply the hasher and its known
answers; every test below then runs against it. Known answers come from the shared reference
data (``tests.support.testdata``), produced by Meta's reference implementations, not by us.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from jikimi.signals.base import hamming_hex, signal_format, validate_value


@dataclass(frozen=True)
class KnownAnswer:
    """A file and the value the reference gives it (``None``: no usable hash, e.g. quality
    below the threshold); ``max_distance`` 0 means bit for bit."""

    path: Path
    value: str | None
    max_distance: int = 0


class HasherConformance:
    """Tests every hasher must pass. Subclasses set ``signal_type`` and implement
    :meth:`make_hasher` and :meth:`known_answers`; override :meth:`hash_value` when the hasher's
    own entry point is not ``hash_file(path) -> str | None``, :meth:`distance` for values that
    are not a single hex hash."""

    signal_type: ClassVar[str]

    def make_hasher(self) -> Any:
        raise NotImplementedError

    def known_answers(self) -> list[KnownAnswer]:
        raise NotImplementedError

    def hash_value(self, hasher: Any, path: Path) -> str | None:
        value: str | None = hasher.hash_file(path)
        return value

    def distance(self, a: str, b: str) -> int:
        return hamming_hex(a, b)

    def test_name_is_the_signal_type(self) -> None:
        hasher = self.make_hasher()
        assert hasher.name == self.signal_type
        assert signal_format(hasher.name).name == self.signal_type

    def test_media_are_those_of_the_signal_type(self) -> None:
        hasher = self.make_hasher()
        assert hasher.media
        assert set(hasher.media) <= set(signal_format(self.signal_type).media)

    def test_known_answers_exist(self) -> None:
        answers = self.known_answers()
        assert answers, "no known answers: the conformance data was filtered to nothing"
        assert any(a.value is not None for a in answers)

    def test_known_answers(self) -> None:
        hasher = self.make_hasher()
        failures = []
        for answer in self.known_answers():
            got = self.hash_value(hasher, answer.path)
            if answer.value is None or got is None:
                if got != answer.value:
                    failures.append(f"{answer.path.name}: expected {answer.value}, got {got}")
                continue
            dist = self.distance(got, answer.value)
            if dist > answer.max_distance:
                failures.append(f"{answer.path.name}: distance {dist} > {answer.max_distance}")
        assert not failures, "\n".join(failures)

    def test_values_are_normalised(self) -> None:
        hasher = self.make_hasher()
        answer = next(a for a in self.known_answers() if a.value is not None)
        got = self.hash_value(hasher, answer.path)
        assert got is not None
        assert validate_value(self.signal_type, got) == got

    def test_deterministic(self) -> None:
        hasher = self.make_hasher()
        answer = self.known_answers()[0]
        assert self.hash_value(hasher, answer.path) == self.hash_value(hasher, answer.path)
