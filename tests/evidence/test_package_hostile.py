"""``verify_package`` on hostile packages: zip bombs and oversized files are refused, malformed
manifests and custody lines are problems (never a traceback), the manifest cannot reach outside
the bag, and a package stripped of its time-stamps does not verify."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.evidence.package_case import build_case, rebag

from jikimi.errors import EvidenceError
from jikimi.evidence import package_verify
from jikimi.evidence.package import export_case
from jikimi.evidence.package_verify import verify_package
from jikimi.web.service import Service

sqlite = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def package(client: TestClient, service: Service, tokens: dict[str, str], tmp_path: Path) -> Path:
    built = build_case(client, service, tokens)
    return export_case(service, built.case_id, tmp_path / "case.zip", actor="investigator").path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(f"bag/{name}", data)
    return path


def _edited(package: Path, tmp_path: Path, name: str, change: Callable[[bytes], bytes]) -> Path:
    """The package with one file changed and its bag manifests recomputed to match."""

    def edit(bag_dir: Path) -> None:
        target = bag_dir / name
        target.write_bytes(change(target.read_bytes()))

    return rebag(package, tmp_path / "edited.zip", edit)


def _manifest_edit(change: Callable[[dict[str, object]], None]) -> Callable[[bytes], bytes]:
    def edit(raw: bytes) -> bytes:
        manifest = json.loads(raw)
        change(manifest)
        return json.dumps(manifest).encode()

    return edit


# 1. Zip bombs and disk exhaustion.


def test_a_package_declaring_more_than_the_limit_is_not_unpacked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(package_verify, "MAX_UNPACKED_BYTES", 1000)
    archive = _zip(tmp_path / "big.zip", {"a": os.urandom(600), "b": os.urandom(600)})
    with pytest.raises(EvidenceError, match="declares 1200 unpacked bytes, over the limit"):
        verify_package(archive, roots=[])


def test_a_zip_bomb_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "bomb.zip", {"data/zeros": bytes(8 * 1024 * 1024)})
    with pytest.raises(EvidenceError, match="the mark of a zip bomb"):
        verify_package(archive, roots=[])


def test_a_member_whose_header_lies_about_its_size_is_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "lying.zip", {"data/file": os.urandom(4096)})
    raw = bytearray(archive.read_bytes())
    central = raw.rfind(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, 16)  # uncompressed size: 16, not 4096
    archive.write_bytes(bytes(raw))
    with pytest.raises(EvidenceError, match="damaged or truncated"):
        verify_package(archive, roots=[])


@sqlite
def test_oversized_custody_manifest_and_tokens_are_not_read(
    package: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def add_token(bag_dir: Path) -> None:
        (bag_dir / "tokens").mkdir()
        (bag_dir / "tokens" / "1.tsr").write_bytes(b"\x30" * 2048)

    stamped = rebag(package, tmp_path / "stamped.zip", add_token)
    monkeypatch.setattr(package_verify, "MAX_RECORD_BYTES", 100)
    monkeypatch.setattr(package_verify, "MAX_TOKEN_BYTES", 1024)
    check = verify_package(stamped, roots=[], allow_unstamped=True)
    assert not check.ok
    for what in ("custody: data/custody.jsonl", "manifest: data/manifest.jsonld"):
        assert any(p.startswith(what) and "over the limit of 100" in p for p in check.problems)
    assert "time-stamp tokens/1.tsr: 2048 bytes, over the limit of 1024; not read" in (
        check.problems
    )


# 2. Hostile manifests and custody lines.


@sqlite
@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda m: m.update({"jikimi:files": []}), '"jikimi:files" is not a map'),
        (lambda m: m.update({"jikimi:files": {"data/x": 5}}), '"jikimi:files" is not a map'),
        (lambda m: m.update({"jikimi:report": "data/report.html"}), '"jikimi:report" is not'),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_a_problem(
    package: Path, tmp_path: Path, change: Callable[[dict[str, object]], None], expected: str
) -> None:
    edited = _edited(package, tmp_path, "data/manifest.jsonld", _manifest_edit(change))
    check = verify_package(edited, roots=[], allow_unstamped=True)
    assert any(p.startswith("manifest:") and expected in p for p in check.problems), check.problems


@sqlite
def test_deeply_nested_json_is_a_problem(package: Path, tmp_path: Path) -> None:
    def nest(bag_dir: Path) -> None:
        (bag_dir / "data" / "manifest.jsonld").write_bytes(b"[" * 200_000)
        custody = bag_dir / "data" / "custody.jsonl"
        custody.write_bytes(custody.read_bytes() + b"[" * 200_000 + b"\n")

    check = verify_package(rebag(package, tmp_path / "nested.zip", nest), roots=[])
    assert any("not a Jikimi manifest (nested too deeply)" in p for p in check.problems)
    assert any(p.startswith("custody line") and "unreadable" in p for p in check.problems)


@sqlite
def test_a_custody_seq_that_is_not_an_integer_is_a_problem(package: Path, tmp_path: Path) -> None:
    def stringly(raw: bytes) -> bytes:
        lines = raw.splitlines()
        event = json.loads(lines[1])
        event["seq"] = str(event["seq"])
        lines[1] = json.dumps(event).encode()
        return b"\n".join(lines) + b"\n"

    edited = _edited(package, tmp_path, "data/custody.jsonl", stringly)
    check = verify_package(edited, roots=[], allow_unstamped=True)
    assert "custody line 2: unreadable (seq is not an integer)" in check.problems


@sqlite
@pytest.mark.parametrize("prefix", ["data/", ""])
def test_the_manifest_cannot_name_a_file_outside_data(
    package: Path, tmp_path: Path, prefix: str
) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_bytes(b"outside the package")
    outside = prefix + "../" * 40 + str(secret).lstrip("/")

    def name_them(manifest: dict[str, object]) -> None:
        files = manifest["jikimi:files"]
        assert isinstance(files, dict)
        files[outside] = hashlib.sha256(b"outside the package").hexdigest()
        files["data/../bagit.txt"] = "0" * 64

    edited = _edited(package, tmp_path, "data/manifest.jsonld", _manifest_edit(name_them))
    check = verify_package(edited, roots=[], allow_unstamped=True)
    assert not check.ok
    for rel in (outside, "data/../bagit.txt"):
        assert f"manifest: names {rel!r}, which is outside the package's data/" in check.problems


@sqlite
def test_an_unforeseen_error_is_a_problem_not_a_traceback(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(package_verify, "event_hash", broken)
    check = verify_package(package, roots=[], allow_unstamped=True)
    assert "custody: could not be checked (RuntimeError: boom)" in check.problems
    assert any(h.startswith("manifest:") for h in check.holds)


# 3. Time-stamps.


@sqlite
def test_an_unstamped_package_verifies_only_when_allowed(package: Path) -> None:
    refused = verify_package(package, roots=[])
    assert not refused.ok
    [problem] = refused.problems
    assert problem.startswith("time-stamps: no valid RFC 3161 time-stamp")
    assert "proves neither when it was made nor that it was not changed afterwards" in problem
    allowed = verify_package(package, roots=[], allow_unstamped=True)
    assert allowed.ok, allowed.problems
    assert any("proves neither when it was made" in h for h in allowed.holds)


@sqlite
def test_bag_info_must_name_the_manifests_sha256(package: Path, tmp_path: Path) -> None:
    edited = rebag(
        package, tmp_path / "edited.zip", lambda _: None, {"Jikimi-Manifest-SHA256": "0" * 64}
    )
    check = verify_package(edited, roots=[], allow_unstamped=True)
    assert any("Jikimi-Manifest-SHA256 is not the SHA-256" in p for p in check.problems)
    assert not [p for p in check.problems if p.startswith("bag:")]
