"""`jikimi person ...` through the real entry point, with the real faces extractor.

The only real face is skimage's astronaut (NASA, public domain); other people are skimage's
lfw_subset face crops, upsampled. No photo is ever stored: the tests check the workspace too.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from sqlalchemy import select
from tests.cli.conftest import Runner
from tests.conformance.extractor import media_input
from tests.persons.images import astronaut, collage, flipped, other_people, resized, save

from jikimi.cli.person import person_store
from jikimi.settings import load_settings
from jikimi.signals.faces import load
from jikimi.store.models import MediaRecord, utcnow
from jikimi.workspace import Workspace

CONSENT = ("--consent-by", "the person, in person at the centre")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return save(astronaut(), tmp_path / "reference.png")


def _enrol(cli: Runner, *photos: Path, extra: tuple[str, ...] = ()) -> dict:
    run = cli("person", "enroll", "Jane Doe", *photos, *CONSENT, *extra, "--json")
    assert run.code == 0, run.err
    (out,) = run.json_lines()
    return out


def _db(home: Path) -> Path:
    return next(home.glob("*.db"))


def test_enroll_list_and_delete(cli: Runner, workspace: Path, photo: Path) -> None:
    run = cli(
        "person", "enroll", "Jane Doe", photo, *CONSENT,
        "--authority", "Seoul support centre", "--scope", "workspace", "--scope", "telegram",
        "--expires", "2099-12-31",
    )  # fmt: skip
    assert run.code == 0, run.err
    person_id = run.out.splitlines()[0]
    assert person_id.startswith("prs_") and len(person_id) == 16
    assert "0 match" in run.out

    (listed,) = cli("person", "list", "--json").json_lines()
    assert listed["person_id"] == person_id and listed["templates"] == 1
    assert listed["authority"] == "Seoul support centre"
    assert listed["scope"] == ["workspace", "telegram"]
    assert listed["expires_at"].startswith("2099-12-31")
    assert listed["enrolled_by"] == "tester"
    assert 'template"' not in json.dumps(listed) and "box" not in listed
    assert person_id in cli("person", "list").out

    # Nothing of the photo in the workspace: neither its bytes' digest nor its path.
    digest = hashlib.sha256(photo.read_bytes()).hexdigest()
    events = cli("custody", "verify", "--json")
    assert events.code == 0
    with sqlite3.connect(_db(workspace)) as conn:
        dump = "\n".join(conn.iterdump())
    assert digest not in dump and str(photo) not in dump and "reference.png" not in dump

    run = cli("person", "delete", person_id, "--reason", "consent withdrawn")
    assert run.code == 0, run.err
    assert cli("person", "list", "--json").json_lines() == []
    (tomb,) = cli("person", "list", "--deleted", "--json").json_lines()
    assert tomb["deleted_by"] == "tester" and tomb["delete_reason"] == "consent withdrawn"
    assert tomb["templates"] == 0
    run = cli("person", "delete", person_id)
    assert run.code == 1 and "was deleted" in run.err


def test_refused_photos_are_listed_and_nothing_is_stored(
    cli: Runner, workspace: Path, photo: Path, tmp_path: Path
) -> None:
    coffee = save(skimage.data.coffee(), tmp_path / "coffee.png")
    group = save(collage(), tmp_path / "group.png")
    tiny = save(resized(astronaut(), 230), tmp_path / "tiny.png")
    text = tmp_path / "letter.jpg"
    text.write_text("not a photo at all\n")
    run = cli("person", "enroll", "Jane Doe", photo, coffee, group, tiny, text, *CONSENT)
    assert run.code == 1
    assert "nothing stored" in run.err
    assert f"{coffee}: no face found" in run.err
    assert f"{group}: 3 faces found" in run.err
    assert f"{tiny}: face too small" in run.err
    assert f"{text}: unsupported: not an image" in run.err
    assert str(photo) not in run.err  # the good photo is not a refusal
    assert cli("person", "list", "--deleted", "--json").json_lines() == []
    assert "person:" not in cli("bank", "list").out


def test_enroll_needs_consent_and_a_valid_expiry(cli: Runner, workspace: Path, photo: Path) -> None:
    assert cli("person", "enroll", "Jane Doe", photo).code == 2
    run = cli("person", "enroll", "Jane Doe", photo, *CONSENT, "--expires", "31/12/2099")
    assert run.code == 2 and "YYYY-MM-DD" in run.err
    run = cli("person", "enroll", "Jane Doe", photo, *CONSENT, "--expires", "2001-01-01")
    assert run.code == 1 and "future" in run.err


def test_add_hashes_then_match_then_delete(
    cli: Runner, workspace: Path, photo: Path, tmp_path: Path
) -> None:
    person_id = _enrol(cli, photo)["person_id"]
    own = save(skimage.data.chelsea(), tmp_path / "own.png")
    hashed = cli("hash", own, "--json")
    assert hashed.code == 0, hashed.err
    record = hashed.json_lines()[0]
    lines = [
        hashed.out.strip(),
        "{broken json",
        json.dumps({"file": "x.jpg", "error": "corrupt", "error_reason": "corrupt"}),
        json.dumps({"file": "y.jpg", "md5": "nothex"}),
    ]
    hashes = tmp_path / "hashes.jsonl"
    hashes.write_text("\n".join(lines) + "\n")
    run = cli("person", "add-hashes", person_id, hashes)
    assert run.code == 3
    assert f"{hashes}:2:" in run.err and f"{hashes}:4:" in run.err
    assert f"{hashes}:3: skipped" in run.err
    assert "added 4 hashes" in run.out  # sha256, md5, sha1, pdq

    bank = f"person:{person_id}"
    run = cli("match", "sha256", record["sha256"], "--json")
    assert run.code == 4
    assert [m["bank"] for m in run.json_lines()[0]["matches"]] == [bank]

    assert cli("person", "delete", person_id).code == 0
    run = cli("match", "sha256", record["sha256"], "--json")
    assert run.code == 0 and run.json_lines()[0]["matches"] == []
    assert bank not in cli("bank", "list").out
    run = cli("person", "add-hashes", person_id, hashes)
    assert run.code == 1 and "was deleted" in run.err


def _own_hashes(cli: Runner, tmp_path: Path, *extra: str) -> tuple[Path, dict]:
    """A `jikimi hash --json` file of an image of the person's own (benign: skimage's cat),
    with ``extra`` lines after it; and the image's record."""
    own = save(skimage.data.chelsea(), tmp_path / "own.png")
    hashed = cli("hash", own, "--json")
    assert hashed.code == 0, hashed.err
    hashes = tmp_path / "hashes.jsonl"
    hashes.write_text("\n".join([hashed.out.strip(), *extra]) + "\n")
    return hashes, hashed.json_lines()[0]


def test_enroll_from_hashes_alone(
    cli: Runner, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashes, record = _own_hashes(
        cli, tmp_path, "{broken json", json.dumps({"file": "x.jpg", "error": "corrupt"})
    )

    def no_faces(*args: object) -> None:
        raise AssertionError("the faces extractor was loaded for an enrolment without photos")

    monkeypatch.setattr("jikimi.cli.person.faces.load", no_faces)
    run = cli("person", "enroll", "Jane Doe", "--hashes", hashes, *CONSENT, "--json")
    assert run.code == 3, run.err  # a line was rejected; the good ones are enrolled
    assert f"{hashes}:2: not JSON" in run.err and f"{hashes}:3: skipped" in run.err
    (out,) = run.json_lines()
    assert out["templates"] == 0 and out["hashes"] == 4  # sha256, md5, sha1, pdq
    ((rejected_line, reason),) = [(r["line"], r["reason"]) for r in out["rejected"]]
    assert rejected_line == 2 and reason.startswith("not JSON")
    assert [s["line"] for s in out["skipped"]] == [3] and out["retroactive"] == []
    person_id = out["person_id"]

    (listed,) = cli("person", "list", "--json").json_lines()
    assert (listed["person_id"], listed["templates"]) == (person_id, 0)
    assert "\t0 templates\t" in cli("person", "list").out
    run = cli("match", "sha256", record["sha256"], "--json")
    assert run.code == 4
    assert [m["bank"] for m in run.json_lines()[0]["matches"]] == [f"person:{person_id}"]
    run = cli("person", "search", person_id, "--json")
    assert run.code == 0 and run.json_lines() == []
    assert cli("custody", "verify").code == 0

    good = tmp_path / "good.jsonl"
    good.write_text(hashes.read_text().splitlines()[0] + "\n")
    run = cli("person", "enroll", "Jane Roe", "--hashes", good, *CONSENT)
    assert run.code == 0, run.err
    assert run.out.splitlines()[1].startswith("added 4 hashes to person:prs_")
    assert "retroactive search: no face template, nothing to compare" in run.out


def test_enroll_needs_a_photo_or_a_hash(cli: Runner, workspace: Path, tmp_path: Path) -> None:
    run = cli("person", "enroll", "Jane Doe", *CONSENT)
    assert run.code == 2 and "--hashes" in run.err
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n" + json.dumps({"file": "y.jpg", "md5": "nothex"}) + "\n")
    run = cli("person", "enroll", "Jane Doe", "--hashes", bad, *CONSENT)
    assert run.code == 1
    assert f"{bad}:1: not JSON" in run.err and f"{bad}:2: " in run.err
    assert "enrolment needs at least one face photo or one hash" in run.err
    run = cli("person", "enroll", "Jane Doe", "--hashes", tmp_path / "missing.jsonl", *CONSENT)
    assert run.code == 1 and "cannot read" in run.err
    assert cli("person", "list", "--deleted", "--json").json_lines() == []
    assert "person:" not in cli("bank", "list").out


def test_enroll_from_photos_and_hashes(
    cli: Runner, workspace: Path, photo: Path, tmp_path: Path
) -> None:
    hashes, record = _own_hashes(cli, tmp_path)
    out = _enrol(cli, photo, extra=("--hashes", str(hashes)))
    assert (out["templates"], out["hashes"], out["rejected"]) == (1, 4, [])
    run = cli("match", "md5", record["md5"], "--json")
    assert [m["bank"] for m in run.json_lines()[0]["matches"]] == [f"person:{out['person_id']}"]


def test_tampered_template_store_is_detected(cli: Runner, workspace: Path, photo: Path) -> None:
    person_id = _enrol(cli, photo)["person_id"]
    with sqlite3.connect(_db(workspace)) as conn:
        (row_id, blob) = conn.execute("SELECT id, ciphertext FROM person_templates").fetchone()
        bad = bytearray(blob)
        bad[0] ^= 0xFF
        conn.execute(
            "UPDATE person_templates SET ciphertext = ? WHERE id = ?", (bytes(bad), row_id)
        )
    run = cli("person", "search", person_id)
    assert run.code == 1
    assert "fails authentication" in run.err and "damaged" in run.err


def _keep_faces(images: dict[str, np.ndarray]) -> dict[str, str]:
    """Record each image as flagged media and keep its faces' templates, as the scan does;
    returns sha256 by label."""
    extractor = load(load_settings())
    shas = {}
    with Workspace.open() as ws:
        store = person_store(ws)
        for label, rgb in images.items():
            sha = hashlib.sha256(label.encode()).hexdigest()
            (finding,) = extractor.extract([media_input(rgb)])
            assert finding.status == "ok" and finding.value["count"] == 1, label
            faces = [
                (tuple(f["box"]), t)
                for f, t in zip(finding.value["faces"], finding.private["templates"], strict=True)
            ]
            now = utcnow()
            with ws.sessions.begin() as session:
                session.add(
                    MediaRecord(
                        sha256=sha, size=1, signals={}, notes=[], kept_in_vault=False,
                        first_seen=now, last_seen=now,
                    )
                )  # fmt: skip
                store.keep_face_templates(sha, faces, session=session)
            shas[label] = sha
        with ws.sessions() as session:
            assert set(session.scalars(select(MediaRecord.sha256))) == set(shas.values())
    return shas


def test_retroactive_search_finds_her_in_flagged_media_only(
    cli: Runner, workspace: Path, photo: Path
) -> None:
    extractor = load(load_settings())
    others = [
        rgb
        for rgb in other_people(12)
        if extractor.extract([media_input(rgb)])[0].value.get("count") == 1
    ][:6]
    assert len(others) >= 4
    images = {
        "astronaut-flipped-small": resized(flipped(astronaut()), 400),
        "astronaut-large": resized(astronaut(), 700),
        **{f"other-{i}": rgb for i, rgb in enumerate(others)},
    }
    shas = _keep_faces(images)
    out = _enrol(cli, photo)
    found = {h["media_sha256"] for h in out["retroactive"]}
    assert found == {shas["astronaut-flipped-small"], shas["astronaut-large"]}
    assert all(0 <= h["distance"] < 0.6 for h in out["retroactive"])
    assert all(len(h["box"]) == 4 for h in out["retroactive"])

    run = cli("person", "search", out["person_id"], "--json")
    assert run.code == 0, run.err
    assert {h["media_sha256"] for h in run.json_lines()} == found
    run = cli("person", "search", out["person_id"], "--threshold", "0.05", "--json")
    assert run.json_lines() == []
    assert cli("custody", "verify").code == 0
