"""PDQ against Meta's reference data (shared/testdata/pdq), through compute_signals."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from tests.conformance.hasher import HasherConformance, KnownAnswer
from tests.support.testdata import shared_testdata

from jikimi.media.limits import Limits
from jikimi.signals.compute import compute_signals
from jikimi.signals.pdq import PDQ_MIN_QUALITY, PdqHasher

PDQ_DIR = shared_testdata() / "pdq"


def _rows() -> list[dict[str, str]]:
    with (PDQ_DIR / "expected.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


ROWS = _rows()
HASHED = [r for r in ROWS if r["pdq"]]
UNHASHABLE = [r for r in ROWS if not r["pdq"]]


def test_filtered_lists_are_not_empty() -> None:
    assert len(HASHED) >= 15
    assert [r["file"] for r in UNHASHABLE] == ["small.jpg"]


@pytest.mark.parametrize("fast", [False, True], ids=["exact", "fast"])
@pytest.mark.parametrize("transforms", [True, False], ids=["dihedral", "plain"])
@pytest.mark.parametrize("row", HASHED, ids=[r["file"] for r in HASHED])
def test_bit_exact(row: dict[str, str], fast: bool, transforms: bool) -> None:
    # min_quality=0 so the quality-36 row is kept and compared bit for bit too.
    result = compute_signals(
        PDQ_DIR / "images" / row["file"],
        Limits(),
        min_quality=0,
        transforms=transforms,
        fast=fast,
    )
    assert result.error is None
    assert result.signals["pdq"].value == row["pdq"]
    assert result.pdq_quality == int(row["quality"])
    assert result.signals["pdq"].quality == int(row["quality"])
    if transforms:
        assert result.pdq_transforms["original"] == row["pdq"]


def test_small_jpg_is_low_quality() -> None:
    result = compute_signals(PDQ_DIR / "images" / "small.jpg", Limits())
    assert result.error is None and result.error_reason is None
    assert "pdq" not in result.signals
    assert result.pdq_quality == 0
    assert result.pdq_transforms == {}
    assert result.notes == ["low_quality: PDQ quality 0 is below 50, no PDQ hash kept"]
    assert {"sha256", "md5", "sha1"} <= set(result.signals)


def test_default_threshold_drops_quality_36() -> None:
    result = compute_signals(PDQ_DIR / "images" / "pytx-I16.png", Limits())
    assert "pdq" not in result.signals
    assert result.pdq_quality == 36
    assert result.notes and result.notes[0].startswith("low_quality: PDQ quality 36")


class TestPdqHasherConformance(HasherConformance):
    signal_type = "pdq"

    def make_hasher(self) -> PdqHasher:
        return PdqHasher()

    def known_answers(self) -> list[KnownAnswer]:
        return [
            KnownAnswer(
                Path(PDQ_DIR / "images" / r["file"]),
                r["pdq"] if r["pdq"] and int(r["quality"]) >= PDQ_MIN_QUALITY else None,
            )
            for r in ROWS
        ]
