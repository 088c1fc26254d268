"""A scan finds an enrolled person's face; flagged faces are kept for retroactive search."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Runner
from tests.persons.images import astronaut, flipped, other_people, resized, save

CONSENT = ("--consent-by", "Jane Doe (signed form 2026-11-01)")


def test_scan_matches_an_enrolled_face_and_later_enrolment_finds_it(
    cli: Runner, workspace: Path, tmp_path: Path
) -> None:
    enrol_photo = save(astronaut(), tmp_path / "enrol.png")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    save(resized(flipped(astronaut()), 400), inbox / "copy.png")
    save(resized(other_people(1)[0], 300), inbox / "other.png")

    # Before enrolment: faces run (override), nothing is flagged, no template is kept.
    run = cli("scan", inbox, "--signals", "faces", "--json", "--workers", "0")
    assert all(not r["matches"] for r in run.json_lines()), run.err

    enrolled = cli("person", "enroll", "Jane Doe", enrol_photo, *CONSENT, "--json")
    assert enrolled.code == 0, enrolled.err
    person = enrolled.json_lines()[0]
    assert person["retroactive"] == []  # no flagged media, so no faces were kept

    (copy_dir := tmp_path / "again").mkdir()
    save(resized(flipped(astronaut()), 380), copy_dir / "copy2.png")
    run = cli("scan", copy_dir, "--signals", "faces", "--json", "--workers", "0")
    (result,) = run.json_lines()
    (match,) = result["matches"]
    assert match["person"] == person["person_id"] and match["name"] == "Jane Doe"
    assert match["distance"] < 0.5 and len(match["box"]) == 4

    # The person match flagged the media: its face template was kept, so a later search
    # (e.g. after the person's templates are re-enrolled) finds it without rescanning.
    search = cli("person", "search", person["person_id"], "--json")
    assert search.code == 0, search.err
    hits = search.json_lines()
    assert [h["media_sha256"] for h in hits] == [result["sha256"]]
