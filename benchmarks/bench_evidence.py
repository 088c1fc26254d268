"""Evidence packages and custody anchors (issue 9): one large case exported and verified, and an
anchor over a long custody log.

    .venv/bin/python benchmarks/bench_evidence.py [--items 1000] [--media-kb 200]
        [--events 100000] [--proofs 1000] [--database-url URL] [--seed N]

A fresh workspace in a temp folder (SQLite there unless ``--database-url``, which must name an
empty database) and a throwaway RFC 3161 TSA on 127.0.0.1 (``openssl ts -reply``,
tests/support/local_tsa.py; ``tsa_urls`` points at it, so packages and anchors carry real tokens).

1. A case built directly in the store: ``--items`` items (each with a small raw record) each
   holding one media of ``--media-kb`` KB of random bytes, kept (encrypted) in the workspace's
   vault; the custody events of the case, its items and media, anchored. Timed:
   :func:`export_case` (wall time, zip size, payload files) and :func:`verify_package` against
   the TSA's root (its answer must be ok).
2. ``--events`` more custody events, hash-chained and bulk-inserted (the fill is not the
   measure). Timed: :meth:`Anchorer.anchor` over them (read, recompute every event's hash,
   Merkle root, one loopback TSA request, store), :func:`merkle_root` alone over the same leaves
   in memory, :func:`inclusion_proofs` for ``--proofs`` random seqs of that anchor (each then
   checked with :func:`verify_proof`, untimed), and one :func:`inclusion_proof` for contrast.

Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker
from tests.support.local_tsa import running_tsa

from jikimi import __version__
from jikimi.evidence.anchors import (
    Anchorer,
    inclusion_proof,
    inclusion_proofs,
    merkle_root,
    verify_proof,
)
from jikimi.evidence.custody import event_hash
from jikimi.evidence.package import export_case
from jikimi.evidence.package_verify import verify_package
from jikimi.evidence.timestamps import TimeStamper
from jikimi.settings import load_settings
from jikimi.store.db import write_session
from jikimi.store.models import (
    Case,
    CustodyEventRecord,
    CustodyHead,
    Item,
    ItemMedia,
    MediaRecord,
    utcnow,
)
from jikimi.workspace import Workspace

BATCH = 10_000
Event = tuple[str, str, dict[str, Any]]  # kind, subject, payload


def append_events(sessions: sessionmaker[Session], events: Iterable[Event]) -> int:
    """Append events hash-chained exactly as ``CustodyLog.append`` chains them, in bulk
    inserts; returns the last seq."""
    with write_session(sessions) as s:
        head = s.get(CustodyHead, 1)
        assert head is not None
        seq, prev = head.seq, head.hash
        batch: list[dict[str, Any]] = []
        for kind, subject, payload in events:
            seq += 1
            fields: dict[str, Any] = {
                "seq": seq,
                "at": datetime.now(UTC),
                "kind": kind,
                "subject": subject,
                "actor": "bench",
                "tool_version": __version__,
                "payload": payload,
                "prev_hash": prev,
            }
            prev = event_hash(**fields)
            batch.append({**fields, "hash": prev})
            if len(batch) == BATCH:
                s.execute(insert(CustodyEventRecord), batch)
                batch = []
        if batch:
            s.execute(insert(CustodyEventRecord), batch)
        s.execute(update(CustodyHead).where(CustodyHead.id == 1).values(seq=seq, hash=prev))
    return seq


def build_case(ws: Workspace, items: int, media_bytes: int, seed: int) -> int:
    """A case of ``items`` items, each with one kept media of random bytes; its id."""
    rng = random.Random(seed)
    shas: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        blob = Path(tmp) / "blob"
        for _ in range(items):
            data = rng.randbytes(media_bytes)
            blob.write_bytes(data)
            sha = hashlib.sha256(data).hexdigest()
            ws.vault.put_file(blob, sha)
            shas.append(sha)
    now = utcnow()
    with write_session(ws.sessions) as s:
        case = Case(queue="bench", origin="verdict")
        s.add(case)
        s.flush()
        case_id = case.id
        s.execute(
            insert(MediaRecord),
            [
                {
                    "sha256": sha,
                    "size": media_bytes,
                    "media_type": "document",
                    "mime": "application/octet-stream",
                    "signals": {"sha256": sha},
                    "notes": [],
                    "kept_in_vault": True,
                    "first_seen": now,
                    "last_seen": now,
                }
                for sha in shas
            ],
        )
        rows = [
            Item(
                platform="bench",
                chat_id="-1001",
                message_id=str(n),
                meta={},
                submitted_by="bench",
                case_id=case_id,
                raw=f'{{"id": {n}, "type": "message", "text": "bench item {n}"}}',
            )
            for n in range(items)
        ]
        s.add_all(rows)
        s.flush()
        ids = [r.id for r in rows]
        s.execute(
            insert(ItemMedia),
            [
                {"item_id": i, "position": 0, "media_sha256": sha}
                for i, sha in zip(ids, shas, strict=True)
            ],
        )
    case_events: list[Event] = [("case.opened", f"case:{case_id}", {"items": items})]
    case_events += [("item.received", f"item:{i}", {"media": 1}) for i in ids]
    case_events += [("media.kept", f"media:{sha}", {"size": media_bytes}) for sha in shas]
    append_events(ws.sessions, case_events)
    return case_id


def bench_events(n: int) -> Iterator[Event]:
    for i in range(n):
        yield "bench.event", f"bench:{i}", {"i": i}


def timed(label: str, results: list[tuple[str, str]], seconds: float, note: str = "") -> None:
    results.append((label, f"{seconds:.3f} s" + (f" ({note})" if note else "")))
    print(f"{label}: {seconds:.3f} s", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=1000, help="items in the case")
    ap.add_argument("--media-kb", type=int, default=200, help="KB of each item's kept media")
    ap.add_argument("--events", type=int, default=100_000, help="custody events to anchor")
    ap.add_argument("--proofs", type=int, default=1000, help="seqs to prove")
    ap.add_argument("--database-url", default=None, help="an empty database (default: SQLite)")
    ap.add_argument("--seed", type=int, default=20261125)
    args = ap.parse_args()
    out: list[tuple[str, str]] = []

    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as tmp, running_tsa() as tsa:
        extra = {"database_url": args.database_url} if args.database_url else {}
        settings = load_settings(
            home=Path(tmp) / "home", operator="bench", tsa_urls=[tsa.url], **extra
        )
        with Workspace.init(settings) as ws:
            anchorer = Anchorer(
                ws.sessions,
                ws.custody,
                TimeStamper([tsa.url]),
                actor="bench",
                tool_version=__version__,
            )
            t0 = time.perf_counter()
            case_id = build_case(ws, args.items, args.media_kb * 1024, args.seed)
            anchorer.anchor()  # the case's events: the package carries their proofs
            print(f"built the case in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

            package = Path(tmp) / "case.zip"
            t0 = time.perf_counter()
            summary = export_case(ws, case_id, package, actor="bench")
            timed("export_case", out, time.perf_counter() - t0)
            with zipfile.ZipFile(package) as zf:
                members = len(zf.namelist())
            size = package.stat().st_size
            media = len(summary.media_included)
            out.append(("package", f"{size / 2**20:,.1f} MiB, {summary.files:,} payload files, "
                        f"{members:,} zip entries, {media:,} media"))  # fmt: skip
            t0 = time.perf_counter()
            check = verify_package(package, roots=[tsa.root_pem])
            timed("verify_package", out, time.perf_counter() - t0, f"ok: {check.ok}")
            if not check.ok:
                raise SystemExit(f"the package does not verify: {check.problems}")

            t0 = time.perf_counter()
            last = append_events(ws.sessions, bench_events(args.events))
            fill = time.perf_counter() - t0
            print(f"appended {args.events:,} events in {fill:.1f} s", file=sys.stderr)
            t0 = time.perf_counter()
            anchor = anchorer.anchor()
            assert anchor is not None and anchor.last_seq == last
            leaves_n = anchor.last_seq - anchor.first_seq + 1
            timed("Anchorer.anchor", out, time.perf_counter() - t0, f"{leaves_n:,} events")
            with ws.sessions() as s:
                hashes = dict(
                    s.execute(
                        select(CustodyEventRecord.seq, CustodyEventRecord.hash).where(
                            CustodyEventRecord.seq.between(anchor.first_seq, anchor.last_seq)
                        )
                    ).all()
                )
            leaves = [bytes.fromhex(hashes[q]) for q in range(anchor.first_seq, last + 1)]
            t0 = time.perf_counter()
            root = merkle_root(leaves)
            timed("merkle_root alone (in memory)", out, time.perf_counter() - t0)
            assert root.hex() == anchor.merkle_root

            seqs = random.Random(args.seed).sample(range(anchor.first_seq, last + 1), args.proofs)
            t0 = time.perf_counter()
            [(_, proofs)] = inclusion_proofs(ws.sessions, seqs)
            timed("inclusion_proofs", out, time.perf_counter() - t0, f"{len(proofs):,} seqs")
            bad = [p.seq for p in proofs if not verify_proof(p, hashes[p.seq])]
            if len(proofs) != len(set(seqs)) or bad:
                raise SystemExit(f"{len(proofs)} proofs for {len(seqs)} seqs; bad: {bad[:10]}")
            t0 = time.perf_counter()
            one = inclusion_proof(ws.sessions, seqs[0])
            timed("inclusion_proof (one seq)", out, time.perf_counter() - t0)
            assert one is not None and verify_proof(one, hashes[seqs[0]])
            database = "PostgreSQL" if args.database_url else "SQLite"

    print(f"\n{database}; case of {args.items:,} items x {args.media_kb} KB kept media; "
          f"{args.events:,} events appended in {fill:.1f} s (untimed)\n")  # fmt: skip
    print("| measure | value |\n|---|---|")
    for k, v in out:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
