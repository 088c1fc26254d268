"""Evidence packages: what a package holds, that it verifies, and that tampering is named."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
import subprocess
import sys
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import bagit
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.evidence.package_case import CONTACT, RAW, REASONS, BuiltCase, build_case

from jikimi.errors import CustodyError, EvidenceError
from jikimi.evidence import package
from jikimi.evidence.package import EXPORTED, PackageSummary, export_case
from jikimi.evidence.package_verify import verify_package
from jikimi.store.models import Bank, Case, FaceTemplateRecord, Notice, Person, PersonTemplate
from jikimi.web.service import Service

TEMPLATE_BYTES = b"\x8f\x01TEMPLATE-FIXTURE-\x02\x03\xfe" * 4


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"keep_media": True}


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name.split("/", 1)[1]: zf.read(name) for name in zf.namelist()}


def _top(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()[0].split("/", 1)[0]


def _rezip(path: Path, out: Path, members: dict[str, bytes]) -> Path:
    top = _top(path)
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(f"{top}/{name}", data)
    return out


def _export(service: Service, built: BuiltCase, tmp_path: Path, **kw: bool) -> PackageSummary:
    return export_case(service, built.case_id, tmp_path / "case.zip", actor="investigator", **kw)


def test_a_package_holds_the_case_and_verifies(
    client: TestClient, service: Service, tokens: dict[str, str], tmp_path: Path
) -> None:
    built = build_case(client, service, tokens)
    summary = _export(service, built, tmp_path)
    files = _members(summary.path)

    assert summary.sha256 == hashlib.sha256(summary.path.read_bytes()).hexdigest()
    assert files[f"data/media/{built.sha256}"] == built.image
    assert files[f"data/items/{built.item_id}/raw.json"] == RAW
    with zipfile.ZipFile(summary.path) as zf:  # media stored as they are, records deflated
        kinds = {i.filename.split("/", 2)[-1]: i.compress_type for i in zf.infolist()}
    assert kinds[f"media/{built.sha256}"] == zipfile.ZIP_STORED
    assert kinds["custody.jsonl"] == zipfile.ZIP_DEFLATED
    item = json.loads(files[f"data/items/{built.item_id}/item.json"])
    assert item["meta"]["date_local"] == "2026-03-08T18:04:05"
    [media] = item["media_records"]
    assert media["matches"][0]["bank"] == "known"
    assert media["signals"]["sha256"] == built.sha256
    case = json.loads(files["data/case.json"])
    [decision] = case["decisions"]
    assert decision["statement"]["category"] == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    assert decision["reasons"].startswith("Sexual deepfake")

    # The CASE/UCO manifest names every payload file with its SHA-256, the report's included.
    manifest = json.loads(files["data/manifest.jsonld"])
    report_sha = hashlib.sha256(files["data/report.html"]).hexdigest()
    assert manifest["jikimi:report"] == {"path": "data/report.html", "sha256": report_sha}
    payload = {n for n in files if n.startswith("data/") and n != "data/manifest.jsonld"}
    assert set(manifest["jikimi:files"]) == payload
    for name in payload:
        assert manifest["jikimi:files"][name] == hashlib.sha256(files[name]).hexdigest()
    types = {node["@type"] for node in manifest["@graph"]}
    assert {"uco-observable:File", "case-investigation:ProvenanceRecord"} <= types
    assert "case-investigation:InvestigativeAction" in types
    pdf_node = next(n for n in manifest["@graph"] if n.get("uco-core:name") == "data/report.pdf")
    facet = next(f for f in pdf_node["uco-core:hasFacet"] if "uco-observable:hash" in f)
    [pdf_hash] = facet["uco-observable:hash"]
    assert pdf_hash["uco-types:hashMethod"]["@value"] == "SHA256"
    assert (
        pdf_hash["uco-types:hashValue"]["@value"]
        == hashlib.sha256(files["data/report.pdf"]).hexdigest()
    )
    assert files["data/report.pdf"].startswith(b"%PDF")
    assert b"NanumGothic" in files["data/report.pdf"]  # the embedded Korean font
    assert REASONS.encode() in files["data/report.html"]
    assert (
        b"UTC" in files["data/report.html"] and b"2026-03-08T18:04:05" in files["data/report.html"]
    )

    # Custody: every event of the case, its item and media, each hash recomputable.
    lines = [json.loads(line) for line in files["data/custody.jsonl"].splitlines()]
    subjects = {e["subject"] for e in lines}
    assert {f"case:{built.case_id}", f"item:{built.item_id}", f"media:{built.sha256}"} <= subjects
    assert "case.decided" in {e["kind"] for e in lines}

    # Notifiers' contact details are withheld unless asked for; the withholding is said.
    assert all(CONTACT.encode() not in data for data in files.values())
    assert "notifiers' contact details" in {w["what"] for w in summary.withheld}
    assert summary.timestamps.startswith("not time-stamped: no TSA configured")
    assert b"not time-stamped: no TSA configured" in files["bag-info.txt"]

    # The export is itself a custody event on the case.
    exported = [
        e for e in service.ws.custody.events(subject=f"case:{built.case_id}") if e.kind == EXPORTED
    ]
    assert [e.seq for e in exported] == [summary.custody_seq]
    assert exported[0].payload["package_sha256"] == summary.sha256
    assert exported[0].payload["files"] == summary.files == len(payload) + 1
    assert exported[0].payload["media_included"] == [built.sha256]

    # The bag validates with bagit, its command line, and jikimi's own verification.
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(summary.path) as zf:
        zf.extractall(unpacked)
    bag_dir = unpacked / _top(summary.path)
    bagit.Bag(str(bag_dir)).validate()
    # The standard tool, as the recipient runs it: bagit.py installed beside this Python.
    bagit_cli = Path(sys.executable).parent / "bagit.py"
    done = subprocess.run(
        [sys.executable, str(bagit_cli), "--validate", str(bag_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    check = verify_package(summary.path, roots=[], allow_unstamped=True)
    assert check.ok, check.problems
    assert any(h.startswith("custody:") for h in check.holds)


def test_contacts_come_only_when_asked(
    client: TestClient, service: Service, tokens: dict[str, str], tmp_path: Path
) -> None:
    built = build_case(client, service, tokens)
    summary = _export(service, built, tmp_path, contacts=True)
    assert CONTACT.encode() in _members(summary.path)["data/case.json"]
    assert "notifiers' contact details" not in {w["what"] for w in summary.withheld}
    assert verify_package(summary.path, roots=[], allow_unstamped=True).ok


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "target",
    [
        "media",
        "raw.json",
        "item.json",
        "data/case.json",
        "data/custody.jsonl",
        "data/report.html",
        "data/report.pdf",
        "data/manifest.jsonld",
        "bag-info.txt",
        "manifest-sha256.txt",
    ],
)
def test_one_flipped_byte_in_any_file_is_named(
    client: TestClient, service: Service, tokens: dict[str, str], tmp_path: Path, target: str
) -> None:
    built = build_case(client, service, tokens)
    summary = _export(service, built, tmp_path)
    files = _members(summary.path)
    name = {
        "media": f"data/media/{built.sha256}",
        "raw.json": f"data/items/{built.item_id}/raw.json",
        "item.json": f"data/items/{built.item_id}/item.json",
    }.get(target, target)
    data = bytearray(files[name])
    data[len(data) // 2] ^= 0x01
    files[name] = bytes(data)
    check = verify_package(
        _rezip(summary.path, tmp_path / "edited.zip", files), roots=[], allow_unstamped=True
    )
    assert not check.ok
    assert any(name in p for p in check.problems), check.problems


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_removed_added_and_reordered_are_named(
    client: TestClient, service: Service, tokens: dict[str, str], tmp_path: Path
) -> None:
    built = build_case(client, service, tokens)
    summary = _export(service, built, tmp_path)
    files = _members(summary.path)

    removed = {k: v for k, v in files.items() if k != f"data/media/{built.sha256}"}
    check = verify_package(
        _rezip(summary.path, tmp_path / "removed.zip", removed), roots=[], allow_unstamped=True
    )
    assert any(f"data/media/{built.sha256}" in p for p in check.problems), check.problems

    added = {**files, "data/extra.txt": b"added later"}
    check = verify_package(
        _rezip(summary.path, tmp_path / "added.zip", added), roots=[], allow_unstamped=True
    )
    assert any("data/extra.txt" in p for p in check.problems), check.problems

    lines = files["data/custody.jsonl"].splitlines(keepends=True)
    assert len(lines) >= 3
    lines[1], lines[2] = lines[2], lines[1]
    reordered = {**files, "data/custody.jsonl": b"".join(lines)}
    check = verify_package(
        _rezip(summary.path, tmp_path / "reordered.zip", reordered), roots=[], allow_unstamped=True
    )
    assert any("out of order" in p for p in check.problems), check.problems


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_truncated_or_foreign_file_is_refused_clearly(
    client: TestClient, service: Service, tokens: dict[str, str], tmp_path: Path
) -> None:
    built = build_case(client, service, tokens)
    summary = _export(service, built, tmp_path)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(summary.path.read_bytes()[: summary.path.stat().st_size // 2])
    with pytest.raises(EvidenceError, match="truncated"):
        verify_package(truncated, roots=[])
    text = tmp_path / "notes.txt"
    text.write_text("not a zip")
    with pytest.raises(EvidenceError, match="not a readable zip"):
        verify_package(text, roots=[])


@pytest.mark.parametrize("settings_overrides", [{"keep_media": False}])
def test_without_kept_media_the_package_holds_hashes_only_and_says_so(
    client: TestClient, service: Service, tokens: dict[str, str], tmp_path: Path
) -> None:
    built = build_case(client, service, tokens)
    summary = _export(service, built, tmp_path)
    files = _members(summary.path)
    assert not [n for n in files if n.startswith("data/media/")]
    assert summary.media_included == []
    why = {w["what"]: w["why"] for w in summary.withheld}[f"media {built.sha256}"]
    assert why.startswith("hash-only retention")
    assert b"hash-only retention" in files["data/report.html"]
    manifest = json.loads(files["data/manifest.jsonld"])
    assert f"media {built.sha256}" in {w["what"] for w in manifest["jikimi:withheld"]}
    item = json.loads(files[f"data/items/{built.item_id}/item.json"])
    assert item["media_records"][0]["included"] is None
    assert built.sha256 in files["data/report.html"].decode()
    assert verify_package(summary.path, roots=[], allow_unstamped=True).ok


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_media_that_may_show_a_minor_stays_out_by_default(
    client: TestClient, service: Service, tokens: dict[str, str], tmp_path: Path
) -> None:
    built = build_case(client, service, tokens)
    with service.ws.sessions() as s, s.begin():
        s.execute(update(Case).where(Case.id == built.case_id).values(suspected_minor=True))
    summary = _export(service, built, tmp_path)
    assert summary.media_included == []
    why = {w["what"]: w["why"] for w in summary.withheld}[f"media {built.sha256}"]
    assert why.startswith("may show a minor")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_templates_are_never_in_a_package(
    client: TestClient, service: Service, tokens: dict[str, str], tmp_path: Path
) -> None:
    built = build_case(client, service, tokens)
    now = datetime.now(UTC)
    with service.ws.sessions() as s, s.begin():
        s.add(
            Person(
                id="prs_000000000001",
                name="P",
                consent_by="P",
                scope=[],
                enrolled_at=now,
                enrolled_by="tester",
            )
        )
        s.flush()
        s.add(
            PersonTemplate(
                person_id="prs_000000000001",
                nonce=b"n" * 12,
                ciphertext=TEMPLATE_BYTES,
                created_at=now,
            )
        )
        s.add(
            FaceTemplateRecord(
                media_sha256=built.sha256,
                box_left=1,
                box_top=2,
                box_right=3,
                box_bottom=4,
                nonce=b"m" * 12,
                ciphertext=TEMPLATE_BYTES,
                created_at=now,
            )
        )
    summary = _export(service, built, tmp_path)
    forms = [TEMPLATE_BYTES, TEMPLATE_BYTES.hex().encode(), base64.b64encode(TEMPLATE_BYTES)]
    for name, data in _members(summary.path).items():
        assert not any(form in data for form in forms), name
        assert b"person_templates" not in data and b"face_templates" not in data, name
    assert "protected-person and face templates" in {w["what"] for w in summary.withheld}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_case_with_no_items_or_media_exports_what_it_has(
    client: TestClient, service: Service, tmp_path: Path
) -> None:
    notice = {
        "kind": "takedown_request",
        "jurisdiction": "KR",
        "locators": ["https://t.me/somechannel/77"],
        "signature": "Full Name",
        "good_faith_statement": True,
        "contact": {"email": CONTACT},
    }
    filed = client.post("/v1/notices", json=notice)
    assert filed.status_code == 201, filed.text
    case_id = int(filed.json()["case_id"])
    summary = export_case(service, case_id, tmp_path / "empty.zip", actor="investigator")
    files = _members(summary.path)
    assert summary.media_included == []
    assert not [n for n in files if n.startswith(("data/media/", "data/items/"))]
    assert b"The case holds no items." in files["data/report.html"]
    assert b"No decision has been made on this case." in files["data/report.html"]
    assert json.loads(files["data/case.json"])["notices"][0]["kind"] == "takedown_request"
    assert verify_package(summary.path, roots=[], allow_unstamped=True).ok


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_invalid_contact_fields_lose_their_reasons_without_contacts(
    client: TestClient, service: Service, tokens: dict[str, str], tmp_path: Path
) -> None:
    built = build_case(client, service, tokens)
    invalid = [
        {"field": "contact.email", "reason": "'jane@doe' is not a valid email address"},
        {"field": "on_behalf_of", "reason": "'Jane Roe of 1 Main St' is too long"},
        {"field": "locators[1]", "reason": "'ftp://x' is not a web address"},
    ]
    with service.ws.sessions() as s, s.begin():
        s.execute(update(Notice).where(Notice.case_id == built.case_id).values(invalid=invalid))
    files = _members(_export(service, built, tmp_path).path)
    for data in files.values():
        assert b"jane@doe" not in data and b"Jane Roe" not in data
    [notice] = json.loads(files["data/case.json"])["notices"]
    assert notice["invalid"] == [
        {"field": "contact.email", "reason": "REDACTED"},
        {"field": "on_behalf_of", "reason": "REDACTED"},
        invalid[2],
    ]
    asked = _export(service, built, tmp_path / "with", contacts=True)
    assert b"jane@doe" in _members(asked.path)["data/case.json"]


def test_the_bag_is_built_in_the_system_temp_dir_and_the_zip_is_private(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = build_case(client, service, tokens)
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    out_dir = tmp_path / "out"
    seen: list[tuple[Path, int, list[str]]] = []
    real_bag = package._bag

    def spy(bag_dir: Path, *args: object) -> None:
        mode = stat.S_IMODE(bag_dir.parent.stat().st_mode)
        seen.append((bag_dir, mode, sorted(p.name for p in out_dir.iterdir())))
        real_bag(bag_dir, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(package, "_bag", spy)
    summary = export_case(service, built.case_id, out_dir / "case.zip", actor="investigator")
    [(bag_dir, mode, beside_out)] = seen
    assert bag_dir.is_relative_to(system_tmp) and mode == 0o700
    assert all(not (out_dir / name).is_dir() for name in beside_out)  # no media beside out
    assert stat.S_IMODE(summary.path.stat().st_mode) == 0o600
    assert sorted(p.name for p in out_dir.iterdir()) == ["case.zip"]
    assert list(system_tmp.iterdir()) == []


def test_an_export_that_cannot_be_logged_leaves_no_package(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = build_case(client, service, tokens)

    def refuse(*args: object, **kwargs: object) -> None:
        raise CustodyError("the custody log is unavailable")

    monkeypatch.setattr(service.ws.custody, "append", refuse)
    out = tmp_path / "out" / "case.zip"
    with pytest.raises(CustodyError):
        export_case(service, built.case_id, out, actor="investigator")
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("settings_overrides", [{"keep_media": True, "evidence_minor_media": True}])
def test_media_of_a_minors_bank_needs_the_exporters_right_too(
    client: TestClient, service: Service, tokens: dict[str, str], tmp_path: Path
) -> None:
    built = build_case(client, service, tokens)
    with service.ws.sessions() as s, s.begin():
        s.execute(update(Bank).where(Bank.name == "known").values(minors=True))
    refused = _export(service, built, tmp_path / "refused", minors_allowed=False)
    assert refused.media_included == []
    why = {w["what"]: w["why"] for w in refused.withheld}[f"media {built.sha256}"]
    assert why.startswith("may show a minor")
    allowed = _export(service, built, tmp_path / "allowed", minors_allowed=True)
    assert allowed.media_included == [built.sha256]
