"""The protocol of signal extractors beyond hashes: nudity, faces, provenance, context.

An extractor declares a stable ``name``, a ``version``, the media it takes and its cost class,
and turns a batch of inputs into one :class:`Finding` each, in order. It never raises for a bad
input: the finding's ``status`` says ``error`` (with a message) or ``not_applicable``. A found
signal is evidence; an absent one proves nothing, and the finding says which it is. Modelled on
python-threatexchange's ``SignalType`` (one type, one module, one small protocol).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from jikimi.model import MediaInfo

CostClass = Literal["cheap", "moderate", "expensive"]
FindingStatus = Literal["ok", "not_applicable", "error"]
COST_ORDER: dict[str, int] = {"cheap": 0, "moderate": 1, "expensive": 2}


class MediaInput:
    """One media as extractors see it: ``path``, raw bytes ``data``, ``info`` and ``rgb``, the
    full-resolution RGB image (first frame of an animation; ``None`` for videos, which
    extractors read from ``path``).

    ``data`` and ``rgb`` may be given or loaded on first use by the ``load_data`` and
    ``load_rgb`` callables, so a cascade that stops early never decodes what it does not need.
    """

    __slots__ = ("_data", "_load_data", "_load_rgb", "_rgb", "info", "path")

    def __init__(
        self,
        path: Path,
        data: bytes | None = None,
        info: MediaInfo | None = None,
        rgb: np.ndarray | None = None,
        *,
        load_data: Callable[[], bytes] | None = None,
        load_rgb: Callable[[], np.ndarray | None] | None = None,
    ) -> None:
        if info is None:
            raise ValueError("MediaInput needs the MediaInfo of the media")
        self.path = path
        self.info = info
        self._data = data
        self._rgb = rgb
        self._load_data = load_data
        self._load_rgb = load_rgb

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = self._load_data() if self._load_data else self.path.read_bytes()
        return self._data

    @property
    def rgb(self) -> np.ndarray | None:
        if self._rgb is None and self._load_rgb is not None:
            self._rgb = self._load_rgb()
            self._load_rgb = None
        return self._rgb

    def __repr__(self) -> str:
        size = f"{self.info.width}x{self.info.height}"
        return f"MediaInput({self.path!s}, {self.info.media_type}, {size})"


@dataclass(frozen=True, slots=True)
class TextInput:
    """The text around an item, by where it was found: ``caption``, ``chat_title``,
    ``username``, ``text``, ..."""

    fields: dict[str, str]


@dataclass(slots=True)
class Finding:
    """What one extractor found in one input.

    ``value`` is JSON-serialisable and is what gets recorded. ``present`` says whether the
    signal was found (``True``), looked for and not found (``False``), or is a score with no
    yes/no meaning (``None``). ``private`` holds in-memory results (face templates) that are
    never serialised, logged or exported.
    """

    signal: str
    status: FindingStatus
    version: str = ""
    value: dict[str, Any] = field(default_factory=dict)
    present: bool | None = None
    error: str | None = None
    advisory: bool = False
    duration_ms: float = 0.0
    private: Any = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "version": self.version}
        if self.value:
            out["value"] = self.value
        if self.present is not None:
            out["present"] = self.present
        if self.error is not None:
            out["error"] = self.error
        if self.advisory:
            out["advisory"] = True
        out["duration_ms"] = round(self.duration_ms, 3)
        return out

    @classmethod
    def failed(cls, signal: str, version: str, message: str) -> Finding:
        return cls(signal=signal, status="error", version=version, error=message)

    @classmethod
    def not_applicable(cls, signal: str, version: str, why: str) -> Finding:
        return cls(signal=signal, status="not_applicable", version=version, error=why)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A model an extractor loads: where its weights come from and whether they verified."""

    name: str
    package: str
    package_version: str
    path: str
    sha256: str
    licence: str
    loaded: bool
    error: str | None = None


@runtime_checkable
class MediaExtractor(Protocol):
    """Computes one signal from images, animations or videos."""

    name: str
    version: str
    media: tuple[str, ...]  # of "image", "animation", "video"
    cost: CostClass

    def extract(self, items: Sequence[MediaInput]) -> list[Finding]:
        """One finding per input, in order; never raises for a bad input."""
        ...

    def models(self) -> list[ModelInfo]:
        """The models this extractor loads (empty for rule-based extractors)."""
        ...


@runtime_checkable
class TextExtractor(Protocol):
    """Computes one signal from the text around an item."""

    name: str
    version: str
    media: tuple[str, ...]  # ("text",)
    cost: CostClass

    def extract_text(self, items: Sequence[TextInput]) -> list[Finding]:
        """One finding per input, in order; never raises for a bad input."""
        ...

    def models(self) -> list[ModelInfo]: ...


Extractor = MediaExtractor | TextExtractor
