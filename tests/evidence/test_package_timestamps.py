"""Evidence packages and RFC 3161: the manifest's SHA-256 time-stamped by a local TSA, tokens
checked offline against the right root, and never a claimed stamp that is not there."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.evidence.package_case import build_case, rebag
from tests.support.local_tsa import LocalTsa

from jikimi.cli.main import main
from jikimi.evidence.package import export_case
from jikimi.evidence.package_verify import verify_package
from jikimi.web.service import Service

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def settings_overrides(local_tsa: LocalTsa) -> dict[str, object]:
    return {"keep_media": True, "tsa_urls": [local_tsa.url], "tsa_timeout_seconds": 5}


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def test_the_manifest_is_time_stamped_and_the_token_verifies(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    tmp_path: Path,
    local_tsa: LocalTsa,
    other_tsa: LocalTsa,
) -> None:
    built = build_case(client, service, tokens)
    summary = export_case(service, built.case_id, tmp_path / "p.zip", actor="investigator")
    assert summary.timestamps == f"time-stamped by {local_tsa.url}"
    files = {n.split("/", 1)[1]: d for n, d in _members(summary.path).items()}
    manifest_sha = hashlib.sha256(files["data/manifest.jsonld"]).hexdigest()
    assert manifest_sha == summary.manifest_sha256
    [listed] = json.loads(files["tokens/tokens.json"])
    assert listed["tsa"] == local_tsa.url and listed["digest_sha256"] == manifest_sha
    assert "tokens/1.tsr" in files

    check = verify_package(summary.path, roots=[local_tsa.root_pem])
    assert check.ok, check.problems
    assert any(h.startswith("time-stamp tokens/1.tsr: valid token") for h in check.holds)

    untrusted = verify_package(summary.path, roots=[other_tsa.root_pem])
    assert not untrusted.ok
    assert [p for p in untrusted.problems if p.startswith("time-stamp tokens/1.tsr")]
    no_roots = verify_package(summary.path, roots=[])
    assert any("no TSA root certificates" in p for p in no_roots.problems)


def test_a_token_over_another_digest_fails(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    tmp_path: Path,
    local_tsa: LocalTsa,
) -> None:
    built = build_case(client, service, tokens)
    first = export_case(service, built.case_id, tmp_path / "a.zip", actor="investigator")
    second = export_case(service, built.case_id, tmp_path / "b.zip", actor="investigator")
    assert first.manifest_sha256 != second.manifest_sha256  # the exports' times differ
    foreign = next(d for n, d in _members(second.path).items() if n.endswith("tokens/1.tsr"))
    swapped = tmp_path / "swapped.zip"
    with zipfile.ZipFile(swapped, "w") as zf:
        for name, data in _members(first.path).items():
            zf.writestr(name, foreign if name.endswith("tokens/1.tsr") else data)
    check = verify_package(swapped, roots=[local_tsa.root_pem])
    assert any(p.startswith("time-stamp tokens/1.tsr") for p in check.problems), check.problems
    assert any("tokens/1.tsr" in p for p in check.problems if p.startswith("bag:"))


def test_a_tsa_that_is_down_leaves_a_package_that_says_so(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    tmp_path: Path,
    local_tsa: LocalTsa,
) -> None:
    built = build_case(client, service, tokens)
    local_tsa.mode = "garbage"
    summary = export_case(service, built.case_id, tmp_path / "p.zip", actor="investigator")
    assert summary.timestamps.startswith("not time-stamped: no time-stamp authority gave")
    files = {n.split("/", 1)[1]: d for n, d in _members(summary.path).items()}
    assert not [n for n in files if n.startswith("tokens/")]
    assert b"Jikimi-Timestamps: not time-stamped" in files["bag-info.txt"]
    check = verify_package(summary.path, roots=[local_tsa.root_pem], allow_unstamped=True)
    assert check.ok, check.problems
    assert any(h.startswith("time-stamps: accepted unstamped") for h in check.holds)


def test_the_command_checks_tokens_against_the_roots_it_is_given(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    tmp_path: Path,
    local_tsa: LocalTsa,
    other_tsa: LocalTsa,
    capsys: pytest.CaptureFixture[str],
) -> None:
    built = build_case(client, service, tokens)
    summary = export_case(service, built.case_id, tmp_path / "p.zip", actor="investigator")
    right, wrong = tmp_path / "right.pem", tmp_path / "wrong.pem"
    right.write_bytes(local_tsa.root_pem)
    wrong.write_bytes(other_tsa.root_pem)

    def verify(roots: Path) -> int:
        capsys.readouterr()
        try:
            main(["evidence", "verify", str(summary.path), "--tsa-roots", str(roots)])
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    assert verify(right) == 0
    assert "holds: time-stamp tokens/1.tsr: valid token" in capsys.readouterr().out
    assert verify(wrong) == 1
    assert "PROBLEM: time-stamp tokens/1.tsr" in capsys.readouterr().out


def test_a_package_stripped_of_its_time_stamps_does_not_verify(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    tmp_path: Path,
    local_tsa: LocalTsa,
) -> None:
    built = build_case(client, service, tokens)
    summary = export_case(service, built.case_id, tmp_path / "p.zip", actor="investigator")
    stripped = rebag(
        summary.path,
        tmp_path / "stripped.zip",
        lambda bag_dir: shutil.rmtree(bag_dir / "tokens"),
        {"Jikimi-Timestamps": "not time-stamped: no TSA configured"},
    )
    check = verify_package(stripped, roots=[local_tsa.root_pem])
    assert not check.ok
    assert not [p for p in check.problems if p.startswith("bag:")]
    assert any("proves neither when it was made" in p for p in check.problems)


def test_every_listed_token_must_be_there_and_over_the_manifest(
    client: TestClient,
    service: Service,
    tokens: dict[str, str],
    tmp_path: Path,
    local_tsa: LocalTsa,
) -> None:
    built = build_case(client, service, tokens)
    summary = export_case(service, built.case_id, tmp_path / "p.zip", actor="investigator")

    def list_more(bag_dir: Path) -> None:
        listing = bag_dir / "tokens" / "tokens.json"
        entries = json.loads(listing.read_bytes())
        entries.append({**entries[0], "file": "tokens/2.tsr"})
        entries.append({**entries[0], "digest_sha256": "0" * 64})
        listing.write_text(json.dumps(entries))

    check = verify_package(
        rebag(summary.path, tmp_path / "listed.zip", list_more), roots=[local_tsa.root_pem]
    )
    assert check.problems == [
        "time-stamps: tokens/tokens.json entry 2 names 'tokens/2.tsr', which is not a token in "
        "the package",
        "time-stamps: tokens/tokens.json entry 3 is not over the manifest's SHA-256",
    ]
