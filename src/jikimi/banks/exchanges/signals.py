"""Signal types of the exchanges mapped to ours.

threatexchange names its types ``pdq``, ``video_md5``, ``url``, ``raw_text``...; StopNCII says
``ImagePDQ``/``VideoMD5``; NCMEC tags an entry's fingerprints ``md5``, ``sha1``, ``pdq``,
``pdna``... and the entry itself ``image`` or ``video``. We keep what we can match; the rest
(URLs, text, PhotoDNA, TMK, NetClean...) is counted and skipped with a note.
"""

from __future__ import annotations

import hashlib

from jikimi.banks.exchanges.pages import Skips
from jikimi.errors import JikimiError
from jikimi.signals.base import validate_value

# threatexchange SignalType.get_name() → ours (our own names map to themselves).
THREATEXCHANGE_TYPES = {
    "pdq": "pdq",
    "video_md5": "video_md5",
    "md5": "md5",
    "sha256": "sha256",
    "sha1": "sha1",
    "vpdq": "vpdq",
}

STOPNCII_TYPES = {"ImagePDQ": "pdq", "VideoMD5": "video_md5"}

# (NCMEC entry type, fingerprint tag) → ours. A video's MD5 is the file's MD5 of a video.
NCMEC_TYPES = {
    ("image", "md5"): "md5",
    ("image", "sha1"): "sha1",
    ("image", "pdq"): "pdq",
    ("video", "md5"): "video_md5",
    ("video", "sha1"): "sha1",
}

UPSTREAM_ID_MAX = 200


def checked(
    upstream_type: str, signal_type: str | None, value: str, skips: Skips, where: str
) -> str | None:
    """``value`` validated as our ``signal_type``; None (and a counted skip) otherwise."""
    if signal_type is None:
        skips.add(f"signal type {upstream_type!r} is not supported", where)
        return None
    try:
        return validate_value(signal_type, value)
    except JikimiError:
        skips.add(f"malformed {upstream_type} value", where)
        return None


def value_id(signal_type: str, value: str) -> str:
    """An upstream id for a record that is just a value (list lines, StopNCII hashes)."""
    key = f"{signal_type}:{value}"
    if len(key) <= UPSTREAM_ID_MAX:
        return key
    return f"{signal_type}:sha256:{hashlib.sha256(value.encode()).hexdigest()}"
