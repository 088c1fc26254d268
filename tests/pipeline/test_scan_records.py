"""A scan records each media's findings and, with the sighting, the plan and steps it ran."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from tests.pipeline.test_cascade import _registry

from jikimi.demo.synthetic import photo_like
from jikimi.pipeline.scan import Scanner, ScanOptions
from jikimi.settings import Settings
from jikimi.store.models import Sighting
from jikimi.workspace import Workspace


def test_findings_plan_and_steps_are_recorded(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for seed in range(3):
        photo_like(320, 240, seed=seed).save(folder / f"p{seed}.jpg", quality=90)
    settings = Settings(home=tmp_path / "home")
    registry, _ = _registry(nudity=0.7, faces=0.0)
    with Workspace.init(settings) as ws:
        # In-process: worker processes would load their own registry from entry points.
        scanner = Scanner(ws, ScanOptions(workers=0), registry)
        results = list(scanner.run(scanner.walk([folder])))
        assert [r.signals["nudity"]["value"]["score"] for r in results] == [0.7] * 3
        stored = ws.media.get(results[0].sha256 or "")
        assert stored is not None
        assert stored["findings"]["nudity"]["value"]["score"] == 0.7
        assert "faces" in stored["findings"]
        with ws.sessions() as session:
            sighting = session.scalars(select(Sighting)).first()
            assert sighting is not None and sighting.plan and sighting.steps
            assert sighting.plan[0] == "hashes"
            assert {s["component"] for s in sighting.steps} >= {"compute_signals", "nudity"}
