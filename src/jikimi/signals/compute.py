"""All signals of one file: exact digests, then PDQ (images, animations) or vPDQ (videos).

The order is the contract the pipeline relies on (DESIGN.md section 4, "failures are data"):

1. size: over the limit is ``too_large`` and nothing is hashed; zero bytes is ``empty``;
2. SHA-256, MD5, SHA-1 of every readable file, even one that turns out undecodable, because
   banks hold exact hashes of files we cannot decode;
3. the real type from the magic bytes (:mod:`jikimi.media.sniff`), never the extension;
4. decoding within limits, then the perceptual hashes.

:func:`compute_signals` never raises for a bad file: the :class:`~jikimi.errors.MediaError`
becomes ``error`` (one line: what was wrong and what to do) and ``error_reason`` (its code).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from jikimi.errors import MediaError, UnreadableMedia, UnsupportedMedia
from jikimi.media.decode import check_file_size, load_rgb, open_image
from jikimi.media.limits import Limits
from jikimi.media.sniff import HEAD_BYTES, Sniffed, describe, sniff
from jikimi.media.video import probe_video
from jikimi.model import MediaSignals, Signal
from jikimi.signals.base import signal_format
from jikimi.signals.crypto import DIGESTS, bytes_digests, file_digests
from jikimi.signals.pdq import PdqHasher
from jikimi.signals.vpdq import VpdqHasher
from jikimi.signals.vpdq_format import format_vpdq

ALL_SIGNALS: frozenset[str] = frozenset({*DIGESTS, "pdq", "video_md5", "vpdq"})

# Files up to this size are read once into memory and both digested and decoded from there;
# larger ones (videos, in practice) are streamed for the digests and read by FFmpeg.
READ_ONCE_MAX_BYTES = 256 * 1024 * 1024


def compute_signals(
    path: Path,
    limits: Limits,
    *,
    min_quality: int = 50,
    seconds_per_hash: float = 1.0,
    transforms: bool = True,
    fast: bool = False,
    want: frozenset[str] | None = None,
    skip: Callable[[str], bool] | None = None,
) -> MediaSignals:
    """The signals of the file at ``path`` (see the module docstring for the order).

    ``min_quality``: PDQ hashes below it are not kept (a note says so). ``seconds_per_hash``:
    vPDQ sampling, 0 for every frame. ``transforms``: also the PDQ of the eight dihedral
    transforms. ``fast``: hash only the luma of large JPEGs, decoded at a reduced scale (a few
    bits off the exact hash, see docs/benchmarks.md; images whose shorter side is under
    1024 pixels stay bit-exact). ``want``: the signal types to compute, ``None`` for all that
    apply. ``skip``: called with the SHA-256 once it is known; when it answers true the rest is
    not computed and the result is marked ``skipped`` (a scan resuming over recorded media).
    """
    wanted = ALL_SIGNALS if want is None else frozenset(signal_format(w).name for w in want)
    result = MediaSignals(file=str(path), size=0)
    try:
        _compute(
            path, limits, result, wanted, min_quality, seconds_per_hash, transforms, fast, skip
        )
    except MediaError as exc:
        result.error = " ".join(str(exc).split()) or exc.reason
        result.error_reason = exc.reason
    return result


def _compute(
    path: Path,
    limits: Limits,
    result: MediaSignals,
    wanted: frozenset[str],
    min_quality: int,
    seconds_per_hash: float,
    transforms: bool,
    fast: bool,
    skip: Callable[[str], bool] | None,
) -> None:
    try:
        result.size = path.stat().st_size
        check_file_size(result.size, limits)
        names = _digest_names(wanted)
        data: bytes | None = None
        if result.size <= READ_ONCE_MAX_BYTES:
            data = path.read_bytes()
            digests, head = bytes_digests(data, names), data[:HEAD_BYTES]
        else:
            digests = file_digests(path, names)
            with path.open("rb") as fh:
                head = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise UnreadableMedia(
            f"the file cannot be read ({exc.strerror or exc}); check it exists and is readable"
        ) from None
    result.sha256 = digests["sha256"]
    if skip is not None and skip(result.sha256):
        result.skipped = True
        return
    for name in DIGESTS:
        if name in wanted:
            result.signals[name] = Signal(name, digests[name])

    sniffed = sniff(head)
    if sniffed is None:
        raise UnsupportedMedia(f"not an image or video: {describe(head)}; check the file")
    if sniffed.kind == "image":
        if data is None:
            data = path.read_bytes()
        _image_signals(data, sniffed, limits, result, wanted, min_quality, transforms, fast)
    else:
        _video_signals(path, limits, result, wanted, digests.get("md5", ""), seconds_per_hash)


def _image_signals(
    data: bytes,
    sniffed: Sniffed,
    limits: Limits,
    result: MediaSignals,
    wanted: frozenset[str],
    min_quality: int,
    transforms: bool,
    fast: bool,
) -> None:
    im, info = open_image(data, sniffed, limits)
    with im:
        result.info = info
        if "pdq" not in wanted:
            return  # the header checks above still ran: a bomb is reported, not skipped
        rgb = load_rgb(im, draft=fast)
    if not fast:  # full-resolution RGB: extractors later in a cascade reuse it
        result.rgb = rgb
    hasher = PdqHasher()
    if transforms:
        # One dihedral pass costs the same as one plain hash and its "original" is identical.
        variants, quality = hasher.hash_rgb_dihedral(rgb)
        value = variants["original"]
    else:
        variants = {}
        value, quality = hasher.hash_rgb(rgb)
    result.pdq_quality = quality
    if quality < min_quality:
        result.notes.append(
            f"low_quality: PDQ quality {quality} is below {min_quality}, no PDQ hash kept"
        )
        return
    result.signals["pdq"] = Signal("pdq", value, quality)
    result.pdq_transforms = variants


def _digest_names(wanted: frozenset[str]) -> list[str]:
    """The file digests to compute: sha256 always (it names the media), the others when
    wanted (md5 also when video_md5 is: the same digest)."""
    also = {"md5"} if "video_md5" in wanted else set()
    return [n for n in DIGESTS if n == "sha256" or n in wanted or n in also]


def _video_signals(
    path: Path,
    limits: Limits,
    result: MediaSignals,
    wanted: frozenset[str],
    md5: str,
    seconds_per_hash: float,
) -> None:
    result.info = probe_video(path, limits)
    if "video_md5" in wanted:
        result.signals["video_md5"] = Signal("video_md5", md5)
    if "vpdq" not in wanted:
        return
    numbered = VpdqHasher().hash_file_numbered(path, seconds_per_hash)
    result.vpdq_frames = [
        (n.number, n.frame.quality, n.frame.pdq, n.frame.timestamp) for n in numbered
    ]
    result.signals["vpdq"] = Signal("vpdq", format_vpdq([n.frame for n in numbered]))
