"""Conformance base class for signal extractors (STYLE.md: one base test class per protocol).

An extractor's tests subclass :class:`MediaExtractorConformance` (or
:class:`TextExtractorConformance`), implement ``make`` and list known-answer inputs; every test
below then runs against it. The whole suite runs with non-loopback sockets refused
(tests/support/offline.py), so an extractor that tries the network fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from jikimi.model import MediaInfo
from jikimi.signals.extractor import (
    COST_ORDER,
    Finding,
    MediaExtractor,
    MediaInput,
    TextExtractor,
    TextInput,
)


def media_input(rgb: np.ndarray, path: Path | None = None, data: bytes = b"") -> MediaInput:
    """A MediaInput for an in-memory RGB image (tests only)."""
    h, w = rgb.shape[:2]
    info = MediaInfo(media_type="image", mime="image/png", width=w, height=h, mode="RGB")
    return MediaInput(path=path or Path("memory.png"), data=data, info=info, rgb=rgb)


def image_input(path: Path) -> MediaInput:
    """A MediaInput read from an image file the way the pipeline does (RGB, first frame)."""
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
        info = MediaInfo(
            media_type="image",
            mime=Image.MIME.get(im.format or "", "application/octet-stream"),
            width=im.width,
            height=im.height,
            mode=im.mode,
        )
    return MediaInput(path=path, data=path.read_bytes(), info=info, rgb=rgb)


def _check_finding(finding: Finding, name: str) -> None:
    assert isinstance(finding, Finding)
    assert finding.signal == name
    assert finding.status in ("ok", "not_applicable", "error")
    if finding.status != "ok":
        assert finding.error, "a finding that is not ok says why"
    record = finding.as_dict()
    json.dumps(record)  # recordable
    assert "private" not in record


class _Common:
    def make(self) -> Any:
        raise NotImplementedError

    def test_declares_name_version_media_and_cost(self) -> None:
        ext = self.make()
        assert ext.name and ext.name == ext.name.strip().lower()
        assert ext.version
        assert ext.cost in COST_ORDER
        assert ext.media

    def test_models_are_described(self) -> None:
        for model in self.make().models():
            assert model.name and model.package and model.licence
            assert len(model.sha256) == 64
            assert model.loaded, model.error


class MediaExtractorConformance(_Common):
    """Subclass, implement ``make`` and fill ``known`` with (input, check) pairs where check
    is a callable asserting on the finding."""

    def known(self) -> list[tuple[MediaInput, Any]]:
        return []

    def test_follows_the_protocol(self) -> None:
        ext = self.make()
        assert isinstance(ext, MediaExtractor)
        assert set(ext.media) <= {"image", "animation", "video"}

    def test_known_answers(self) -> None:
        cases = self.known()
        assert cases, "known answers must not be empty"
        ext = self.make()
        findings = ext.extract([case for case, _ in cases])
        assert len(findings) == len(cases)
        for finding, (_, check) in zip(findings, cases, strict=True):
            _check_finding(finding, ext.name)
            check(finding)

    def test_empty_batch(self) -> None:
        assert self.make().extract([]) == []

    @pytest.mark.parametrize(
        "shape",
        [(1, 1, 3), (2, 3, 3), (4000, 3, 3), (3, 4000, 3)],
        ids=lambda s: "x".join(map(str, s)),
    )
    def test_odd_sizes_never_crash(self, shape: tuple[int, int, int]) -> None:
        ext = self.make()
        rgb = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
        (finding,) = ext.extract([media_input(rgb)])
        _check_finding(finding, ext.name)

    def test_one_bad_input_does_not_spoil_the_batch(self) -> None:
        ext = self.make()
        good = self.known()[0][0]
        bad = media_input(np.zeros((1, 1, 3), np.uint8))
        findings = ext.extract([bad, good, bad])
        assert len(findings) == 3
        for f in findings:
            _check_finding(f, ext.name)
        (alone,) = ext.extract([good])
        assert findings[1].status == alone.status
        assert findings[1].value == alone.value


class TextExtractorConformance(_Common):
    """Subclass, implement ``make`` and fill ``known`` with (input, check) pairs."""

    def known(self) -> list[tuple[TextInput, Any]]:
        return []

    def test_follows_the_protocol(self) -> None:
        ext = self.make()
        assert isinstance(ext, TextExtractor)
        assert ext.media == ("text",)

    def test_known_answers(self) -> None:
        cases = self.known()
        assert cases, "known answers must not be empty"
        ext = self.make()
        findings = ext.extract_text([case for case, _ in cases])
        assert len(findings) == len(cases)
        for finding, (_, check) in zip(findings, cases, strict=True):
            _check_finding(finding, ext.name)
            check(finding)

    def test_empty_and_hostile_text(self) -> None:
        ext = self.make()
        inputs = [
            TextInput({}),
            TextInput({"caption": ""}),
            TextInput({"caption": "a" * 1_000_000}),
        ]
        findings = ext.extract_text(inputs)
        assert len(findings) == 3
        for f in findings:
            _check_finding(f, ext.name)
