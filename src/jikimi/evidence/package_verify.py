"""Verify an evidence package offline, trusting nothing in it but the hashes it can recompute.

Checks, each reported as holding or not:

1. the file is a zip with one top folder and safe member names;
2. the bag validates (``bagit.Bag.validate``: payload and tag manifests, Payload-Oxum,
   nothing added, nothing missing);
3. every custody event's hash recomputes (:func:`jikimi.evidence.custody.event_hash`),
   seqs strictly increase, and each event whose predecessor (seq - 1) is present links to it
   by ``prev_hash``;
4. the CASE manifest names every payload file with the SHA-256 it has, the report's included,
   and names no file that is not there;
5. each RFC 3161 token is over the manifest's SHA-256 and chains to a given root.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import bagit

from jikimi.errors import EvidenceError
from jikimi.evidence import package_stamps
from jikimi.evidence.custody import event_hash

MAX_MEMBERS = 100_000
_EVENT_KEYS = {
    "seq",
    "at",
    "kind",
    "subject",
    "actor",
    "tool_version",
    "payload",
    "prev_hash",
    "hash",
}


@dataclass(slots=True)
class PackageCheck:
    holds: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.holds)


def verify_package(path: Path, *, roots: list[bytes]) -> PackageCheck:
    """Check the package at ``path``; :class:`EvidenceError` when it is not a readable zip."""
    check = PackageCheck()
    with tempfile.TemporaryDirectory(prefix="jikimi-verify-") as tmp:
        bag_dir = _unzip(Path(path), Path(tmp))
        _check_bag(bag_dir, check)
        data = bag_dir / "data"
        _check_custody(data / "custody.jsonl", check)
        manifest_sha = _check_manifest(data, check)
        _check_tokens(bag_dir, manifest_sha, roots, check)
    return check


def _unzip(path: Path, dest: Path) -> Path:
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise EvidenceError(f"{path} does not exist") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise EvidenceError(
            f"{path} is not a readable zip ({exc}): the file is truncated or not an evidence "
            "package; get the package again and compare its SHA-256 with the export's"
        ) from None
    with zf:
        names = zf.namelist()
        if not names or len(names) > MAX_MEMBERS:
            raise EvidenceError(f"{path} holds {len(names)} entries; not an evidence package")
        tops = set()
        for name in names:
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts or "\\" in name or not parts:
                raise EvidenceError(f"{path} holds an unsafe entry name {name!r}; not opened")
            tops.add(parts[0])
        if len(tops) != 1:
            raise EvidenceError(
                f"{path} has {len(tops)} top folders; an evidence package has exactly one"
            )
        try:
            zf.extractall(dest)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise EvidenceError(
                f"{path} cannot be unpacked ({exc}): the zip is damaged or truncated"
            ) from None
    return dest / tops.pop()


def _check_bag(bag_dir: Path, check: PackageCheck) -> None:
    try:
        bag = bagit.Bag(str(bag_dir))
        bag.validate()
    except bagit.BagValidationError as exc:
        details = [str(d) for d in exc.details] or [exc.message]
        check.problems.extend(f"bag: {d}" for d in details)
    except bagit.BagError as exc:
        check.problems.append(f"bag: {exc}")
    else:
        version = ".".join(map(str, bag.version_info))
        check.holds.append(
            f"bag: valid BagIt {version}, {len(bag.payload_entries())} payload files match "
            f"{', '.join(sorted(bag.algorithms))} manifests"
        )


def _check_custody(path: Path, check: PackageCheck) -> None:
    if not path.is_file():
        check.problems.append("custody: data/custody.jsonl is missing")
        return
    problems: list[str] = []
    events: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        try:
            event = json.loads(line)
            if not isinstance(event, dict) or set(event) != _EVENT_KEYS:
                raise ValueError("not a custody event")
            recomputed = event_hash(
                **{k: event[k] for k in _EVENT_KEYS - {"hash", "at"}},
                at=datetime.fromisoformat(event["at"]),
            )
        except (ValueError, TypeError) as exc:
            problems.append(f"custody line {number}: unreadable ({exc})")
            continue
        if recomputed != event["hash"]:
            problems.append(
                f"custody line {number} (seq {event['seq']}): hash does not match "
                "its contents (edited event)"
            )
        if events and event["seq"] <= events[-1]["seq"]:
            problems.append(
                f"custody line {number} (seq {event['seq']}): out of order after "
                f"seq {events[-1]['seq']} (reordered or repeated events)"
            )
        elif (
            events
            and event["seq"] == events[-1]["seq"] + 1
            and event["prev_hash"] != events[-1]["hash"]
        ):
            problems.append(
                f"custody seq {event['seq']}: prev_hash does not link to seq {events[-1]['seq']}"
            )
        events.append(event)
    check.problems.extend(problems)
    if not problems:
        check.holds.append(
            f"custody: {len(events)} events, every hash recomputes, in seq order, consecutive "
            "events linked"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_manifest(data: Path, check: PackageCheck) -> str | None:
    path = data / "manifest.jsonld"
    try:
        manifest = json.loads(path.read_bytes())
        named: dict[str, str] = manifest["jikimi:files"]
        report = manifest["jikimi:report"]
    except FileNotFoundError:
        check.problems.append("manifest: data/manifest.jsonld is missing")
        return None
    except (ValueError, KeyError, TypeError) as exc:
        check.problems.append(f"manifest: data/manifest.jsonld is not a Jikimi manifest ({exc})")
        return _sha256(path)
    bag_root = data.parent
    problems = []
    for rel, sha in sorted(named.items()):
        file = bag_root / rel
        if not file.is_file():
            problems.append(f"manifest: names {rel}, which is not in the package")
        elif _sha256(file) != sha:
            problems.append(f"manifest: {rel} does not have the SHA-256 the manifest names")
    present = {p.relative_to(bag_root).as_posix() for p in data.rglob("*") if p.is_file()}
    for rel in sorted(present - set(named) - {"data/manifest.jsonld"}):
        problems.append(f"manifest: {rel} is in the package but not named in the manifest")
    if named.get(report.get("path")) != report.get("sha256") or not report.get("sha256"):
        problems.append("manifest: the report's SHA-256 is not the one the manifest lists")
    check.problems.extend(problems)
    if not problems:
        check.holds.append(
            f"manifest: CASE/UCO names {len(named)} files, each with its SHA-256 (report "
            f"{report['path']} {report['sha256']})"
        )
    return _sha256(path)


def _check_tokens(
    bag_dir: Path, manifest_sha: str | None, roots: list[bytes], check: PackageCheck
) -> None:
    tokens = sorted((bag_dir / "tokens").glob("*.tsr"))
    if not tokens:
        check.holds.append("time-stamps: none in the package (it claims none)")
        return
    if manifest_sha is None:
        check.problems.append("time-stamps: no manifest to check the tokens against")
        return
    for token in tokens:
        result = package_stamps.check_token(
            f"tokens/{token.name}", token.read_bytes(), bytes.fromhex(manifest_sha), roots
        )
        line = f"time-stamp {result.name}: {result.detail}"
        (check.holds if result.ok else check.problems).append(line)
