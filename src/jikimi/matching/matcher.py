"""The matcher: bank entries in, :class:`~jikimi.model.Match` values out. Pure (no database):
the store feeds it active entries on start and every add or withdrawal after, each visible to
the very next lookup.

Indexes, one per signal kind, after python-threatexchange's ``SignalTypeIndex`` per type:

- ``sha256``, ``md5``, ``sha1``, ``video_md5``: :class:`ExactIndex`, distance 0.
- ``pdq``: one shared :class:`MultiIndexPdqIndex` over the entries of every bank, queried at the
  largest ``pdq_threshold`` among the banks and filtered per bank. One index rather than one per
  bank because the same hash usually sits in several banks (a local bank and StopNCII), lookups
  then cost one probe whatever the number of banks, and memory holds each code once per entry
  in one structure; the price, a wider probe when one bank has a high threshold, is paid only by
  deployments that configure it.
- ``vpdq``: :class:`VpdqIndex` (the reference rule: at least 80% of the query's usable frames
  within 31 bits of the entry). ``Match.distance`` is ``100 - round(query match percent)``, so
  0 is a full match and a vPDQ match is never farther than 20.

Rotated and mirrored copies: PDQ is not rotation-invariant, so :meth:`Matcher.match_media` also
queries the PDQ of the other seven dihedral transforms (``MediaSignals.pdq_transforms``) for
banks with ``try_transforms``. Each entry is reported once: in the original orientation when that
matches within the bank's threshold, else with its best distance over the transforms and the
transform's name in ``Match.transform``.

Known-benign suppression: when a lookup (one value, or one media across all its signals) matches
any ``known-benign`` bank, its ``known-abuse`` matches are still returned, each with
``suppressed_by="known-benign:<bank name>"`` (the first such bank by name), so policy can see both
and reviewers can audit the suppression. Results are sorted by (distance, bank, entry_id).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

import numpy as np

from jikimi.errors import BankNotFound, SettingsError
from jikimi.matching.exact import EXACT_SIGNAL_TYPES, ExactIndex
from jikimi.matching.faces import FaceIndex
from jikimi.matching.pdq_index import MultiIndexPdqIndex, pdq_to_bytes
from jikimi.matching.vpdq import VpdqIndex, vpdq_distance
from jikimi.model import BankSpec, EntrySpec, Match, MediaSignals
from jikimi.signals.base import signal_format, validate_value
from jikimi.signals.vpdq_format import VpdqFrame, parse_vpdq

ORIGINAL = "original"
DEFAULT_FACE_THRESHOLD = 0.5  # calibrated in docs/benchmarks.md (bench_faces.py)


class Matcher:
    """Matches signal values and media against banks (see the module docstring)."""

    def __init__(
        self,
        banks: Iterable[BankSpec] = (),
        entries: Iterable[EntrySpec] = (),
        faces: FaceIndex | None = None,
    ) -> None:
        # Protected persons' face templates; the cascade looks faces up here.
        self.faces = faces if faces is not None else FaceIndex(threshold=DEFAULT_FACE_THRESHOLD)
        self._banks: dict[str, BankSpec] = {}
        self._entries: dict[int, EntrySpec] = {}
        self._exact = {t: ExactIndex(t) for t in EXACT_SIGNAL_TYPES}
        self._pdq = MultiIndexPdqIndex()
        self._vpdq = VpdqIndex()
        for bank in banks:
            self.add_bank(bank)
        self.add_entries(entries)

    # -- banks and entries --------------------------------------------------------------------

    def add_bank(self, bank: BankSpec) -> None:
        """Add a bank, or replace its settings (kind, threshold) keeping its entries."""
        if not 0 <= bank.pdq_threshold <= 64:
            raise SettingsError(
                f"bank {bank.name!r}: pdq_threshold {bank.pdq_threshold} is not in 0..64"
            )
        self._banks[bank.name] = bank

    def remove_bank(self, name: str) -> None:
        """Remove a bank; its entries are gone from matching."""
        if name not in self._banks:
            raise BankNotFound(f"no bank named {name!r}; see `jikimi bank list`")
        for entry_id in [e.entry_id for e in self._entries.values() if e.bank == name]:
            self.withdraw(entry_id)
        del self._banks[name]

    def add_entries(self, entries: Iterable[EntrySpec]) -> None:
        """Index active entries; an entry id already present is replaced. Values are validated
        first (:class:`~jikimi.errors.SignalValueError`), so a bad batch changes nothing."""
        batch: list[tuple[EntrySpec, str]] = []
        for e in entries:
            if e.bank not in self._banks:
                raise BankNotFound(f"entry {e.entry_id}: no bank named {e.bank!r}")
            batch.append((e, validate_value(e.signal_type, e.value)))
        for e, _ in batch:
            self.withdraw(e.entry_id)
        pdq = [(e, v) for e, v in batch if e.signal_type == "pdq"]
        if pdq:
            ids = np.array([e.entry_id for e, _ in pdq], dtype=np.int64)
            self._pdq.add(ids, pdq_to_bytes([v for _, v in pdq]))
        for e, v in batch:
            if e.signal_type in self._exact:
                self._exact[e.signal_type].add(v, e.entry_id)
            elif e.signal_type == "vpdq":
                self._vpdq.add(e.entry_id, parse_vpdq(v))
            self._entries[e.entry_id] = EntrySpec(e.entry_id, e.bank, e.signal_type, v)

    def withdraw(self, entry_id: int) -> None:
        """Take an entry out of matching, from the very next lookup. Unknown ids are ignored
        (withdrawal is idempotent)."""
        entry = self._entries.pop(entry_id, None)
        if entry is None:
            return
        if entry.signal_type == "pdq":
            self._pdq.remove([entry_id])
        elif entry.signal_type == "vpdq":
            self._vpdq.remove(entry_id)
        else:
            self._exact[entry.signal_type].remove(entry_id)

    def __len__(self) -> int:
        return len(self._entries)

    def signal_types(self) -> frozenset[str]:
        """The signal types that at least one active entry has (what is worth computing)."""
        types = {t for t, index in self._exact.items() if len(index)}
        if len(self._pdq):
            types.add("pdq")
        if len(self._vpdq):
            types.add("vpdq")
        return frozenset(types)

    @property
    def banks(self) -> Mapping[str, BankSpec]:
        """The banks matched against, by name (read-only view)."""
        return MappingProxyType(self._banks)

    # -- lookups ------------------------------------------------------------------------------

    def match_value(self, signal_type: str, value: str) -> list[Match]:
        """Matches of one value (raises ``SignalValueError`` / ``UnknownSignalType``)."""
        return self.match_values([(signal_type, value)])[0]

    def match_values(self, pairs: Sequence[tuple[str, str]]) -> list[list[Match]]:
        """Matches of each ``(signal_type, value)``; PDQ values are looked up in one batch."""
        norm = [(t, validate_value(t, v)) for t, v in pairs]
        out: list[list[Match]] = [[] for _ in norm]
        pdq_at = [i for i, (t, _) in enumerate(norm) if t == "pdq"]
        if pdq_at:
            codes = pdq_to_bytes([norm[i][1] for i in pdq_at])
            for i, found in zip(pdq_at, self._pdq_lookup(codes), strict=True):
                out[i] = [self._pdq_match(eid, d, None) for eid, d in found]
        for i, (t, v) in enumerate(norm):
            if t == "vpdq":
                out[i] = self._vpdq_lookup(parse_vpdq(v))
            elif t != "pdq":
                out[i] = self._exact_lookup(t, v)
        return [_finish(ms) for ms in out]

    def match_media(self, media: MediaSignals) -> list[Match]:
        """Matches of every signal of one media, PDQ over its dihedral transforms too."""
        found: list[Match] = []
        values = {t: s.value for t, s in media.signals.items()}
        if media.sha256:
            values.setdefault("sha256", media.sha256)
        for t, v in values.items():
            if signal_format(t).distance == "exact" and t in self._exact:
                found += self._exact_lookup(t, validate_value(t, v))
        found += self._pdq_media(media, values.get("pdq"))
        frames = [VpdqFrame(h, q, ts) for _, q, h, ts in media.vpdq_frames]
        if not frames and "vpdq" in values:
            frames = parse_vpdq(values["vpdq"])
        if frames:
            found += self._vpdq_lookup(frames)
        return _finish(found)

    # -- helpers ------------------------------------------------------------------------------

    def _exact_lookup(self, signal_type: str, value: str) -> list[Match]:
        return [self._match(eid, 0, None) for eid in self._exact[signal_type].query(value)]

    def _vpdq_lookup(self, frames: list[VpdqFrame]) -> list[Match]:
        found = self._vpdq.query(frames)
        return [self._match(eid, vpdq_distance(qp), None) for eid, qp, _ in found]

    def _pdq_lookup(self, codes: np.ndarray) -> list[list[tuple[int, int]]]:
        """Per code, ``(entry_id, distance)`` within the entry's bank threshold."""
        if not len(self._pdq) or not self._banks:
            return [[] for _ in codes]
        radius = max(b.pdq_threshold for b in self._banks.values())
        return [
            [(eid, d) for eid, d in found if d <= self._bank_of(eid).pdq_threshold]
            for found in self._pdq.query_many(codes, radius)
        ]

    def _pdq_media(self, media: MediaSignals, original: str | None) -> list[Match]:
        hashes = dict(media.pdq_transforms)
        if original is not None:
            hashes[ORIGINAL] = original
        if not hashes:
            return []
        names = sorted(hashes, key=lambda n: (n != ORIGINAL, n))  # original first
        codes = pdq_to_bytes([hashes[n] for n in names])
        best: dict[int, tuple[bool, int, str]] = {}  # entry -> (not original, distance, name)
        for name, found in zip(names, self._pdq_lookup(codes), strict=True):
            for eid, d in found:
                if name != ORIGINAL and not self._bank_of(eid).try_transforms:
                    continue
                key = (name != ORIGINAL, d, name)
                if eid not in best or key < best[eid]:
                    best[eid] = key
        return [
            self._pdq_match(eid, d, None if name == ORIGINAL else name)
            for eid, (_, d, name) in best.items()
        ]

    def _pdq_match(self, entry_id: int, distance: int, transform: str | None) -> Match:
        return self._match(entry_id, distance, transform)

    def _bank_of(self, entry_id: int) -> BankSpec:
        return self._banks[self._entries[entry_id].bank]

    def _match(self, entry_id: int, distance: int, transform: str | None) -> Match:
        entry = self._entries[entry_id]
        bank = self._banks[entry.bank]
        return Match(
            bank=bank.name,
            entry_id=entry_id,
            signal_type=entry.signal_type,
            distance=int(distance),
            bank_kind=bank.kind,
            transform=transform,
        )


def _finish(matches: list[Match]) -> list[Match]:
    """Apply known-benign suppression and sort (see the module docstring)."""
    benign = sorted({m.bank for m in matches if m.bank_kind == "known-benign"})
    if benign:
        tag = f"known-benign:{benign[0]}"
        matches = [
            Match(m.bank, m.entry_id, m.signal_type, m.distance, m.bank_kind, m.transform, tag)
            if m.bank_kind == "known-abuse"
            else m
            for m in matches
        ]
    return sorted(matches, key=lambda m: (m.distance, m.bank, m.entry_id))


__all__ = ["ORIGINAL", "Matcher"]
