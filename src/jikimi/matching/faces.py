"""Face templates of protected persons, and the lookup of faces found in media against them.

Templates are dlib's 128-d face descriptors (King, "dlib-ml", JMLR 2009; the ResNet model of
dlib 19.x): two faces are the same person when the Euclidean distance of their templates is at
most the threshold (calibrated in docs/benchmarks.md). The index is a plain matrix scanned in
full: a support centre enrols thousands of people at most, a scan finds faces only in flagged
media, and the linear scan is its own reference. Removal is immediate.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from jikimi.model import Match

TEMPLATE_SIZE = 128
SIGNAL = "faces"
BANK_KIND = "protected-person"


@dataclass(frozen=True, slots=True)
class PersonTemplate:
    person_id: str
    name: str
    template: np.ndarray  # float32 (128,)


class FaceIndex:
    """Enrolled templates; :meth:`match` gives each person's best face within the threshold."""

    def __init__(self, templates: Iterable[PersonTemplate] = (), *, threshold: float) -> None:
        if not 0 < threshold < 2:
            raise ValueError(f"face match threshold {threshold} is not in (0, 2)")
        self.threshold = threshold
        self._people: list[tuple[str, str]] = []
        self._matrix = np.zeros((0, TEMPLATE_SIZE), np.float32)
        self.add(templates)

    def __len__(self) -> int:
        return len(self._people)

    def add(self, templates: Iterable[PersonTemplate]) -> None:
        rows = []
        for t in templates:
            vector = np.asarray(t.template, np.float32).reshape(-1)
            if vector.shape != (TEMPLATE_SIZE,) or not np.isfinite(vector).all():
                raise ValueError(f"template of {t.person_id} is not {TEMPLATE_SIZE} finite floats")
            rows.append(vector)
            self._people.append((t.person_id, t.name))
        if rows:
            self._matrix = np.vstack([self._matrix, np.stack(rows)])

    def remove_person(self, person_id: str) -> None:
        keep = [i for i, (pid, _) in enumerate(self._people) if pid != person_id]
        self._people = [self._people[i] for i in keep]
        self._matrix = self._matrix[keep]

    def match(self, faces: Sequence[tuple[Sequence[int], np.ndarray]]) -> list[Match]:
        """For each (box, template) found in a media, every enrolled person within the
        threshold, once per person at their closest face; sorted by distance."""
        if not len(self._people) or not faces:
            return []
        best: dict[str, tuple[float, tuple[int, int, int, int], str]] = {}
        for box, template in faces:
            query = np.asarray(template, np.float32).reshape(-1)
            if query.shape != (TEMPLATE_SIZE,):
                continue
            distances = np.linalg.norm(self._matrix - query, axis=1)
            for i in np.flatnonzero(distances <= self.threshold):
                person_id, name = self._people[i]
                d = float(distances[i])
                if person_id not in best or d < best[person_id][0]:
                    left, top, right, bottom = (int(v) for v in box)
                    best[person_id] = (d, (left, top, right, bottom), name)
        return sorted(
            (
                Match(
                    bank=f"person:{pid}",
                    entry_id=0,
                    signal_type=SIGNAL,
                    distance=d,
                    bank_kind=BANK_KIND,
                    person=pid,
                    person_name=name,
                    box=box,
                )
                for pid, (d, box, name) in best.items()
            ),
            key=lambda m: (m.distance, m.person or ""),
        )
