"""``POST /v1/exports`` through the real app: a zipped export becomes items; unsafe or oversized
zips are refused whole with a problem document and nothing recorded. Benign data only."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.connectors.export_factory import build_export, zip_folder
from tests.web.helpers import bearer

from jikimi.store.models import Checkpoint, Item
from jikimi.web.service import Service

UPLOAD_LIMIT = 8 * 1024 * 1024


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "export_max_upload_bytes": UPLOAD_LIMIT,
        "export_max_unpacked_bytes": 2 * 1024 * 1024,
        "export_max_entries": 50,
    }


def _post(client: TestClient, token: str, data: bytes, name: str = "export.zip") -> object:
    return client.post(
        "/v1/exports",
        files={"export": (name, data, "application/zip")},
        headers=bearer(token),
    )


def _zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return out.getvalue()


def _items(service: Service) -> int:
    with service.ws.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Item)) or 0)


def _nothing_left(service: Service) -> None:
    assert _items(service) == 0
    assert list(service.tmp.iterdir()) == [], "the upload's temp directory is deleted"


def test_a_zipped_export_becomes_items(
    client: TestClient, service: Service, tokens: dict[str, str], tmp_path: Path
) -> None:
    export = build_export(tmp_path / "export", layout="account")
    r = _post(client, tokens["platform"], zip_folder(export.folder))
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["messages"], body["recorded"], body["already_recorded"]) == (14, 14, 0)
    assert (body["media"], body["missing_media"], body["failed"]) == (2, 5, 1)
    assert len(body["item_ids"]) == 14 and body["export"] == "export.zip"
    (problem,) = body["problems"]
    assert problem["message_id"] == 9 and "climbs out" in problem["problems"][0]
    assert list(service.tmp.iterdir()) == []
    with service.ws.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Checkpoint)) == 0

    item = client.get(f"/v1/items/{body['item_ids'][4]}", headers=bearer(tokens["platform"]))
    assert item.status_code == 200
    assert item.json()["links"] == [
        {"kind": "via_bot", "actor": "@gardenbot", "label": "@gardenbot"}
    ]
    assert item.json()["raw"].encode() == export.raw_slice(5)

    again = _post(client, tokens["platform"], zip_folder(export.folder))
    assert again.status_code == 200
    assert again.json()["already_recorded"] == 14 and _items(service) == 14


def test_roles_without_exports_ingest_are_refused(
    client: TestClient, service: Service, tokens: dict[str, str], tmp_path: Path
) -> None:
    export = build_export(tmp_path / "export")
    for role in ("moderator", "auditor"):
        r = _post(client, tokens[role], zip_folder(export.folder))
        assert r.status_code == 403
    _nothing_left(service)


def test_an_investigator_brings_an_export_in(
    client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    export = build_export(tmp_path / "export")
    r = _post(client, tokens["investigator"], zip_folder(export.folder))
    assert r.status_code == 201, r.text
    assert r.json()["recorded"] == r.json()["messages"] > 0


def _symlink() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("ChatExport/photos/a.jpg")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(
    ("entries", "status", "code", "says"),
    [
        pytest.param([("ChatExport/result.json", b"\0" * (3 * 1024 * 1024))], 413, "zip-bomb",
                     "zip bomb", id="bomb"),
        pytest.param([("ChatExport/result.json", b"{}"), ("../../etc/cron.d/x", b"x")], 422,
                     "unsafe-zip", "climbs out with '..'", id="traversal"),
        pytest.param([("ChatExport/result.json", b"{}"), (_symlink(), b"/etc/passwd")], 422,
                     "unsafe-zip", "symbolic link", id="symlink"),
        pytest.param([(f"ChatExport/photos/{i}.jpg", b"x") for i in range(51)], 413,
                     "too-many-entries", "export_max_entries", id="too-many-entries"),
        pytest.param([("ChatExport/a.bin", os.urandom(3 * 1024 * 1024))], 413,
                     "too-large-unpacked", "export_max_unpacked_bytes", id="too-large-unpacked"),
        pytest.param([("notes/readme.txt", b"hello")], 422, "no-export", "Machine-readable JSON",
                     id="no-result-json"),
    ],
)  # fmt: skip
def test_unsafe_zips_are_refused_whole(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    entries: list[tuple[str | zipfile.ZipInfo, bytes]],
    status: int,
    code: str,
    says: str,
) -> None:
    r = _post(client, tokens["platform"], _zip(entries))
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == f"urn:jikimi:problem:{code}"
    assert says in body["detail"]
    _nothing_left(service)


def test_not_a_zip(client: TestClient, service: Service, tokens: dict[str, str]) -> None:
    r = _post(client, tokens["platform"], b"%PDF-1.7 not a zip at all")
    assert r.status_code == 422
    assert r.json()["type"] == "urn:jikimi:problem:not-a-zip"
    _nothing_left(service)


def test_the_route_has_its_own_body_limit(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    r = _post(client, tokens["platform"], b"\0" * (UPLOAD_LIMIT + 1))
    assert r.status_code == 413
    assert "export_max_upload_bytes" in r.json()["detail"]
    _nothing_left(service)


def test_one_file_part_named_export(
    client: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    r = client.post(
        "/v1/exports",
        files={"media": ("x.zip", b"PK", "application/zip")},
        headers=bearer(tokens["platform"]),
    )
    assert r.status_code == 422 and "named `export`" in r.json()["detail"]
    two = client.post(
        "/v1/exports",
        files=[("export", ("a.zip", b"PK", "application/zip"))] * 2,
        headers=bearer(tokens["platform"]),
    )
    assert two.status_code == 400 and two.headers["content-type"] == "application/problem+json"
    assert "Too many files" in two.json()["detail"]
    json_body = client.post("/v1/exports", json={}, headers=bearer(tokens["platform"]))
    assert json_body.status_code == 415
    _nothing_left(service)
