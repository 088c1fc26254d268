"""Checks and items through the API: verdicts with reasons, cases, custody, outbox, privacy."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image, ImageOps
from sqlalchemy import func, select
from tests.web.helpers import bearer, jpeg

from jikimi.store.models import CustodyEventRecord, MediaRecord, OutboxRecord
from jikimi.web.app import create_app
from jikimi.web.service import Service, ServiceOptions


def _bank(service: Service, name: str, image: bytes, **flags: bool) -> None:
    """A bank holding ``image``'s PDQ, made through the API by an admin-equivalent path."""
    ws = service.ws
    ws.banks.create(name, actor="tester", **flags)
    pdq = _pdq(service, image)
    ws.banks.add(name, [("pdq", pdq)], actor="tester")
    service.refresh_matcher(force=True)


def _pdq(service: Service, image: bytes) -> str:
    path = service.tmp / "bank.jpg"
    path.write_bytes(image)
    try:
        media = service.check_pipeline.cascade.run(path).media
    finally:
        path.unlink()
    return media.signals["pdq"].value


def _count(service: Service, model: type) -> int:
    with service.ws.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_check_matches_an_upload_and_records_nothing(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    image = jpeg(7)
    _bank(service, "known", image, auto_action=True)
    media_before = _count(service, MediaRecord)
    events_before = _count(service, CustodyEventRecord)
    mirrored = io.BytesIO()
    ImageOps.mirror(Image.open(io.BytesIO(image))).save(mirrored, format="JPEG", quality=80)
    r = client.post(
        "/v1/check",
        files=[
            ("media", ("copy.jpg", image, "image/jpeg")),
            ("media", ("mirrored.jpg", mirrored.getvalue(), "image/jpeg")),
        ],
        headers=bearer(tokens["platform"]),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"]["outcome"] == "remove"
    assert body["verdict"]["automated"] is True
    assert body["verdict"]["policy_version"]
    assert any("known" in " ".join(x["facts"]) for x in body["verdict"]["reasons"])
    first, second = body["media"]
    assert first["filename"] == "copy.jpg" and first["matches"][0]["bank"] == "known"
    assert second["matches"][0]["transform"]  # found through a dihedral transform
    assert _count(service, MediaRecord) == media_before
    assert _count(service, CustodyEventRecord) == events_before
    assert not list(service.tmp.iterdir())  # the uploads are gone


def test_check_by_signals_and_matches_hidden_without_the_match_permission(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    image = jpeg(8)
    _bank(service, "review-bank", image)
    pdq = _pdq(service, image)
    r = client.post("/v1/check", json={"signals": {"pdq": pdq}}, headers=bearer(tokens["platform"]))
    assert r.status_code == 200
    body = r.json()
    # Not an auto-action bank: a known-abuse match goes to people, never removed by itself.
    assert body["verdict"]["outcome"] == "review" and body["verdict"]["automated"] is False
    assert body["signals"][0]["matches"][0]["bank"] == "review-bank"
    r = client.post("/v1/check", json={"signals": {"pdq": pdq}}, headers=bearer(tokens["admin"]))
    assert r.json()["signals"][0]["matches"]  # admin has match too


def test_an_item_is_recorded_with_its_verdict_case_custody_and_effects(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    image = jpeg(9)
    _bank(service, "auto", image, auto_action=True)
    meta = (
        '{"platform": "telegram", "chat_id": "-100777", "message_id": "12", '
        '"author_id": "4242", "text": "look", "external_id": "m-12"}'
    )
    h = bearer(tokens["platform"])
    r = client.post(
        "/v1/items", data={"item": meta}, files={"media": ("x.jpg", image, "image/jpeg")}, headers=h
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["created"] is True and body["verdict"]["outcome"] == "remove"
    item_id, case_id = body["item_id"], body["case_id"]
    assert case_id is not None
    # The same external id again: the first item, not a second one.
    again = client.post(
        "/v1/items", data={"item": meta}, files={"media": ("x.jpg", image, "image/jpeg")}, headers=h
    )
    assert again.status_code == 200 and again.json()["item_id"] == item_id
    assert again.json()["verdict"]["outcome"] == "remove"
    with service.ws.sessions() as s:
        effects = s.scalars(select(OutboxRecord).where(OutboxRecord.item_id == item_id)).all()
    assert effects and {e.sink for e in effects} == {"dry_run"}  # the default actions_mode
    item = client.get(f"/v1/items/{item_id}", headers=h).json()
    assert item["media"][0]["sha256"] and item["verdicts"][0]["outcome"] == "remove"
    assert item["case_id"] == case_id and item["text"] == "look"
    events = service.ws.custody.events(subject=f"item:{item_id}")
    kinds = [(e.kind, e.actor) for e in events if e.kind.startswith("item.")]
    assert kinds == [
        ("item.received", "test-platform"),
        ("item.verdict", "test-platform"),
        ("item.viewed", "test-platform"),
    ]
    assert service.ws.custody.verify().ok


def test_items_are_visible_to_their_platform_and_minors_to_child_safety_only(
    client: TestClient, service: Service, tokens: dict[str, str], ws_second_platform: str
) -> None:
    image = jpeg(10)
    _bank(service, "csam-bank", image, minors=True)
    h = bearer(tokens["platform"])
    r = client.post(
        "/v1/items",
        data={"item": '{"platform": "web"}'},
        files={"media": ("x.jpg", image, "image/jpeg")},
        headers=h,
    )
    assert r.status_code == 201
    assert r.json()["verdict"]["suspected_minor"] is True
    assert r.json()["verdict"]["queue"] == "child_safety"
    item_id = r.json()["item_id"]
    assert (
        client.get(f"/v1/items/{item_id}", headers=bearer(tokens["moderator"])).status_code == 404
    )
    assert client.get(f"/v1/items/{item_id}", headers=bearer(tokens["admin"])).status_code == 404
    seen = client.get(f"/v1/items/{item_id}", headers=bearer(tokens["child_safety"]))
    assert seen.status_code == 200
    other = client.get(f"/v1/items/{item_id}", headers=bearer(ws_second_platform))
    assert other.status_code == 404
    assert client.get("/v1/items/999999", headers=h).status_code == 404


def test_a_text_only_item_gets_text_signals(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post(
        "/v1/items",
        json={"platform": "telegram", "text": "deepfake room: ask @example_undress_bot"},
        headers=bearer(tokens["platform"]),
    )
    assert r.status_code == 201, r.text
    assert "context" in r.json()["text_findings"]


def test_bad_media_are_reported_and_the_rest_of_the_item_goes_on(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    good = jpeg(11)
    truncated = good[: len(good) // 3]
    h = bearer(tokens["platform"])
    r = client.post(
        "/v1/items",
        data={"item": '{"platform": "web", "text": "two files"}'},
        files=[
            ("media", ("../../etc/passwd.jpg", truncated, "image/jpeg")),
            ("media", ("fine.jpg", good, "image/jpeg")),
            ("media", ("notes.jpg", b"just text, not a picture", "image/jpeg")),
        ],
        headers=h,
    )
    assert r.status_code == 201, r.text
    broken, fine, text = r.json()["media"]
    assert broken["filename"] == "passwd.jpg"  # never a client's path
    assert broken["error_reason"] == "corrupt" and "truncated" in broken["error"].lower()
    assert fine["sha256"] and "error" not in fine
    assert text["error_reason"] == "unsupported"
    item = client.get(f"/v1/items/{r.json()['item_id']}", headers=h).json()
    assert [m["filename"] for m in item["media"]] == ["passwd.jpg", "fine.jpg", "notes.jpg"]
    assert all(m["sha256"] for m in item["media"])  # even unreadable files have a SHA-256
    assert not list(service.tmp.iterdir())


def test_the_check_can_run_hashes_only(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    h = bearer(tokens["platform"])
    full = client.post("/v1/check", files={"media": ("a.jpg", jpeg(12), "image/jpeg")}, headers=h)
    assert "skin" in full.json()["media"][0]["findings"]
    service.ws.settings.check_signals = "hashes"
    fast = Service(service.ws, ServiceOptions(registry=service.registry, run_dispatcher=False))
    fast.refresh_matcher(force=True)
    with TestClient(create_app(fast, start=False)) as c:
        r = c.post("/v1/check", files={"media": ("a.jpg", jpeg(12), "image/jpeg")}, headers=h)
    assert r.status_code == 200
    assert r.json()["media"][0]["findings"] == {}
    assert r.json()["media"][0]["signals"]["pdq"]


def test_the_check_computes_the_digests_some_bank_can_match(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    h = bearer(tokens["platform"])
    image = jpeg(13)

    def signals() -> set[str]:
        r = client.post("/v1/check", files={"media": ("a.jpg", image, "image/jpeg")}, headers=h)
        return set(r.json()["media"][0]["signals"])

    assert signals() == {"sha256", "pdq"}
    admin = bearer(tokens["admin"])
    client.post("/v1/banks", json={"name": "md5s"}, headers=admin)
    entry = {"signal_type": "md5", "value": "0" * 32}
    client.post("/v1/banks/md5s/entries", json={"signals": [entry]}, headers=admin)
    assert signals() == {"sha256", "md5", "pdq"}
