"""A case worth exporting, built through the service as production builds it: an item with
kept media matching a bank, a takedown notice with the notifier's contact details, the
platform's raw record, a decision with its statement of reasons."""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bagit
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.web.helpers import bearer, jpeg

from jikimi.cases.decisions import Ruling
from jikimi.store.models import Item
from jikimi.web.service import Service

RAW = (
    b'{"id": 5, "type": "message", "date": "2026-03-08T18:04:05",\n'
    b' "text": "\xec\x95\x88\xeb\x85\x95"}'
)
CONTACT = "notifier-contact@example.org"
# Korean as well: the PDF report must print it (NanumGothic).
REASONS = "Sexual deepfake of a person who did not consent. 동의 없이 만든 합성 이미지."


@dataclass(frozen=True)
class BuiltCase:
    case_id: int
    item_id: int
    image: bytes
    sha256: str


def build_case(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    *,
    seed: int = 31,
    message: str = "5",
) -> BuiltCase:
    image = jpeg(seed)
    sha = hashlib.sha256(image).hexdigest()
    ws = service.ws
    if "known" not in {b.name for b in ws.banks.list()}:
        ws.banks.create("known", kind="known-abuse", actor="tester")
    ws.banks.add("known", [("sha256", sha)], actor="tester")
    service.refresh_matcher(force=True)
    meta = f'{{"platform": "telegram", "chat_id": "-1001", "message_id": "{message}"}}'
    r = client.post(
        "/v1/items",
        data={"item": meta},
        files={"media": ("x.jpg", image, "image/jpeg")},
        headers=bearer(tokens["platform"]),
    )
    assert r.status_code == 201, r.text
    item_id = int(r.json()["item_id"])
    with ws.sessions() as s, s.begin():
        s.execute(
            update(Item)
            .where(Item.id == item_id)
            .values(raw=RAW.decode("utf-8"), meta={"date_local": "2026-03-08T18:04:05"})
        )
    notice = {
        "kind": "takedown_request",
        "jurisdiction": "US",
        "locators": [f"https://t.me/c/1/{message}"],
        "signature": "Full Name",
        "good_faith_statement": True,
        "contact": {"email": CONTACT},
    }
    filed = client.post("/v1/notices", json=notice)
    assert filed.status_code == 201, filed.text
    case_id = int(filed.json()["case_id"])
    ruling = Ruling(
        outcome="remove",
        ground="illegal",
        law="TAKE IT DOWN Act, 47 U.S.C. 223(h)",
        category="adult_ncii",
        reasons=REASONS,
    )
    service.decide(case_id, ruling, actor="test-moderator")
    return BuiltCase(case_id, item_id, image, sha)


def rebag(
    package: Path,
    out: Path,
    edit: Callable[[Path], None],
    info: dict[str, str] | None = None,
) -> Path:
    """``package`` unpacked, changed by ``edit`` (given the bag folder), its bag manifests and
    ``info`` fields made to match again, zipped to ``out``: a tampering the bag cannot show."""
    unpacked = out.with_suffix(".d")
    with zipfile.ZipFile(package) as zf:
        zf.extractall(unpacked)
    [bag_dir] = unpacked.iterdir()
    edit(bag_dir)
    cwd = Path.cwd()  # bagit changes the working directory while saving
    try:
        bag = bagit.Bag(str(bag_dir))
        bag.info.update(info or {})
        bag.save(manifests=True)
    finally:
        os.chdir(cwd)
    with zipfile.ZipFile(out, "w") as zf:
        for file in sorted(bag_dir.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(unpacked).as_posix())
    return out
