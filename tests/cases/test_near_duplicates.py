"""Near-duplicates of removed media, on SQLite and PostgreSQL.

Real PDQ hashes of Meta's reference photo (shared/testdata/pdq) and copies of it made here
(resized, cropped 1%, recompressed, greyscale, mirrored), next to unrelated photos; then
synthetic hashes for the exact edges (closest, ties, inclusive threshold, malformed values) and
a seeded corpus checked against a plain linear scan with ``hamming_hex``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker
from tests.support.testdata import shared_testdata

from jikimi.cases.near_duplicates import NearDuplicate, find_near_duplicates
from jikimi.errors import SignalValueError
from jikimi.media.limits import Limits
from jikimi.signals.base import hamming_hex
from jikimi.signals.compute import compute_signals
from jikimi.store.media_repo import pdq_column
from jikimi.store.models import Item, ItemMedia, MediaRecord

IMAGES = shared_testdata() / "pdq" / "images"
ORIGINAL = "bridge-aaa-orig.jpg"
THRESHOLD = 31  # the PDQ reference's match bound, and the project's default bank threshold
NOW = datetime(2026, 1, 1, tzinfo=UTC)

# Copies of the original made here, by Pillow: name -> how.
MADE: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resized": lambda im: im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS),
    "cropped": lambda im: im.crop(
        (
            im.width // 100,
            im.height // 100,
            im.width - im.width // 100,
            im.height - im.height // 100,
        )
    ),
    "recompressed": lambda im: im,  # saved at JPEG quality 30 below
    "grey": lambda im: im.convert("L"),
    "mirrored": lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
}
# Meta's own edits of the same photo, shipped with the reference data.
REFERENCE_COPIES = ("bridge-blur-a-lot.jpg", "bridge-square-256x256.jpg")
COPIES = ("resized", "cropped", "recompressed", "grey", *REFERENCE_COPIES)
# Stored PDQ is of the upright image only, so a mirror image is another picture here.
UNRELATED = ("mirrored", "c.png", "wee.jpg", "pytx-rgb.jpeg", "pytx-LA.png")


@dataclass(frozen=True, slots=True)
class Photo:
    sha256: str
    pdq: str


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Photo]:
    """Every photo's sha256 and PDQ, computed by the project's own signal code."""
    folder = tmp_path_factory.mktemp("near")
    paths = {name: IMAGES / name for name in (ORIGINAL, *REFERENCE_COPIES, *UNRELATED[1:])}
    with Image.open(IMAGES / ORIGINAL) as im:
        im.load()
        for name, make in MADE.items():
            path = folder / f"{name}.jpg"
            make(im).save(path, "JPEG", quality=30 if name == "recompressed" else 90)
            paths[name] = path
    return {name: _photo(path) for name, path in paths.items()}


def _photo(path: Path) -> Photo:
    result = compute_signals(path, Limits(), transforms=False)
    assert result.error is None and result.sha256 is not None, result.error
    assert "pdq" in result.signals, result.notes
    return Photo(result.sha256, result.signals["pdq"].value)


def test_the_photos_are_what_the_tests_assume(photos: dict[str, Photo]) -> None:
    assert len({p.sha256 for p in photos.values()}) == len(photos)
    near = {n: hamming_hex(photos[ORIGINAL].pdq, photos[n].pdq) for n in COPIES}
    far = {n: hamming_hex(photos[ORIGINAL].pdq, photos[n].pdq) for n in UNRELATED}
    assert max(near.values()) <= THRESHOLD < min(far.values()), (near, far)
    assert near["cropped"] > 0  # a real edit, not a byte-for-byte pixel copy


# --- store helpers ---------------------------------------------------------------------------


def _media(session: Session, sha: str, signals: Any, media_type: str | None = "image") -> None:
    session.add(
        MediaRecord(
            sha256=sha,
            size=1,
            media_type=media_type,
            pdq_quality=100,
            signals=signals,
            pdq=pdq_column(signals),
            notes=[],
            first_seen=NOW,
            last_seen=NOW,
        )
    )
    session.flush()


def _item(session: Session, *media: str) -> int:
    item = Item(platform="test", meta={}, submitted_by="test")
    session.add(item)
    session.flush()
    for position, sha in enumerate(media):
        session.add(ItemMedia(item_id=item.id, position=position, media_sha256=sha))
    session.flush()
    return item.id


def _sha(n: int) -> str:
    return f"{n:064x}"


def _flip(value: str, bits: Iterable[int]) -> str:
    mask = sum(1 << b for b in bits)
    return f"{int(value, 16) ^ mask:064x}"


# --- real photos -----------------------------------------------------------------------------


@dataclass
class PhotoStore:
    items: dict[str, int]
    excluded: int
    decided: int


@pytest.fixture
def photo_store(sessions: sessionmaker[Session], photos: dict[str, Photo]) -> PhotoStore:
    with sessions() as s:
        for photo in photos.values():
            _media(s, photo.sha256, {"sha256": photo.sha256, "pdq": photo.pdq, "md5": "0" * 32})
        items = {name: _item(s, photo.sha256) for name, photo in photos.items()}
        # The decided item (excluded by the caller) and another holding a second resized copy.
        decided = _item(s, photos[ORIGINAL].sha256, photos["resized"].sha256)
        excluded = _item(s, photos["resized"].sha256)
        items["album"] = _item(
            s, photos["cropped"].sha256, photos["grey"].sha256, photos["cropped"].sha256
        )
        s.commit()
    return PhotoStore(items, excluded, decided)


def _expected(photos: dict[str, Photo], store: PhotoStore) -> list[NearDuplicate]:
    original = photos[ORIGINAL]
    pairs = [(store.items[n], n) for n in COPIES]
    pairs += [(store.items["album"], "cropped"), (store.items["album"], "grey")]
    out = [
        NearDuplicate(
            item, photos[n].sha256, original.sha256, hamming_hex(original.pdq, photos[n].pdq)
        )
        for item, n in pairs
    ]
    return sorted(out, key=lambda d: (d.distance, d.item_id, d.media_sha256))


def _removed(photos: dict[str, Photo]) -> dict[str, str]:
    return {photos[ORIGINAL].sha256: photos[ORIGINAL].pdq}


def test_edited_copies_are_found_and_nothing_else(
    sessions: sessionmaker[Session], photos: dict[str, Photo], photo_store: PhotoStore
) -> None:
    with sessions() as s:
        found = find_near_duplicates(
            s,
            _removed(photos),
            threshold=THRESHOLD,
            exclude_items={photo_store.decided, photo_store.excluded},
        )
    assert found == _expected(photos, photo_store)
    assert all(d.distance <= THRESHOLD for d in found)
    names = {photos[n].sha256: n for n in photos}
    assert {names[d.media_sha256] for d in found} == set(COPIES)
    items = {d.item_id for d in found}
    assert photo_store.items[ORIGINAL] not in items  # an identical copy: handled elsewhere
    assert not items & {photo_store.decided, photo_store.excluded}
    assert not items & {photo_store.items[n] for n in UNRELATED}


def test_exclusion_is_per_item_not_per_media(
    sessions: sessionmaker[Session], photos: dict[str, Photo], photo_store: PhotoStore
) -> None:
    with sessions() as s:
        found = find_near_duplicates(s, _removed(photos), threshold=THRESHOLD, exclude_items=())
    resized = {d.item_id for d in found if d.media_sha256 == photos["resized"].sha256}
    assert resized == {photo_store.items["resized"], photo_store.decided, photo_store.excluded}
    assert len(found) == len(_expected(photos, photo_store)) + 2


@pytest.mark.parametrize("chunk", [1, 2, 5, 10_000])
def test_chunking_does_not_change_the_answer(
    sessions: sessionmaker[Session], photos: dict[str, Photo], photo_store: PhotoStore, chunk: int
) -> None:
    exclude = {photo_store.decided, photo_store.excluded}
    with sessions() as s:
        found = find_near_duplicates(
            s, _removed(photos), threshold=THRESHOLD, exclude_items=exclude, chunk=chunk
        )
    assert found == _expected(photos, photo_store)


# --- synthetic hashes: the exact edges -------------------------------------------------------

BASE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def test_closest_removed_media_is_named_and_ties_go_to_the_smaller_sha(
    sessions: sessionmaker[Session],
) -> None:
    removed = {_sha(0xB): _flip(BASE, range(6)), _sha(0xA): BASE}
    cases = {
        _sha(1): (_flip(BASE, (0, 1)), 2, _sha(0xA)),  # 4 from the other
        _sha(2): (_flip(BASE, (0, 1, 2, 3)), 2, _sha(0xB)),  # 4 from the other
        _sha(3): (_flip(BASE, (0, 1, 2)), 3, _sha(0xA)),  # 3 from both: a tie
    }
    with sessions() as s:
        for sha, value in removed.items():
            _media(s, sha, {"pdq": value})
        items = {}
        for sha, (value, _, _) in cases.items():
            _media(s, sha, {"pdq": value})
            items[sha] = _item(s, sha)
        s.commit()
        found = find_near_duplicates(s, removed, threshold=THRESHOLD, exclude_items=())
    assert found == sorted(
        (NearDuplicate(items[sha], sha, of, d) for sha, (_, d, of) in cases.items()),
        key=lambda x: (x.distance, x.item_id),
    )


def test_threshold_is_inclusive(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        _media(s, _sha(0xA), {"pdq": BASE})
        _media(s, _sha(1), {"pdq": _flip(BASE, range(100, 110))})
        _media(s, _sha(2), {"pdq": _flip(BASE, range(100, 111))})
        at, beyond = _item(s, _sha(1)), _item(s, _sha(2))
        s.commit()
        removed = {_sha(0xA): BASE}
        assert find_near_duplicates(s, removed, threshold=10, exclude_items=()) == [
            NearDuplicate(at, _sha(1), _sha(0xA), 10)
        ]
        wider = find_near_duplicates(s, removed, threshold=11, exclude_items=())
        assert [d.item_id for d in wider] == [at, beyond]
        assert find_near_duplicates(s, removed, threshold=9, exclude_items=()) == []


MALFORMED: list[Any] = [
    {"pdq": "zz" * 32},
    {"pdq": BASE[:30] + "  " + BASE[32:]},  # 64 characters that bytes.fromhex would accept
    {"pdq": BASE[:63]},
    {"pdq": BASE + "0"},
    {"pdq": ""},
    {"pdq": None},
    {"pdq": 12345},
    {"pdq": [BASE]},
    {"md5": "0" * 32},
    {},
    [BASE],
]


@pytest.mark.parametrize("chunk", [1, 3, 10_000])
def test_malformed_stored_values_are_skipped(sessions: sessionmaker[Session], chunk: int) -> None:
    with sessions() as s:
        _media(s, _sha(0xA), {"pdq": BASE})
        for n, signals in enumerate(MALFORMED, start=100):
            _media(s, _sha(n), signals)
        _item(s, *(_sha(n) for n in range(100, 100 + len(MALFORMED))))
        # Well-formed values around the broken ones are still found: upper case is normalised,
        # and a row whose media type is unknown still has a PDQ to compare.
        _media(s, _sha(1), {"pdq": _flip(BASE, (7,)).upper()})
        _media(s, _sha(2), {"pdq": _flip(BASE, (7, 8))}, media_type=None)
        _media(s, _sha(3), {"vpdq": "0,100," + BASE}, media_type="video")
        upper, unknown = _item(s, _sha(1)), _item(s, _sha(2), _sha(3))
        s.commit()
        found = find_near_duplicates(
            s, {_sha(0xA): BASE}, threshold=THRESHOLD, exclude_items=(), chunk=chunk
        )
    assert found == [
        NearDuplicate(upper, _sha(1), _sha(0xA), 1),
        NearDuplicate(unknown, _sha(2), _sha(0xA), 2),
    ]


def test_media_in_no_item_and_an_empty_store_give_nothing(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s:
        removed = {_sha(0xA): BASE}
        assert find_near_duplicates(s, removed, threshold=THRESHOLD, exclude_items=()) == []
        _media(s, _sha(1), {"pdq": _flip(BASE, (1,))})
        s.commit()
        assert find_near_duplicates(s, removed, threshold=THRESHOLD, exclude_items=()) == []


# --- against the plain linear scan -----------------------------------------------------------


def _linear_scan(
    held: Mapping[int, list[str]],
    pdqs: Mapping[str, str],
    removed: Mapping[str, str],
    threshold: int,
    exclude: set[int],
) -> list[NearDuplicate]:
    """The definition, written out: every (item, media) pair, every removed hash."""
    out = set()
    for item, media in held.items():
        for sha in media:
            if item in exclude or sha in removed:
                continue
            d, of = min((hamming_hex(pdqs[sha], v), r) for r, v in removed.items())
            if d <= threshold:
                out.add(NearDuplicate(item, sha, of, d))
    return sorted(out, key=lambda x: (x.distance, x.item_id, x.media_sha256))


def test_agrees_with_a_linear_scan_on_a_seeded_corpus(sessions: sessionmaker[Session]) -> None:
    rng = random.Random(20240601)
    centres = [f"{rng.getrandbits(256):064x}" for _ in range(6)]
    pdqs: dict[str, str] = {}
    for n in range(400):
        if rng.random() < 0.6:
            pdqs[_sha(n)] = _flip(rng.choice(centres), rng.sample(range(256), rng.randint(0, 45)))
        else:
            pdqs[_sha(n)] = f"{rng.getrandbits(256):064x}"
    shas = sorted(pdqs)
    removed = {sha: pdqs[sha] for sha in rng.sample(shas, 8)}
    with sessions() as s:
        for sha, value in pdqs.items():
            _media(s, sha, {"pdq": value})
        held = {}
        for _ in range(250):
            media = rng.sample(shas, rng.randint(1, 3))
            held[_item(s, *media)] = media
        s.commit()
        exclude = set(rng.sample(sorted(held), 25))
        expected = _linear_scan(held, pdqs, removed, THRESHOLD, exclude)
        assert len(expected) >= 20  # the corpus really has near-duplicates to find
        for chunk in (1, 37, 10_000):
            got = find_near_duplicates(
                s, removed, threshold=THRESHOLD, exclude_items=exclude, chunk=chunk
            )
            assert got == expected, chunk


# --- arguments -------------------------------------------------------------------------------


def test_no_removed_media_needs_no_query() -> None:
    with Session() as unbound:  # any query would fail: there is no database
        assert find_near_duplicates(unbound, {}, threshold=THRESHOLD, exclude_items=()) == []


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"threshold": -1}, ValueError),
        ({"threshold": 257}, ValueError),
        ({"threshold": 3.5}, ValueError),
        ({"threshold": THRESHOLD, "chunk": 0}, ValueError),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with Session() as unbound, pytest.raises(error):
        find_near_duplicates(unbound, {_sha(0xA): BASE}, exclude_items=(), **kwargs)


def test_a_malformed_removed_hash_is_the_callers_error() -> None:
    with Session() as unbound, pytest.raises(SignalValueError, match="not 64 hex"):
        find_near_duplicates(unbound, {_sha(0xA): "zz"}, threshold=THRESHOLD, exclude_items=())
