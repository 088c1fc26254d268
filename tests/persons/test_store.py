"""PersonStore on SQLite and PostgreSQL: consent records, encrypted templates, withdrawal,
retroactive search, per-person hash banks and the custody events they leave."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from jikimi.banks.service import BankStore
from jikimi.errors import PersonError, PersonNotFound, TemplateStoreCorrupt
from jikimi.evidence.custody import CustodyLog
from jikimi.matching.matcher import Matcher
from jikimi.persons.store import PersonStore, bank_name
from jikimi.store.models import (
    FaceTemplateRecord,
    MediaRecord,
    Person,
    PersonTemplate,
    utcnow,
)

VERSION = "test"
PDQ = "f" * 64
SHA = "ab" * 32


def _template(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.09, 128).astype(np.float32)


def _near(t: np.ndarray, seed: int, norm: float = 0.1) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, 1, 128)
    return (t + noise / np.linalg.norm(noise) * norm).astype(np.float32)


@pytest.fixture
def custody(sessions: sessionmaker[Session]) -> CustodyLog:
    return CustodyLog(sessions)


@pytest.fixture
def store(sessions: sessionmaker[Session], custody: CustodyLog) -> PersonStore:
    return PersonStore(sessions, secrets.token_bytes(32), custody)


def _enroll(store: PersonStore, *seeds: int, **kw: object) -> str:
    info = store.enroll(
        kw.pop("name", "Jane Doe"),  # type: ignore[arg-type]
        [_template(s) for s in seeds or (1,)],
        consent_by="Jane Doe, in person",
        actor="advocate",
        tool_version=VERSION,
        **kw,  # type: ignore[arg-type]
    )
    return info.person_id


def _media(sessions: sessionmaker[Session], sha256: str) -> None:
    now = utcnow()
    with sessions.begin() as session:
        session.add(
            MediaRecord(
                sha256=sha256,
                size=1,
                signals={},
                notes=[],
                kept_in_vault=False,
                first_seen=now,
                last_seen=now,
            )
        )


def _count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_enroll_records_consent_and_encrypted_templates(
    store: PersonStore, sessions: sessionmaker[Session], custody: CustodyLog
) -> None:
    expires = utcnow() + timedelta(days=365)
    info = store.enroll(
        "Jane Doe",
        [_template(1), _template(2)],
        consent_by="Jane Doe, in person",
        actor="advocate",
        authority="Seoul support centre",
        on_behalf_of="her guardian",
        scope=["workspace:seoul", "platform:telegram"],
        expires_at=expires,
        tool_version=VERSION,
    )
    assert info.person_id.startswith("prs_") and len(info.person_id) == 16
    int(info.person_id[4:], 16)
    assert info.templates == 2 and info.enrolled_by == "advocate"
    assert info.scope == ["workspace:seoul", "platform:telegram"]
    assert store.get(info.person_id) == info
    assert [p.person_id for p in store.list()] == [info.person_id]
    # The person's hash bank, of kind known-abuse.
    bank = BankStore(sessions).get(bank_name(info.person_id))
    assert bank.kind == "known-abuse"
    # Encrypted at rest: the raw float bytes appear nowhere in the table.
    with sessions() as session:
        blobs = session.scalars(select(PersonTemplate.ciphertext)).all()
    assert len(blobs) == 2
    for raw in (_template(1).tobytes(), _template(2).tobytes()):
        assert all(raw not in bytes(b) for b in blobs)
    (event,) = [e for e in custody.events() if e.kind == "person.enrolled"]
    assert event.actor == "advocate" and event.subject == bank_name(info.person_id)
    assert event.payload["templates"] == 2 and event.payload["photos"] == 2
    assert event.payload["consent_by"] == "Jane Doe, in person"
    assert event.payload["authority"] == "Seoul support centre"
    assert event.payload["on_behalf_of"] == "her guardian"
    assert custody.verify().ok


def test_active_templates_decrypt_and_leave_out_deleted_and_expired(
    store: PersonStore, sessions: sessionmaker[Session]
) -> None:
    keep = _enroll(store, 1, 2, name="Keep")
    gone = _enroll(store, 3, name="Gone")
    lapsed = _enroll(store, 4, name="Lapsed")
    with sessions.begin() as session:
        session.execute(
            update(Person)
            .where(Person.id == lapsed)
            .values(expires_at=utcnow() - timedelta(days=1))
        )
    store.delete(gone, actor="advocate", reason="consent withdrawn", tool_version=VERSION)
    active = store.active_templates()
    assert {t.person_id for t in active} == {keep}
    assert [t.name for t in active] == ["Keep", "Keep"]
    np.testing.assert_array_equal(active[0].template, _template(1))
    assert active[1].template.dtype == np.float32 and active[1].template.shape == (128,)
    assert store.retire_expired(actor="system", tool_version=VERSION) == [lapsed]
    assert store.get(lapsed).delete_reason == "consent expired"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"templates": []}, "needs at least one face photo or one hash"),
        ({"templates": [], "hashes": []}, "needs at least one face photo or one hash"),
        ({"consent_by": "  "}, "consent_by"),
        ({"name": ""}, "name"),
        ({"templates": [np.zeros(64, dtype=np.float32)]}, "shape"),
        ({"expires_at": utcnow() - timedelta(days=1)}, "future"),
        ({"templates": [], "hashes": [("pdq", "xyz")]}, "hash 1: pdq value 'xyz'"),
        ({"hashes": [("sha256", SHA), ("colour", "red")]}, "hash 2: unknown signal type"),
    ],
    ids=[
        "no-template",
        "nothing",
        "blank-consent",
        "blank-name",
        "bad-shape",
        "expired",
        "bad-hash",
        "unknown-hash-type",
    ],
)
def test_bad_enrolments_store_nothing(
    store: PersonStore,
    sessions: sessionmaker[Session],
    custody: CustodyLog,
    kwargs: dict,
    message: str,
) -> None:
    args = {
        "name": "Jane",
        "templates": [_template(1)],
        "consent_by": "Jane",
        "actor": "advocate",
        "tool_version": VERSION,
        **kwargs,
    }
    name, templates = args.pop("name"), args.pop("templates")
    with pytest.raises(PersonError, match=message):
        store.enroll(name, templates, **args)
    assert _count(sessions, Person) == 0 and _count(sessions, PersonTemplate) == 0
    assert custody.events() == []


def _bank_matches(sessions: sessionmaker[Session], signal_type: str, value: str) -> list[str]:
    """The banks a fresh matcher, built as the service builds it, finds the value in."""
    banks = BankStore(sessions)
    matcher = Matcher(banks=banks.bank_specs(), entries=banks.active_entries())
    (found,) = matcher.match_values([(signal_type, value)])
    return [m.bank for m in found]


def test_enroll_from_hashes_alone(
    store: PersonStore, sessions: sessionmaker[Session], custody: CustodyLog
) -> None:
    # Kept faces of flagged media, one of them hers: with no template, nothing is compared.
    _media(sessions, "a" * 64)
    store.keep_face_templates("a" * 64, [((10, 10, 110, 110), _near(_template(1), 5))])
    other = _enroll(store, 3, name="Other")
    info = store.enroll(
        "Jane Doe",
        [],
        hashes=[("sha256", SHA.upper()), ("pdq", PDQ), ("sha256", SHA), ("md5", "0" * 32)],
        consent_by="Jane Doe, by video call",
        actor="advocate",
        tool_version=VERSION,
    )
    person_id = info.person_id
    assert info.templates == 0 and store.get(person_id).templates == 0
    assert {p.person_id: p.templates for p in store.list()} == {other: 1, person_id: 0}
    # The hashes, normalised and without the repeated one, are in her bank and match there.
    entries = BankStore(sessions).entries(bank_name(person_id))
    assert sorted((e.signal_type, e.value) for e in entries) == [
        ("md5", "0" * 32),
        ("pdq", PDQ),
        ("sha256", SHA),
    ]
    assert all(e.source == bank_name(person_id) for e in entries)
    assert _bank_matches(sessions, "sha256", SHA) == [bank_name(person_id)]
    assert _bank_matches(sessions, "pdq", PDQ) == [bank_name(person_id)]
    # Matching templates: only the other person's.
    assert {t.person_id for t in store.active_templates()} == {other}
    hits = store.search_retroactive(person_id, threshold=0.6, actor="advocate", tool_version="t")
    assert hits == []
    (enrolled,) = [
        e
        for e in custody.events()
        if e.kind == "person.enrolled" and e.payload["name"] == "Jane Doe"
    ]
    assert enrolled.payload["templates"] == 0 and enrolled.payload["photos"] == 0
    assert enrolled.payload["hashes"] == 3
    searched = [e for e in custody.events() if e.kind == "person.searched"]
    assert searched[-1].payload == {
        "person_id": person_id,
        "threshold": 0.6,
        "faces_searched": 0,
        "hits": 0,
    }
    # Withdrawal takes her bank out of matching like anyone's.
    store.delete(person_id, actor="advocate", reason="consent withdrawn", tool_version=VERSION)
    assert _bank_matches(sessions, "sha256", SHA) == []
    assert store.get(person_id).templates == 0
    assert custody.verify().ok


def test_enroll_with_templates_and_hashes_fills_both(
    store: PersonStore, sessions: sessionmaker[Session]
) -> None:
    person_id = _enroll(store, 1, 2, hashes=[("sha256", SHA)])
    assert store.get(person_id).templates == 2
    assert [t.person_id for t in store.active_templates()] == [person_id, person_id]
    assert _bank_matches(sessions, "sha256", SHA) == [bank_name(person_id)]
    # add_hashes after enrolment counts the enrolled hash as already there.
    again = store.add_hashes(
        person_id, [json.dumps({"sha256": SHA})], actor="advocate", tool_version=VERSION
    )
    assert again.added == [] and again.duplicates == 1


def test_delete_removes_templates_and_bank_and_keeps_a_tombstone(
    store: PersonStore, sessions: sessionmaker[Session], custody: CustodyLog
) -> None:
    person_id = _enroll(store, 1, 2)
    other = _enroll(store, 3, name="Other")
    banks = BankStore(sessions)
    banks.add(bank_name(person_id), [("pdq", PDQ)], actor="advocate")
    store.delete(person_id, actor="advocate", reason="consent withdrawn", tool_version=VERSION)
    # Really deleted, not soft: only the other person's template rows are left.
    with sessions() as session:
        owners = session.scalars(select(PersonTemplate.person_id)).all()
    assert owners == [other]
    # The bank leaves matching at once.
    assert bank_name(person_id) not in {b.name for b in banks.bank_specs()}
    assert all(e.bank != bank_name(person_id) for e in banks.active_entries())
    # The tombstone: who, when, why.
    info = store.get(person_id)
    assert info.deleted_by == "advocate" and info.deleted_at is not None
    assert info.delete_reason == "consent withdrawn" and info.templates == 0
    assert [p.person_id for p in store.list()] == [other]
    assert {p.person_id for p in store.list(include_deleted=True)} == {person_id, other}
    (event,) = [e for e in custody.events() if e.kind == "person.deleted"]
    assert event.payload == {
        "person_id": person_id,
        "templates_deleted": 2,
        "bank_deleted": True,
        "reason": "consent withdrawn",
    }
    with pytest.raises(PersonNotFound, match="was deleted"):
        store.delete(person_id, actor="advocate", reason=None, tool_version=VERSION)
    with pytest.raises(PersonNotFound):
        store.search_retroactive(person_id, threshold=0.6, actor="a", tool_version=VERSION)


def test_unknown_ids_are_not_found(store: PersonStore) -> None:
    for bad in ("prs_000000000000", "nonsense", "prs_' OR 1=1 --"):
        with pytest.raises(PersonNotFound, match="person list"):
            store.get(bad)


def test_tampered_ciphertext_is_detected(
    store: PersonStore, sessions: sessionmaker[Session]
) -> None:
    person_id = _enroll(store, 1)
    with sessions.begin() as session:
        row = session.scalars(select(PersonTemplate)).one()
        bad = bytearray(row.ciphertext)
        bad[7] ^= 0x40
        row.ciphertext = bytes(bad)
    with pytest.raises(TemplateStoreCorrupt, match="fails authentication"):
        store.active_templates()
    with pytest.raises(TemplateStoreCorrupt):
        store.search_retroactive(person_id, threshold=0.6, actor="a", tool_version=VERSION)


def test_a_template_moved_to_another_person_is_detected(
    store: PersonStore, sessions: sessionmaker[Session]
) -> None:
    first = _enroll(store, 1)
    _enroll(store, 2, name="Second")
    with sessions.begin() as session:
        rows = {r.person_id: r for r in session.scalars(select(PersonTemplate))}
        source = rows[first]
        for pid, row in rows.items():
            if pid != first:
                row.nonce, row.ciphertext = source.nonce, source.ciphertext
    with pytest.raises(TemplateStoreCorrupt):
        store.active_templates()


def test_retroactive_search_finds_kept_faces_of_the_person_only(
    store: PersonStore, sessions: sessionmaker[Session], custody: CustodyLog
) -> None:
    her = _template(1)
    for sha in ("a" * 64, "b" * 64, "c" * 64):
        _media(sessions, sha)
    store.keep_face_templates("a" * 64, [((10, 10, 110, 110), _near(her, 5))])
    store.keep_face_templates(
        "b" * 64, [((0, 0, 80, 80), _template(7)), ((200, 0, 290, 90), _near(her, 6, 0.3))]
    )
    store.keep_face_templates("c" * 64, [((5, 5, 95, 95), _template(8))])
    # Idempotent per (media, box): keeping the same faces again adds nothing.
    store.keep_face_templates("a" * 64, [((10, 10, 110, 110), _near(her, 9))])
    assert _count(sessions, FaceTemplateRecord) == 4
    person_id = _enroll(store, 1)
    hits = store.search_retroactive(person_id, threshold=0.6, actor="advocate", tool_version="t")
    assert [(h.media_sha256, h.box) for h in hits] == [
        ("a" * 64, (10, 10, 110, 110)),
        ("b" * 64, (200, 0, 290, 90)),
    ]
    assert hits[0].distance == pytest.approx(0.1, abs=1e-4)
    assert hits[1].distance == pytest.approx(0.3, abs=1e-4)
    assert all(h.person_id == person_id for h in hits)
    (event,) = [e for e in custody.events() if e.kind == "person.searched"]
    assert event.actor == "advocate"
    assert event.payload == {
        "person_id": person_id,
        "threshold": 0.6,
        "faces_searched": 4,
        "hits": 2,
    }
    with pytest.raises(PersonError, match="threshold"):
        store.search_retroactive(person_id, threshold=0, actor="a", tool_version="t")


def test_kept_faces_join_the_callers_transaction_and_are_bound_to_their_box(
    store: PersonStore, sessions: sessionmaker[Session]
) -> None:
    _media(sessions, SHA)
    with pytest.raises(RuntimeError), sessions.begin() as session:
        store.keep_face_templates(SHA, [((1, 2, 3, 4), _template(1))], session=session)
        raise RuntimeError("the scan failed")
    assert _count(sessions, FaceTemplateRecord) == 0
    with sessions.begin() as session:
        store.keep_face_templates(SHA, [((1, 2, 90, 90), _template(1))], session=session)
    with sessions.begin() as session:
        session.execute(update(FaceTemplateRecord).values(box_left=2))
    person_id = _enroll(store, 1)
    with pytest.raises(TemplateStoreCorrupt):
        store.search_retroactive(person_id, threshold=0.6, actor="a", tool_version="t")


def test_add_hashes_reports_lines_and_fills_the_bank(
    store: PersonStore, sessions: sessionmaker[Session], custody: CustodyLog
) -> None:
    person_id = _enroll(store, 1)
    lines = [
        json.dumps({"file": "a.jpg", "sha256": SHA, "md5": "0" * 32, "pdq": PDQ}),
        "not json",
        json.dumps({"file": "b.jpg", "error": "corrupt file", "sha256": "cd" * 32}),
        "",
        json.dumps({"file": "c.jpg", "pdq": "xyz"}),
        json.dumps(["a list"]),
        json.dumps({"file": "d.jpg", "sha256": None, "pdq": None}),
        json.dumps({"file": "e.jpg", "sha1": "1" * 40, "pdq": None, "pdq_quality": 20}),
    ]
    report = store.add_hashes(person_id, lines, actor="advocate", tool_version=VERSION)
    assert [e.signal_type for e in report.added] == ["sha256", "md5", "pdq", "sha1"]
    assert [n for n, _ in report.rejected] == [2, 5, 6, 7]
    assert "not JSON" in report.rejected[0][1] and "pdq" in report.rejected[1][1]
    assert report.skipped == [(3, "skipped: the record carries an error (corrupt file)")]
    entries = BankStore(sessions).entries(bank_name(person_id))
    assert {(e.signal_type, e.value) for e in entries} == {
        ("sha256", SHA),
        ("md5", "0" * 32),
        ("pdq", PDQ),
        ("sha1", "1" * 40),
    }
    again = store.add_hashes(person_id, lines[:1], actor="advocate", tool_version=VERSION)
    assert again.added == [] and again.duplicates == 3
    events = [e for e in custody.events() if e.kind == "person.hashes_added"]
    assert events[0].payload["added"] == 4 and events[0].payload["rejected"] == 4
    assert events[0].payload["skipped"] == 1 and events[0].actor == "advocate"


def test_add_hashes_recreates_a_missing_bank(
    store: PersonStore, sessions: sessionmaker[Session]
) -> None:
    person_id = _enroll(store, 1)
    BankStore(sessions).delete(bank_name(person_id), actor="someone")
    line = json.dumps({"sha256": SHA})
    assert len(store.add_hashes(person_id, [line], actor="a", tool_version=VERSION).added) == 1


def test_custody_payloads_hold_nothing_biometric(
    store: PersonStore, sessions: sessionmaker[Session], custody: CustodyLog
) -> None:
    _media(sessions, SHA)
    store.keep_face_templates(SHA, [((0, 0, 100, 100), _template(1))])
    person_id = _enroll(store, 1, 2)
    store.search_retroactive(person_id, threshold=0.6, actor="a", tool_version=VERSION)
    store.add_hashes(person_id, [json.dumps({"sha256": SHA})], actor="a", tool_version=VERSION)
    store.delete(person_id, actor="a", reason=None, tool_version=VERSION)
    kinds = {e.kind for e in custody.events()}
    assert {"person.enrolled", "person.searched", "person.hashes_added", "person.deleted"} <= kinds
    for event in custody.events():
        text = json.dumps(event.payload)
        assert 'template"' not in text and "ciphertext" not in text and "nonce" not in text
        floats = [v for v in event.payload.values() if isinstance(v, list) and len(v) >= 128]
        assert floats == []
    assert custody.verify().ok
