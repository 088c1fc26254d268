"""Reference photos to face templates, in memory only.

Each photo is decoded with :func:`jikimi.media.decode.decode_image` under the workspace's
limits (the type sniffed from the bytes, the pixel count checked before decoding, truncated
files refused) and its faces found by the ``faces`` extractor. A photo is accepted only when it
shows exactly one face whose box is at least :data:`MIN_FACE_SIDE` pixels on its shorter side;
otherwise it is refused with a reason. Enrolment is all or nothing: if any photo is refused,
:class:`~jikimi.errors.EnrolmentRefused` lists every refused photo and its reason, and no
template is returned.

The photos are never stored, copied or logged: the decoded pixels live only in this call and
the only thing that leaves it is one 128-d template per photo. The caller records the number of
photos, not their paths or digests (a digest of a private photo is itself a lookup key for it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jikimi.errors import EnrolmentRefused, MediaError
from jikimi.media.decode import decode_image
from jikimi.media.limits import Limits
from jikimi.signals.extractor import MediaInput
from jikimi.signals.faces import FaceExtractor

__all__ = ["MIN_FACE_SIDE", "PhotoTemplate", "templates_from_photos"]

MIN_FACE_SIDE = 60
"""Smallest accepted face box side, in pixels. Below it the 150 px aligned chip the template
is computed from is mostly upsampling, and templates of the same person drift apart; 60 px is
also about the smallest face the HOG detector finds reliably at upsample 0."""


@dataclass(frozen=True)
class PhotoTemplate:
    """The one face of an accepted photo: its box, detector score, quality and template."""

    box: tuple[int, int, int, int]
    score: float
    quality: float
    template: np.ndarray


def templates_from_photos(
    photos: Sequence[Path],
    extractor: FaceExtractor,
    limits: Limits,
    *,
    min_face_side: int = MIN_FACE_SIDE,
) -> list[PhotoTemplate]:
    """One template per photo, in order; raises :class:`EnrolmentRefused` with every refused
    photo and its reason (then nothing is returned)."""
    if not photos:
        raise EnrolmentRefused([("(no photo)", "give at least one reference photo")])
    accepted: list[PhotoTemplate] = []
    refusals: list[tuple[str, str]] = []
    for photo in photos:
        result = _one_photo(Path(photo), extractor, limits, min_face_side)
        if isinstance(result, str):
            refusals.append((str(photo), result))
        else:
            accepted.append(result)
    if refusals:
        raise EnrolmentRefused(refusals)
    return accepted


def _one_photo(
    path: Path, extractor: FaceExtractor, limits: Limits, min_face_side: int
) -> PhotoTemplate | str:
    """The photo's one face, or the reason it is refused."""
    if not path.is_file():
        return "not found or not a regular file"
    try:
        decoded = decode_image(path, limits)
    except MediaError as exc:
        return f"{exc.reason}: {exc}"
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    # data=b"": the extractor works on pixels; nothing re-reads the file.
    (finding,) = extractor.extract([MediaInput(path, b"", decoded.info, decoded.rgb)])
    del decoded
    if finding.status != "ok":
        return f"no face could be found: {finding.error}"
    faces = finding.value["faces"]
    templates = finding.private.get("templates", [])
    if not faces:
        return "no face found; use a photo where the face is clearly visible and frontal"
    if len(faces) > 1:
        return f"{len(faces)} faces found; use a photo that shows only the person being enrolled"
    left, top, right, bottom = (int(v) for v in faces[0]["box"])
    side = min(right - left, bottom - top)
    if side < min_face_side:
        return (
            f"face too small ({side} px; at least {min_face_side} px needed); use a closer or "
            "larger photo"
        )
    return PhotoTemplate(
        box=(left, top, right, bottom),
        score=float(faces[0]["score"]),
        quality=float(faces[0]["quality"]),
        template=np.asarray(templates[0], dtype=np.float32),
    )
