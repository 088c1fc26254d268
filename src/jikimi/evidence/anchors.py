"""Custody anchors: the custody log shown unaltered since a time.

An anchor is a Merkle root over the events after the previous anchor, time-stamped by RFC 3161
authorities (:mod:`jikimi.evidence.timestamps`), stored as a ``custody_anchors`` row and, in
the same transaction, recorded as a ``custody.anchored`` event (which the next anchor covers).

The tree is RFC 6962's (section 2.1; RFC 9162 section 2.1.1), over SHA-256:

- the leaves are the events' hashes in ``seq`` order, each the 32 bytes of its hex ``hash``;
- a leaf's node is ``SHA-256(0x00 || leaf)``;
- for n > 1 leaves, ``MTH(D[0:n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))`` with ``k``
  the largest power of two smaller than ``n``;
- the digest sent to the TSAs is the 32-byte root itself.

An event's hash covers its ``seq``, contents and ``prev_hash``, so the root binds the range,
order and contents. :func:`verify_anchors` recomputes each hash from the stored contents (not
the stored ``hash`` column), so an edited, removed or reordered event in an anchored range
changes the root even when the chain after it was rewritten to match. Inclusion proofs are
RFC 6962 audit paths, checked with RFC 9162 section 2.1.3.2's algorithm.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jikimi.errors import CustodyError
from jikimi.evidence.custody import CustodyLog, row_hash
from jikimi.evidence.timestamps import (
    TimeStamper,
    TimestampFailure,
    TimestampToken,
    token_time,
    verify_token,
)
from jikimi.store.db import write_session
from jikimi.store.models import CustodyAnchor, CustodyEventRecord

ANCHORED = "custody.anchored"

# -- the Merkle tree (pure) ---------------------------------------------------------------------


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 1:
        return leaf_hash(leaves[lo])
    k = lo + _split(hi - lo)
    return node_hash(_mth(leaves, lo, k), _mth(leaves, k, hi))


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash of one or more leaves."""
    if not leaves:
        raise ValueError("a Merkle root needs at least one leaf")
    return _mth(leaves, 0, len(leaves))


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """RFC 6962 audit path of ``leaves[index]``, leaf side first."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is outside a tree of {len(leaves)}")
    path: list[bytes] = []
    lo, hi = 0, len(leaves)
    while hi - lo > 1:
        k = lo + _split(hi - lo)
        if index < k:
            path.append(_mth(leaves, k, hi))
            hi = k
        else:
            path.append(_mth(leaves, lo, k))
            lo = k
    return path[::-1]


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``path`` proves ``leaf`` at ``index`` in the tree of ``size`` leaves with
    ``root`` (RFC 9162 section 2.1.3.2)."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash(leaf)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


# -- anchors in the store -----------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    id: int
    first_seq: int
    last_seq: int
    merkle_root: str  # hex
    tokens: list[TimestampToken]
    created_at: datetime
    created_by: str
    failures: list[TimestampFailure] = field(default_factory=list)  # TSAs that failed, if new


@dataclass(frozen=True)
class InclusionProof:
    """That the event ``seq`` is leaf ``seq - first_seq`` of anchor ``anchor_id``."""

    seq: int
    anchor_id: int
    first_seq: int
    last_seq: int
    merkle_root: str  # hex
    path: list[str]  # hex, leaf side first

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "anchor_id": self.anchor_id,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "merkle_root": self.merkle_root,
            "path": self.path,
        }


def verify_proof(proof: InclusionProof, event_hash_hex: str) -> bool:
    """Whether ``proof`` puts the event with hash ``event_hash_hex`` under its root. The event
    hash should be recomputed from the event's contents by the checker."""
    try:
        leaf = bytes.fromhex(event_hash_hex)
        path = [bytes.fromhex(p) for p in proof.path]
        root = bytes.fromhex(proof.merkle_root)
    except ValueError:
        return False
    size = proof.last_seq - proof.first_seq + 1
    return verify_inclusion(leaf, proof.seq - proof.first_seq, size, path, root)


def _tokens_json(tokens: Sequence[TimestampToken]) -> list[dict[str, str]]:
    return [{"tsa": t.tsa, "token": base64.b64encode(t.token).decode()} for t in tokens]


def _anchor(row: CustodyAnchor, failures: list[TimestampFailure] | None = None) -> Anchor:
    tokens = []
    for stored in row.tokens:
        token = base64.b64decode(stored["token"])
        tokens.append(TimestampToken(stored["tsa"], token, token_time(token)))
    return Anchor(
        id=row.id,
        first_seq=row.first_seq,
        last_seq=row.last_seq,
        merkle_root=row.merkle_root,
        tokens=tokens,
        created_at=row.created_at,
        created_by=row.created_by,
        failures=failures or [],
    )


def _recomputed(row: CustodyEventRecord) -> str | None:
    try:
        return row_hash(row)
    except (TypeError, ValueError):
        return None


class Anchorer:
    """Makes anchors (:meth:`anchor`); the service runs it periodically, in one process at a
    time (:mod:`jikimi.web.periodic`)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        custody: CustodyLog,
        stamper: TimeStamper,
        *,
        actor: str,
        tool_version: str,
    ) -> None:
        self._sessions = sessions
        self._custody = custody
        self._stamper = stamper
        self._actor = actor
        self._tool_version = tool_version

    def anchor(self) -> Anchor | None:
        """Anchor the events after the last anchor; ``None`` when there is nothing new (no
        events, or only the last anchor's own ``custody.anchored`` event). Refuses
        (:class:`CustodyError`) to anchor events that do not verify; raises
        :class:`~jikimi.errors.TimestampError` when no TSA gave a token (nothing stored)."""
        after, leaves, kinds = self._new_events()
        if not leaves or kinds == {ANCHORED}:
            return None
        first, last = after + 1, after + len(leaves)
        root = merkle_root(leaves)
        tokens = self._stamper.stamp(root)  # outside any transaction: the network is slow
        failures = list(self._stamper.last_failures)
        payload = {
            "first_seq": first,
            "last_seq": last,
            "merkle_root": root.hex(),
            "tsas": [t.tsa for t in tokens],
            "tsa_failures": [{"tsa": f.tsa, "problem": f.problem} for f in failures],
        }
        with write_session(self._sessions) as session:
            # Appending first takes the chain's lock, so two anchorers cannot both pass this:
            self._custody.append(
                ANCHORED,
                f"custody:{first}-{last}",
                payload,
                actor=self._actor,
                tool_version=self._tool_version,
                session=session,
            )
            if _last_anchored(session) != after:
                raise CustodyError("another anchor was made meanwhile; run the anchor again")
            row = CustodyAnchor(
                first_seq=first,
                last_seq=last,
                merkle_root=root.hex(),
                tokens=_tokens_json(tokens),
                created_by=self._actor,
            )
            session.add(row)
            session.flush()
            return _anchor(row, failures)

    def _new_events(self) -> tuple[int, list[bytes], set[str]]:
        with self._sessions() as session:
            after = _last_anchored(session)
            start = max(after, 1)  # the last anchored event too, to check the link from it
            rows = session.execute(
                select(CustodyEventRecord)
                .where(CustodyEventRecord.seq >= start)
                .order_by(CustodyEventRecord.seq)
            ).scalars()
            leaves: list[bytes] = []
            kinds: set[str] = set()
            prev_hash: str | None = None
            for row in rows:
                if _recomputed(row) != row.hash or (prev_hash and row.prev_hash != prev_hash):
                    raise CustodyError(
                        f"seq {row.seq} does not verify; not anchoring a damaged log "
                        "(run `jikimi custody verify`)"
                    )
                prev_hash = row.hash
                if row.seq <= after:
                    continue
                if row.seq != after + len(leaves) + 1:
                    raise CustodyError(
                        f"seq {after + len(leaves) + 1} is missing; not anchoring a damaged log"
                    )
                leaves.append(bytes.fromhex(row.hash))
                kinds.add(row.kind)
            return after, leaves, kinds


def _last_anchored(session: Session) -> int:
    return int(session.scalar(select(func.max(CustodyAnchor.last_seq))) or 0)


def anchors(sessions: sessionmaker[Session]) -> list[Anchor]:
    with sessions() as session:
        rows = session.scalars(select(CustodyAnchor).order_by(CustodyAnchor.first_seq)).all()
        return [_anchor(r) for r in rows]


def inclusion_proof(sessions: sessionmaker[Session], seq: int) -> InclusionProof | None:
    """The proof that event ``seq`` is in its anchor; ``None`` while it is not anchored."""
    with sessions() as session:
        row = session.scalar(
            select(CustodyAnchor).where(
                CustodyAnchor.first_seq <= seq, CustodyAnchor.last_seq >= seq
            )
        )
        if row is None:
            return None
        hashes = session.scalars(
            select(CustodyEventRecord.hash)
            .where(CustodyEventRecord.seq.between(row.first_seq, row.last_seq))
            .order_by(CustodyEventRecord.seq)
        ).all()
    path = inclusion_path([bytes.fromhex(h) for h in hashes], seq - row.first_seq)
    return InclusionProof(
        seq=seq,
        anchor_id=row.id,
        first_seq=row.first_seq,
        last_seq=row.last_seq,
        merkle_root=row.merkle_root,
        path=[p.hex() for p in path],
    )


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """The RFC 6962 tree level by level, leaves' nodes first: an odd last node moves up a
    level unhashed, which gives the same tree as section 2.1's recursive split."""
    level = [leaf_hash(leaf) for leaf in leaves]
    levels = [level]
    while len(level) > 1:
        up = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            up.append(level[-1])
        levels.append(up)
        level = up
    return levels


def _path_in(levels: list[list[bytes]], index: int) -> list[bytes]:
    path = []
    for level in levels[:-1]:
        if index ^ 1 < len(level):
            path.append(level[index ^ 1])
        index >>= 1
    return path


def inclusion_proofs(
    sessions: sessionmaker[Session], seqs: Iterable[int]
) -> list[tuple[Anchor, list[InclusionProof]]]:
    """Proofs for every anchored seq of ``seqs``, by anchor in seq order: each anchor's events
    are read once and its tree built once (:func:`inclusion_proof` reads them for every seq).
    Seqs not anchored yet are in no proof."""
    wanted = sorted(set(seqs))
    if not wanted:
        return []
    found: list[tuple[Anchor, list[InclusionProof]]] = []
    with sessions() as session:
        rows = session.scalars(
            select(CustodyAnchor)
            .where(CustodyAnchor.last_seq >= wanted[0], CustodyAnchor.first_seq <= wanted[-1])
            .order_by(CustodyAnchor.first_seq)
        ).all()
        for row in rows:
            inside = [s for s in wanted if row.first_seq <= s <= row.last_seq]
            if not inside:
                continue
            hashes = session.scalars(
                select(CustodyEventRecord.hash)
                .where(CustodyEventRecord.seq.between(row.first_seq, row.last_seq))
                .order_by(CustodyEventRecord.seq)
            ).all()
            levels = _levels([bytes.fromhex(h) for h in hashes])
            proofs = [
                InclusionProof(
                    seq=seq,
                    anchor_id=row.id,
                    first_seq=row.first_seq,
                    last_seq=row.last_seq,
                    merkle_root=row.merkle_root,
                    path=[p.hex() for p in _path_in(levels, seq - row.first_seq)],
                )
                for seq in inside
            ]
            found.append((_anchor(row), proofs))
    return found


# -- verification -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorCheck:
    anchor_id: int
    first_seq: int
    last_seq: int
    merkle_root: str
    times: list[tuple[str, datetime]]  # (TSA that signed, time) of each token that verifies
    problems: list[str]


@dataclass(frozen=True)
class AnchorReport:
    checks: list[AnchorCheck]
    problems: list[str]  # every anchor's problems, and those between anchors

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_anchors(sessions: sessionmaker[Session], *, roots: Sequence[bytes]) -> AnchorReport:
    """Recompute every anchor's root from the log's contents and check its tokens offline
    against ``roots`` (PEM). Also notices anchors that do not follow each other and
    ``custody.anchored`` events whose anchor row is gone."""
    checks: list[AnchorCheck] = []
    problems: list[str] = []
    expected_first = 1
    with sessions() as session:
        rows = session.scalars(select(CustodyAnchor).order_by(CustodyAnchor.first_seq)).all()
        for row in rows:
            if row.first_seq != expected_first:
                problems.append(
                    f"anchor {row.id} starts at seq {row.first_seq}, the one before it ended at "
                    f"seq {expected_first - 1} (an anchor removed or edited)"
                )
            expected_first = row.last_seq + 1
            check = _check_anchor(session, row, roots)
            checks.append(check)
            problems.extend(
                f"anchor {row.id} (seq {row.first_seq}..{row.last_seq}): {p}"
                for p in check.problems
            )
        problems.extend(_orphaned_events(session, rows))
    return AnchorReport(checks, problems)


def _check_anchor(session: Session, row: CustodyAnchor, roots: Sequence[bytes]) -> AnchorCheck:
    problems: list[str] = []
    events = session.scalars(
        select(CustodyEventRecord)
        .where(CustodyEventRecord.seq.between(row.first_seq, row.last_seq))
        .order_by(CustodyEventRecord.seq)
    ).all()
    present = {e.seq for e in events}
    missing = [s for s in range(row.first_seq, row.last_seq + 1) if s not in present]
    if missing:
        problems.append(f"events missing: seq {', '.join(map(str, missing[:10]))}")
    leaves = [bytes.fromhex(_recomputed(e) or "") for e in events]
    root = bytes.fromhex(row.merkle_root)
    if not leaves or merkle_root(leaves) != root:
        problems.append(
            "the Merkle root does not match the log: an event in the range was edited, "
            "removed or reordered since it was anchored"
        )
    times: list[tuple[str, datetime]] = []
    if not row.tokens:
        problems.append("no time-stamp token")
    for stored in row.tokens:
        tsa = stored.get("tsa", "?")
        try:
            token = base64.b64decode(stored["token"], validate=True)
        except (KeyError, ValueError):
            problems.append(f"token of {tsa}: not base64")
            continue
        result = verify_token(token, root, roots=roots)
        if result.ok and result.time is not None:
            times.append((tsa, result.time))
        else:
            hint = "; set tsa_certificates" if not roots else ""
            problems.append(f"token of {tsa}: {result.problem}{hint}")
    return AnchorCheck(row.id, row.first_seq, row.last_seq, row.merkle_root, times, problems)


def _orphaned_events(session: Session, rows: Sequence[CustodyAnchor]) -> list[str]:
    stored = {(r.first_seq, r.last_seq, r.merkle_root) for r in rows}
    events = session.scalars(
        select(CustodyEventRecord).where(CustodyEventRecord.kind == ANCHORED)
    ).all()
    problems = []
    for event in events:
        p = event.payload
        if (p.get("first_seq"), p.get("last_seq"), p.get("merkle_root")) not in stored:
            problems.append(
                f"seq {event.seq} records an anchor of seq {p.get('first_seq')}.."
                f"{p.get('last_seq')} that is no longer stored (anchor removed or edited)"
            )
    return problems
