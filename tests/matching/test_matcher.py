"""The matcher: banks, thresholds, transforms, suppression, immediate withdrawals."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conformance.index import flip, random_corpus

from jikimi.errors import BankNotFound, SettingsError, SignalValueError
from jikimi.matching.hexbits import bytes_to_pdq
from jikimi.matching.matcher import Matcher
from jikimi.model import BankSpec, EntrySpec, MediaSignals, Signal
from jikimi.signals.vpdq_format import VpdqFrame, format_vpdq

RNG = np.random.default_rng(2024)
CODES = random_corpus(8, 77)
HEX = bytes_to_pdq(CODES)
SHA = "ab" * 32


def near(i: int, k: int) -> str:
    return bytes_to_pdq(flip(RNG, CODES[i], k)[None, :])[0]


def matcher() -> Matcher:
    return Matcher(
        banks=[
            BankSpec("abuse"),
            BankSpec("strict", pdq_threshold=10, try_transforms=False),
            BankSpec("benign", kind="known-benign"),
        ],
        entries=[
            EntrySpec(1, "abuse", "pdq", HEX[0]),
            EntrySpec(2, "strict", "pdq", HEX[0]),
            EntrySpec(3, "abuse", "sha256", SHA.upper()),
            EntrySpec(4, "abuse", "pdq", HEX[1]),
            EntrySpec(5, "benign", "pdq", HEX[2]),
            EntrySpec(6, "abuse", "pdq", HEX[2]),
            EntrySpec(7, "abuse", "md5", "cd" * 16),
        ],
    )


def test_per_bank_thresholds() -> None:
    m = matcher()
    assert [(x.bank, x.entry_id, x.distance) for x in m.match_value("pdq", near(0, 10))] == [
        ("abuse", 1, 10),
        ("strict", 2, 10),
    ]
    assert [(x.bank, x.distance) for x in m.match_value("pdq", near(0, 11))] == [("abuse", 11)]
    assert [x.distance for x in m.match_value("pdq", near(0, 31))] == [31]
    assert m.match_value("pdq", near(0, 32)) == []


def test_exact_values_and_validation() -> None:
    m = matcher()
    [hit] = m.match_value("sha256", SHA)
    assert (hit.entry_id, hit.distance, hit.signal_type, hit.bank_kind) == (
        3,
        0,
        "sha256",
        "known-abuse",
    )
    assert m.match_value("md5", "cd" * 16)[0].entry_id == 7
    assert m.match_value("sha1", "00" * 20) == []
    with pytest.raises(SignalValueError):
        m.match_value("pdq", "xyz")
    with pytest.raises(SignalValueError):
        m.add_entries([EntrySpec(99, "abuse", "sha256", "short")])
    with pytest.raises(BankNotFound):
        m.add_entries([EntrySpec(99, "nope", "sha256", SHA)])
    with pytest.raises(SettingsError):
        m.add_bank(BankSpec("wide", pdq_threshold=65))


def test_batch_equals_one_by_one() -> None:
    m = matcher()
    pairs = [("pdq", near(0, 5)), ("sha256", SHA), ("pdq", near(1, 20)), ("pdq", HEX[5])]
    assert m.match_values(pairs) == [m.match_value(t, v) for t, v in pairs]
    assert [len(x) for x in m.match_values(pairs)] == [2, 1, 1, 0]


def test_withdraw_and_add_visible_to_next_lookup() -> None:
    m = matcher()
    m.withdraw(1)
    m.withdraw(1)  # idempotent
    assert [x.entry_id for x in m.match_value("pdq", HEX[0])] == [2]
    m.withdraw(3)
    assert m.match_value("sha256", SHA) == []
    m.add_entries([EntrySpec(1, "abuse", "pdq", HEX[0])])
    assert [x.entry_id for x in m.match_value("pdq", HEX[0])] == [1, 2]
    m.add_entries([EntrySpec(1, "abuse", "pdq", HEX[3])])  # same id, new value: replaced
    assert [x.entry_id for x in m.match_value("pdq", HEX[0])] == [2]
    assert [x.entry_id for x in m.match_value("pdq", HEX[3])] == [1]


def test_remove_bank_drops_its_entries() -> None:
    m = matcher()
    m.remove_bank("strict")
    assert [x.bank for x in m.match_value("pdq", HEX[0])] == ["abuse"]
    with pytest.raises(BankNotFound):
        m.remove_bank("strict")
    with pytest.raises(BankNotFound):
        m.add_entries([EntrySpec(50, "strict", "pdq", HEX[0])])


def test_known_benign_suppresses_but_still_returns() -> None:
    m = matcher()
    found = m.match_value("pdq", near(2, 4))
    assert [(x.bank, x.bank_kind, x.suppressed_by) for x in found] == [
        ("abuse", "known-abuse", "known-benign:benign"),
        ("benign", "known-benign", None),
    ]
    assert all(x.suppressed_by is None for x in m.match_value("pdq", HEX[1]))


def _media(transforms: dict[str, str], **signals: str) -> MediaSignals:
    return MediaSignals(
        file="x.jpg",
        size=1,
        signals={t: Signal(t, v) for t, v in signals.items()},
        pdq_transforms=transforms,
    )


def test_match_media_tries_transforms_and_prefers_original() -> None:
    m = matcher()
    rotated = {"original": HEX[6], "rotate90": near(0, 3), "flipx": near(0, 1)}
    found = m.match_media(_media(rotated, pdq=HEX[6], sha256=SHA))
    # strict bank has try_transforms=False: no transform match from it
    assert [(x.entry_id, x.distance, x.transform) for x in found] == [(3, 0, None), (1, 1, "flipx")]
    assert found[1].as_dict()["transform"] == "flipx"
    # the original matches too (at a worse distance): the original orientation wins
    both = {"original": near(1, 12), "rotate180": HEX[1]}
    [hit] = m.match_media(_media(both, pdq=both["original"]))
    assert (hit.entry_id, hit.distance, hit.transform) == (4, 12, None)


def test_match_media_suppression_across_signals() -> None:
    m = matcher()
    found = m.match_media(_media({"original": HEX[2]}, sha256=SHA))
    assert {x.entry_id: x.suppressed_by for x in found} == {
        3: "known-benign:benign",
        5: None,
        6: "known-benign:benign",
    }


def _frames(codes: np.ndarray) -> list[VpdqFrame]:
    return [VpdqFrame(h, 80, float(i)) for i, h in enumerate(bytes_to_pdq(codes))]


def test_vpdq_entries_match_by_reference_rule() -> None:
    video = random_corpus(10, 90)
    m = Matcher(
        [BankSpec("videos")], [EntrySpec(20, "videos", "vpdq", format_vpdq(_frames(video)))]
    )
    query = np.stack([flip(RNG, c, 20) for c in video[:9]] + list(random_corpus(1, 91)))
    [hit] = m.match_value("vpdq", format_vpdq(_frames(query)))
    assert (hit.entry_id, hit.signal_type, hit.distance) == (20, "vpdq", 10)
    media = MediaSignals(
        file="v.mp4",
        size=1,
        vpdq_frames=[(i, f.quality, f.pdq, f.timestamp) for i, f in enumerate(_frames(query))],
    )
    assert [x.distance for x in m.match_media(media)] == [10]
    too_few = np.concatenate([query[:7], random_corpus(3, 92)])
    assert m.match_value("vpdq", format_vpdq(_frames(too_few))) == []
    m.withdraw(20)
    assert m.match_value("vpdq", format_vpdq(_frames(query))) == []
