"""Protected persons in the console: enrolment from photos read in memory only (skimage's
astronaut, NASA, public domain, is the one real face; coffee has none), or from hashes of the
person's own images alone, refusals with reasons, hashes from the person's own device,
withdrawal; the live matcher follows at once."""

from __future__ import annotations

import io
import json
import re
import tempfile
from typing import Any

import pytest
import skimage.data
import starlette.formparsers
from fastapi.testclient import TestClient
from PIL import Image
from tests.console.admin_pages import matches, park_watcher, post, signed_in, upload
from tests.persons.images import astronaut, collage, jpeg_bytes, resized

from jikimi.signals.registry import Disabled, Registry
from jikimi.web.service import Service

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

CONSENT = {
    "name": "Astronaut",
    "consent_by": "the person, signed form 2026-03-01",
    "authority": "support centre",
    "scope": "workspace, platform",
    "expires": "2099-01-01",
}
SHA = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"


def _png(rgb: Any) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "PNG")
    return out.getvalue()


def _photos(*named: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("photos", (name, data, "application/octet-stream")) for name, data in named]


def _face_count(service: Service) -> int:
    with service.matcher.read() as matcher:
        return len(matcher.faces)


def _no_temporary_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the request if anything asks for a temporary file (a spooled upload would)."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a temporary file was opened for an upload")

    for name in ("SpooledTemporaryFile", "NamedTemporaryFile", "TemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    monkeypatch.setattr(starlette.formparsers, "SpooledTemporaryFile", refuse)


def test_enrol_add_hashes_and_withdraw(
    console: TestClient,
    service: Service,
    tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    csrf = signed_in(console, "admin", "/console/admin/persons")
    assert 'id="no-persons"' in console.get("/console/admin/persons").text
    park_watcher(service)
    big = _png(resized(astronaut(), 1024))
    assert len(big) > 1024**2  # over Starlette's in-memory spool size
    photos = _photos(("big.png", big), ("small.jpg", jpeg_bytes(resized(astronaut(), 400))))
    with monkeypatch.context() as patch:
        _no_temporary_files(patch)
        r = upload(console, "/console/admin/persons", csrf, photos, **CONSENT)
    assert r.status_code == 201, r.text[-2000:]
    person_id = re.search(r"Enrolled as (prs_[0-9a-f]{12})", r.text).group(1)
    assert 'id="retroactive"' in r.text and "Matches: 0." in r.text
    assert list(service.tmp.iterdir()) == []

    (info,) = service.ws.persons.list()
    assert (info.person_id, info.templates, info.scope) == (person_id, 2, ["workspace", "platform"])
    assert info.enrolled_by == "test-admin" and info.expires_at is not None
    assert _face_count(service) == 2  # in the live matcher at once, the watcher is parked
    events = service.ws.custody.events(subject=f"person:{person_id}")
    enrolled = next(e for e in events if e.kind == "person.enrolled")
    assert enrolled.actor == "test-admin" and enrolled.payload["photos"] == 2
    assert "big.png" not in json.dumps([e.payload for e in events])  # no photo names
    assert "person.searched" in [e.kind for e in events]

    lines = [
        json.dumps({"path": "own/1.jpg", "sha256": SHA}),
        "not json",
        json.dumps({"path": "own/2.jpg", "error": "unreadable"}),
    ]
    hashes = [("file", ("hashes.jsonl", "\n".join(lines).encode(), "application/json"))]
    r = upload(console, f"/console/admin/persons/{person_id}/hashes", csrf, hashes)
    assert r.status_code == 200
    assert "Added: 1. Already there: 0. Rejected lines: 1. Skipped records: 1." in r.text
    assert re.search(r'<td class="count">2</td><td lang="en">not JSON', r.text)
    (found,) = matches(console, tokens["platform"], "sha256", SHA)
    assert found["bank"] == f"person:{person_id}"

    path = f"/console/admin/persons/{person_id}/delete"
    assert post(console, path, csrf, reason="").status_code == 400
    r = post(console, path, csrf, reason="the person withdrew consent")
    assert r.status_code == 303 and r.headers["location"].endswith("done=person_deleted")
    assert _face_count(service) == 0
    assert matches(console, tokens["platform"], "sha256", SHA) == []
    deleted = service.ws.custody.events(subject=f"person:{person_id}")[-1]
    assert (deleted.kind, deleted.actor) == ("person.deleted", "test-admin")
    assert deleted.payload["reason"] == "the person withdrew consent"
    tombstone = console.get(f"/console/admin/persons/{person_id}").text
    assert "the person withdrew consent" in tombstone and 'id="delete-person"' not in tombstone
    assert post(console, path, csrf, reason="again").status_code == 404


def test_photos_are_refused_with_reasons_and_nothing_is_stored(
    console: TestClient, service: Service
) -> None:
    csrf = signed_in(console, "admin", "/console/admin/persons")
    photos = _photos(
        ("coffee.png", _png(skimage.data.coffee())),
        ("group.png", _png(collage())),
        ("notes.jpg", b"this is a text file, not a photo\n"),
    )
    r = upload(console, "/console/admin/persons", csrf, photos, **CONSENT)
    assert r.status_code == 422
    refusals = r.text.split('id="refusals"', 1)[1].split("</ul>", 1)[0]
    assert "coffee.png</strong>: no face found" in refusals
    assert "group.png</strong>: 3 faces found" in refusals
    assert "notes.jpg</strong>: the file cannot be read as a photo" in refusals
    assert 'value="the person, signed form 2026-03-01"' in r.text  # the form keeps its values
    assert service.ws.persons.list() == []
    missing = upload(console, "/console/admin/persons", csrf, photos, name="Someone")
    assert missing.status_code == 400 and 'id="problem"' in missing.text
    past = upload(
        console, "/console/admin/persons", csrf, photos, **{**CONSENT, "expires": "2001-01-01"}
    )
    assert past.status_code == 400


def test_without_the_face_extractor_enrolment_says_so(
    console: TestClient, service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    reason = "faces: cannot import dlib; install it (pip install dlib or 'jikimi[detect]')"
    monkeypatch.setattr(
        service, "registry", Registry(disabled={"faces": Disabled("faces", reason)})
    )
    csrf = signed_in(console, "admin", "/console/admin/persons")
    page = console.get("/console/admin/persons").text
    assert 'id="faces-unavailable"' in page and "jikimi[detect]" in page
    photos = _photos(("a.jpg", jpeg_bytes(astronaut())))
    r = upload(console, "/console/admin/persons", csrf, photos, **CONSENT)
    assert r.status_code == 503 and "Face templates cannot be computed" in r.text
    assert service.ws.persons.list() == []
    # Hashes alone need no face extractor.
    files = _hash_file(json.dumps({"file": "own/1.jpg", "sha256": SHA}))
    r = upload(console, "/console/admin/persons", csrf, files, **CONSENT)
    assert r.status_code == 201, r.text[-2000:]
    assert [p.templates for p in service.ws.persons.list()] == [0]


def _hash_file(*lines: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("hashes", ("hashes.jsonl", "\n".join(lines).encode(), "application/json"))]


def test_enrol_from_hashes_alone(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    csrf = signed_in(console, "admin", "/console/admin/persons")
    page = console.get("/console/admin/persons").text
    assert 'name="hashes"' in page and 'name="hash_lines"' in page
    park_watcher(service)
    files = _hash_file(json.dumps({"file": "own/1.jpg", "sha256": SHA}), "not json")
    r = upload(console, "/console/admin/persons", csrf, files, **CONSENT)
    assert r.status_code == 201, r.text[-2000:]
    person_id = re.search(r"Enrolled as (prs_[0-9a-f]{12}) from hashes alone", r.text).group(1)
    assert 'id="retro-none"' in r.text and "nothing to compare" in r.text
    assert "Added: 1. Already there: 0. Rejected lines: 1. Skipped records: 0." in r.text
    assert re.search(r'<td class="count">2</td><td lang="en">not JSON', r.text)
    (info,) = service.ws.persons.list()
    assert (info.person_id, info.templates) == (person_id, 0)
    assert re.search(r'<td class="count">0</td>', console.get("/console/admin/persons").text)
    assert _face_count(service) == 0
    # In the live matcher at once (the watcher is parked).
    (found,) = matches(console, tokens["platform"], "sha256", SHA)
    assert found["bank"] == f"person:{person_id}"
    enrolled = next(
        e
        for e in service.ws.custody.events(subject=f"person:{person_id}")
        if e.kind == "person.enrolled"
    )
    assert enrolled.payload["templates"] == 0 and enrolled.payload["hashes"] == 1

    # Pasted lines (CRLF, as browsers send a textarea) do the same.
    pdq = "f" * 64
    pasted = json.dumps({"file": "own/2.jpg", "pdq": pdq}) + "\r\n"
    r = upload(console, "/console/admin/persons", csrf, [], **CONSENT, hash_lines=pasted)
    assert r.status_code == 201, r.text[-2000:]
    other = re.search(r"Enrolled as (prs_[0-9a-f]{12})", r.text).group(1)
    (found,) = matches(console, tokens["platform"], "pdq", pdq)
    assert found["bank"] == f"person:{other}"


def _field_error(html: str) -> str:
    """The enrolment form's error next to the photo and hash fields (it must sit in the form,
    before the photo field)."""
    form = html.split('id="enrol-form"', 1)[1]
    assert form.index('id="error-evidence"') < form.index('id="person-photos"')
    return form.split('id="error-evidence"', 1)[1].split("</p>", 1)[0]


def test_enrolment_needs_a_photo_or_a_hash(console: TestClient, service: Service) -> None:
    csrf = signed_in(console, "admin", "/console/admin/persons")
    r = upload(console, "/console/admin/persons", csrf, [], **CONSENT)
    assert r.status_code == 400
    assert "Give at least one reference photo, or the hashes" in _field_error(r.text)
    assert 'id="problem"' not in r.text and 'aria-invalid="true"' in r.text
    assert 'value="the person, signed form 2026-03-01"' in r.text  # the form keeps its values
    # Hash lines none of which can be read, and no photo: the lines are listed by number.
    bad = ["not json", json.dumps({"file": "y.jpg", "md5": "nothex"})]
    r = upload(console, "/console/admin/persons", csrf, [], **CONSENT, hash_lines="\n".join(bad))
    assert r.status_code == 400
    assert "No hash could be read" in _field_error(r.text)
    rejects = r.text.split('id="hash-rejects"', 1)[1].split("</ul>", 1)[0]
    assert 'Line 1: <span lang="en">not JSON' in rejects and "Line 2:" in rejects
    assert "nothex" in r.text.split('id="person-hash-lines"', 1)[1]  # the pasted lines stay
    # In Korean; an empty file counts as no file.
    post(console, "/console/language", csrf, language="ko", back="/console/admin/persons")
    empty = [("hashes", ("h.jsonl", b"\n", "application/json"))]
    ko = upload(console, "/console/admin/persons", csrf, empty, **CONSENT)
    assert ko.status_code == 400 and "기준 사진을 한 장 이상" in _field_error(ko.text)
    assert service.ws.persons.list(include_deleted=True) == []
    assert not [e for e in service.ws.custody.events() if e.kind.startswith(("person.", "bank."))]


def test_persons_need_banks_write(console: TestClient) -> None:
    csrf = signed_in(console, "moderator")
    assert console.get("/console/admin/persons").status_code == 403
    r = upload(console, "/console/admin/persons", csrf, _photos(("a.jpg", b"x")), **CONSENT)
    assert r.status_code == 403
