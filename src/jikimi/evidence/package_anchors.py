"""Custody-anchor evidence in a package: ``data/anchors.json``, written at export, checked by
``jikimi evidence verify``.

For every event of ``data/custody.jsonl`` that a custody anchor covers
(:mod:`jikimi.evidence.anchors`), the package carries the event's RFC 6962 audit path
(leaf side first) and the anchor itself: its range, tree size, Merkle root and RFC 3161 tokens
over the root. Whoever holds the TSA's root can then check, without the operator's database,
that the exported events were in the operator's log, unaltered, at the anchor's time. Events
after the last anchor are listed as not yet anchored; a later export carries their proofs.

The file (``"format": "jikimi-custody-anchors/1"``)::

    {"format": ..., "tree": ...,  "note": ...,
     "anchors": [{"id", "first_seq", "last_seq", "tree_size", "merkle_root" (hex),
                  "tokens": [{"tsa", "time", "token" (base64 DER TimeStampToken)}]}],
     "proofs": [{"seq", "anchor_id", "path": [hex, ...]}],
     "not_yet_anchored": [seq, ...]}

Checking (:func:`verify`): the file is read as hostile input (exact keys, lowercase hex,
bounded counts and path lengths); each proof is checked (RFC 9162 section 2.1.3.2) from the
hash recomputed from the event's line in ``custody.jsonl``, never from the line's ``hash``;
each anchor's tokens must be valid over its root under the given TSA roots
(:func:`jikimi.evidence.timestamps.verify_token`).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from jikimi.evidence.anchors import InclusionProof, inclusion_proofs, verify_proof
from jikimi.evidence.timestamps import verify_token

ANCHORS = "anchors.json"
FORMAT = "jikimi-custody-anchors/1"
TREE = (
    "RFC 6962 section 2.1 Merkle tree over SHA-256; leaves: the events' hashes in seq order, "
    "first_seq to last_seq; proofs: RFC 6962 audit paths, leaf side first, checked with "
    "RFC 9162 section 2.1.3.2; tokens: RFC 3161 over the 32-byte root"
)
NOTE = (
    "The evidence.exported event that records this export is appended after the package is "
    "made: it is neither in data/custody.jsonl nor anchored here; the next export carries it."
)
MAX_BYTES = 256 * 1024**2  # read whole, as custody.jsonl is
MAX_ANCHORS = 100_000
MAX_PROOFS = 1_000_000  # and as many not-yet-anchored seqs
MAX_TOKENS = 16  # per anchor
MAX_TOKEN_BYTES = 1024**2
MAX_PATH = 64  # a tree of 2**64 leaves
MAX_SEQ = 2**63 - 1  # the store's BIGINT
_MAX_PROBLEMS = 1_000
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TOP_KEYS = {"format", "tree", "note", "anchors", "proofs", "not_yet_anchored"}
_ANCHOR_KEYS = {"id", "first_seq", "last_seq", "tree_size", "merkle_root", "tokens"}
_TOKEN_KEYS = {"tsa", "time", "token"}
_PROOF_KEYS = {"seq", "anchor_id", "path"}


@dataclass(frozen=True, slots=True)
class AnchorEvidence:
    """What the export writes: the file's bytes, and counts for the report."""

    data: bytes
    proved: int
    not_anchored: list[int]


def collect(sessions: sessionmaker[Session], seqs: Sequence[int]) -> AnchorEvidence:
    """``data/anchors.json`` for the custody events ``seqs`` of a package."""
    anchors: list[dict[str, Any]] = []
    proofs: list[dict[str, Any]] = []
    for anchor, anchor_proofs in inclusion_proofs(sessions, seqs):
        anchors.append(
            {
                "id": anchor.id,
                "first_seq": anchor.first_seq,
                "last_seq": anchor.last_seq,
                "tree_size": anchor.last_seq - anchor.first_seq + 1,
                "merkle_root": anchor.merkle_root,
                "tokens": [
                    {
                        "tsa": t.tsa,
                        "time": t.time.isoformat(),
                        "token": base64.b64encode(t.token).decode(),
                    }
                    for t in anchor.tokens
                ],
            }
        )
        proofs.extend(
            {"seq": p.seq, "anchor_id": p.anchor_id, "path": p.path} for p in anchor_proofs
        )
    proved = {p["seq"] for p in proofs}
    pending = sorted(s for s in set(seqs) if s not in proved)
    doc = {
        "format": FORMAT,
        "tree": TREE,
        "note": NOTE,
        "anchors": anchors,
        "proofs": proofs,
        "not_yet_anchored": pending,
    }
    data = json.dumps(doc, indent=1, ensure_ascii=False).encode()
    return AnchorEvidence(data, len(proved), pending)


# -- checking -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Checked:
    holds: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    found: int = 0  # problems found, also those past the listing limit

    def problem(self, text: str) -> None:
        self.found += 1
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)
        elif len(self.problems) == _MAX_PROBLEMS:
            self.problems.append("custody anchors: too many problems; stopped listing them")


@dataclass(frozen=True, slots=True)
class _Anchor:
    id: int
    first_seq: int
    last_seq: int
    root: str
    tokens: list[tuple[str, bytes]]  # (TSA as listed, DER token)


@dataclass(frozen=True, slots=True)
class _Parsed:
    anchors: dict[int, _Anchor]
    proofs: list[tuple[int, int, list[str]]]  # (seq, anchor id, path)
    pending: list[int]


def verify(raw: bytes, recomputed: dict[int, str], roots: Sequence[bytes]) -> Checked:
    """Check ``data/anchors.json`` (``raw``) against the package's custody events, given as
    each seq's hash recomputed from its line, and the TSA ``roots`` (PEM)."""
    checked = Checked()
    try:
        parsed = _parse(raw)
    except ValueError as exc:
        checked.problem(f"custody anchors: data/{ANCHORS} is not what Jikimi writes ({exc})")
        return checked
    by_anchor: dict[int, list[tuple[int, list[str]]]] = {a: [] for a in parsed.anchors}
    for seq, anchor_id, path in parsed.proofs:
        by_anchor[anchor_id].append((seq, path))
    for anchor in parsed.anchors.values():
        _check_anchor(anchor, by_anchor[anchor.id], recomputed, roots, checked)
    _check_coverage(parsed, recomputed, checked)
    return checked


def _check_anchor(
    anchor: _Anchor,
    proofs: list[tuple[int, list[str]]],
    recomputed: dict[int, str],
    roots: Sequence[bytes],
    checked: Checked,
) -> None:
    name = f"custody anchor {anchor.id} (events {anchor.first_seq}..{anchor.last_seq})"
    before = checked.found
    times: list[datetime] = []
    for n, (tsa, token) in enumerate(anchor.tokens, 1):
        result = verify_token(token, bytes.fromhex(anchor.root), roots=roots)
        if result.ok and result.time is not None:
            times.append(result.time)
        else:
            hint = " (--tsa-roots PEM)" if not roots else ""
            checked.problem(f"{name}: token {n} of {tsa}: {result.problem}{hint}")
    for seq, path in proofs:
        event_hash = recomputed.get(seq)
        if event_hash is None:
            checked.problem(
                f"{name}: proves event seq {seq}, which is not in data/custody.jsonl (or its "
                "line there is unreadable)"
            )
            continue
        proof = InclusionProof(seq, anchor.id, anchor.first_seq, anchor.last_seq, anchor.root, path)
        if not verify_proof(proof, event_hash):
            checked.problem(
                f"{name}: event seq {seq} is not under the anchor's root: the event in "
                "data/custody.jsonl, its proof or the root was changed"
            )
    if checked.found == before:
        checked.holds.append(
            f"custody anchor {anchor.id} (events {anchor.first_seq}..{anchor.last_seq}, "
            f"stamped {min(times).isoformat()}): {len(proofs)} events proved included"
        )


def _check_coverage(parsed: _Parsed, recomputed: dict[int, str], checked: Checked) -> None:
    """Every event of custody.jsonl is proved or listed as not yet anchored, and a listed one
    is in no anchor of the file and after the last one (anchors leave no gaps)."""
    proved = {seq for seq, _, _ in parsed.proofs}
    pending = set(parsed.pending)
    ranges = sorted((a.first_seq, a.last_seq, a.id) for a in parsed.anchors.values())
    starts = [first for first, _, _ in ranges]
    for seq in sorted(set(recomputed) - proved - pending):
        checked.problem(
            f"custody anchors: event seq {seq} is neither proved nor listed as not yet anchored"
        )
    for seq in sorted(pending):
        if seq not in recomputed:
            checked.problem(
                f"custody anchors: event seq {seq} is listed as not yet anchored but is not in "
                "data/custody.jsonl"
            )
        at = bisect.bisect_right(starts, seq) - 1
        if at >= 0 and ranges[at][1] >= seq:
            checked.problem(
                f"custody anchors: event seq {seq} is listed as not yet anchored but custody "
                f"anchor {ranges[at][2]} covers it"
            )
        elif ranges and seq < ranges[-1][1]:
            # Anchors follow each other without gaps: an event before the last anchor's end
            # was anchored, and a package that leaves its anchor out hides something.
            checked.problem(
                f"custody anchors: event seq {seq} is listed as not yet anchored, but custody "
                f"anchor {ranges[-1][2]} ends later (seq {ranges[-1][1]}) and anchors leave no "
                "gaps: its anchor was left out"
            )
    if parsed.pending:
        checked.holds.append(
            f"custody anchors: {len(parsed.pending)} events not yet anchored (seq "
            f"{_seqs(parsed.pending)}); a later export can prove them"
        )
    elif not parsed.anchors:
        checked.holds.append("custody anchors: the package holds no custody events to prove")


def _seqs(seqs: list[int]) -> str:
    shown = ", ".join(map(str, seqs[:10]))
    return shown + (f" and {len(seqs) - 10} more" if len(seqs) > 10 else "")


# -- parsing hostile input ----------------------------------------------------------------------


def _parse(raw: bytes) -> _Parsed:
    """The file's contents; :class:`ValueError` naming the first thing that is not as written."""
    try:
        doc = json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(doc, dict) or set(doc) != _TOP_KEYS:
        raise ValueError(f"not an object with the keys {', '.join(sorted(_TOP_KEYS))}")
    if doc["format"] != FORMAT:
        raise ValueError(f"format is not {FORMAT!r}")
    anchors: dict[int, _Anchor] = {}
    for n, entry in enumerate(_list(doc["anchors"], MAX_ANCHORS, "anchors"), 1):
        anchor = _anchor(entry, f"anchor {n}")
        if anchor.id in anchors:
            raise ValueError(f"anchor {n}: id {anchor.id} is listed twice")
        anchors[anchor.id] = anchor
    ordered = sorted(anchors.values(), key=lambda a: a.first_seq)
    for before, after in itertools.pairwise(ordered):
        if after.first_seq <= before.last_seq:
            raise ValueError(f"anchors {before.id} and {after.id} overlap")
    proofs: list[tuple[int, int, list[str]]] = []
    seen: set[int] = set()
    for n, entry in enumerate(_list(doc["proofs"], MAX_PROOFS, "proofs"), 1):
        what = f"proof {n}"
        if not isinstance(entry, dict) or set(entry) != _PROOF_KEYS:
            raise ValueError(f"{what}: not an object with the keys anchor_id, path, seq")
        seq, anchor_id = _seq(entry["seq"], what), entry["anchor_id"]
        anchor = anchors.get(anchor_id) if _is_int(anchor_id) else None
        if anchor is None:
            raise ValueError(f"{what}: anchor_id {anchor_id!r} is not an anchor of the file")
        if not anchor.first_seq <= seq <= anchor.last_seq:
            raise ValueError(f"{what}: seq {seq} is outside anchor {anchor_id}")
        if seq in seen:
            raise ValueError(f"{what}: seq {seq} is proved twice")
        seen.add(seq)
        path = _list(entry["path"], MAX_PATH, f"{what}: path")
        if not all(isinstance(p, str) and _HEX64.fullmatch(p) for p in path):
            raise ValueError(f"{what}: path is not a list of SHA-256 hex values")
        proofs.append((seq, anchor_id, path))
    pending = [
        _seq(s, "not_yet_anchored")
        for s in _list(doc["not_yet_anchored"], MAX_PROOFS, "not_yet_anchored")
    ]
    if len(set(pending)) != len(pending):
        raise ValueError("not_yet_anchored lists a seq twice")
    return _Parsed(anchors, proofs, pending)


def _anchor(entry: Any, what: str) -> _Anchor:
    if not isinstance(entry, dict) or set(entry) != _ANCHOR_KEYS:
        raise ValueError(f"{what}: not an object with the keys {', '.join(sorted(_ANCHOR_KEYS))}")
    first, last = _seq(entry["first_seq"], what), _seq(entry["last_seq"], what)
    if first > last or entry["tree_size"] != last - first + 1:
        raise ValueError(f"{what}: first_seq, last_seq and tree_size do not agree")
    if not _is_int(entry["id"]):
        raise ValueError(f"{what}: id is not an integer")
    root = entry["merkle_root"]
    if not (isinstance(root, str) and _HEX64.fullmatch(root)):
        raise ValueError(f"{what}: merkle_root is not a SHA-256 hex value")
    tokens = []
    for stored in _list(entry["tokens"], MAX_TOKENS, f"{what}: tokens"):
        if not isinstance(stored, dict) or set(stored) != _TOKEN_KEYS:
            raise ValueError(f"{what}: a token is not an object with the keys time, token, tsa")
        if not (isinstance(stored["tsa"], str) and isinstance(stored["token"], str)):
            raise ValueError(f"{what}: a token's tsa or token is not a string")
        if len(stored["token"]) > MAX_TOKEN_BYTES * 4 // 3 + 4:
            raise ValueError(f"{what}: a token is over {MAX_TOKEN_BYTES} bytes")
        try:
            token = base64.b64decode(stored["token"], validate=True)
        except binascii.Error:
            raise ValueError(f"{what}: a token is not base64") from None
        tokens.append((stored["tsa"].encode("unicode_escape").decode()[:200], token))
    if not tokens:
        raise ValueError(f"{what}: no time-stamp token")
    return _Anchor(entry["id"], first, last, root, tokens)


def _list(value: Any, limit: int, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{what} is not a list")
    if len(value) > limit:
        raise ValueError(f"{what}: {len(value)} entries, over the limit of {limit}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _seq(value: Any, what: str) -> int:
    if not (_is_int(value) and 1 <= value <= MAX_SEQ):
        raise ValueError(f"{what}: a seq is not an integer from 1 to {MAX_SEQ}")
    return int(value)
