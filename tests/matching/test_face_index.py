"""Protected persons' face index: every person within the threshold, once, at the best face."""

from __future__ import annotations

import numpy as np
import pytest

from jikimi.matching.faces import FaceIndex, PersonTemplate


def _unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=128).astype(np.float32)
    return v / np.linalg.norm(v)


def test_matches_within_threshold_once_per_person_at_the_closest_face() -> None:
    rng = np.random.default_rng(0)
    alice, bob = _unit(rng), _unit(rng)
    index = FaceIndex(
        [PersonTemplate("prs_a", "A", alice), PersonTemplate("prs_a", "A", alice * 0.99),
         PersonTemplate("prs_b", "B", bob)],
        threshold=0.5,
    )  # fmt: skip
    near = alice + 0.02 * _unit(rng)
    nearer = alice + 0.01 * _unit(rng)
    faces = [((0, 0, 10, 10), near), ((20, 20, 40, 40), nearer), ((5, 5, 9, 9), _unit(rng))]
    (match,) = index.match(faces)
    assert match.person == "prs_a" and match.person_name == "A"
    assert match.box == (20, 20, 40, 40)
    assert match.distance == pytest.approx(float(np.linalg.norm(alice - nearer)), abs=1e-5)
    assert match.bank_kind == "protected-person" and match.signal_type == "faces"
    assert match.as_dict()["person"] == "prs_a"


def test_threshold_is_inclusive_and_removal_is_immediate() -> None:
    rng = np.random.default_rng(1)
    t = _unit(rng)
    offset = np.zeros(128, np.float32)
    offset[0] = 0.5
    index = FaceIndex([PersonTemplate("prs_a", "A", t)], threshold=0.5)
    assert len(index.match([((0, 0, 1, 1), t + offset)])) == 1
    offset[0] = 0.5001
    assert index.match([((0, 0, 1, 1), t + offset)]) == []
    index.remove_person("prs_a")
    assert len(index) == 0 and index.match([((0, 0, 1, 1), t)]) == []


def test_bad_templates_and_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        FaceIndex(threshold=0)
    with pytest.raises(ValueError, match="128 finite"):
        FaceIndex([PersonTemplate("p", "P", np.zeros(5, np.float32))], threshold=0.6)
    assert FaceIndex(threshold=0.6).match([((0, 0, 1, 1), np.zeros(128, np.float32))]) == []
