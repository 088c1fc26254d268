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
5. every custody event a custody anchor covers has an RFC 6962 inclusion proof in
   ``data/anchors.json`` that leads from the hash recomputed in step 3 to the anchor's root, and
   the anchor's RFC 3161 tokens are valid over that root under a given root
   (:mod:`jikimi.evidence.package_anchors`); the other events are listed as not yet anchored;
6. ``bag-info.txt`` names the manifest's SHA-256; each RFC 3161 token is over it and chains to a
   given root; each ``tokens/tokens.json`` entry names a token there over that digest. No valid
   token is a problem unless ``allow_unstamped``: such a package proves neither when it was made
   nor that it was not changed afterwards.

The package is hostile input: it is unpacked by :func:`jikimi.connectors.safe_zip.extract`
(bytes counted as written, per-entry compression ratio bounded) after its declared size is
checked, the files read whole are size-bounded, every path the manifest names must be under
``data/``, and any unexpected error while checking becomes a problem, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import bagit

from jikimi.connectors import safe_zip
from jikimi.errors import EvidenceError
from jikimi.evidence import package_anchors, package_stamps
from jikimi.evidence.custody import event_hash

MAX_MEMBERS = 100_000
MAX_UNPACKED_BYTES = 64 * 1024**3  # all members together, declared and as written
MAX_RATIO = 200.0  # output over compressed size, per member once past 1 MiB
MAX_RECORD_BYTES = 256 * 1024**2  # custody.jsonl, manifest.jsonld: each is read whole
MAX_TOKEN_BYTES = 1024**2  # each tokens/*.tsr, and tokens/tokens.json
UNSTAMPED = (
    "no valid RFC 3161 time-stamp over the manifest: this package proves neither when it was "
    "made nor that it was not changed afterwards"
)
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_REFUSALS = {
    "zip-bomb": f"an entry expands more than {MAX_RATIO:.0f} times its compressed size, the mark "
    "of a zip bomb",
    "too-large-unpacked": f"it unpacks to more than {MAX_UNPACKED_BYTES} bytes",
    "too-many-entries": f"it holds more than {MAX_MEMBERS} entries",
    "unsafe-zip": "it holds a link, an encrypted entry, or a name twice",
}
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


def verify_package(
    path: Path, *, roots: list[bytes], allow_unstamped: bool = False
) -> PackageCheck:
    """Check the package at ``path``; :class:`EvidenceError` when it is not a readable zip or
    is refused before unpacking finishes (too large, a zip bomb, unsafe entries)."""
    check = PackageCheck()
    with tempfile.TemporaryDirectory(prefix="jikimi-verify-") as tmp:
        bag_dir = _unzip(Path(path), Path(tmp))
        data = bag_dir / "data"
        info: dict[str, Any] = {}
        manifest_sha: str | None = None
        recomputed: dict[int, str] = {}
        with _stage("bag", check):
            info = _check_bag(bag_dir, check)
        with _stage("custody", check):
            recomputed = _check_custody(data / "custody.jsonl", check)
        with _stage("custody anchors", check):
            _check_anchors(data / package_anchors.ANCHORS, recomputed, roots, check)
        with _stage("manifest", check):
            manifest_sha = _check_manifest(data, check)
        with _stage("time-stamps", check):
            _check_tokens(bag_dir, manifest_sha, info, roots, allow_unstamped, check)
    return check


@contextmanager
def _stage(name: str, check: PackageCheck) -> Iterator[None]:
    """Turn an error no check foresaw into a problem: a hostile package must not crash this."""
    try:
        yield
    except Exception as exc:  # anything the package provokes is a problem
        check.problems.append(f"{name}: could not be checked ({type(exc).__name__}: {exc})")


def _read_capped(path: Path, limit: int, what: str, check: PackageCheck) -> bytes | None:
    """The file's bytes, or ``None`` and a problem when it is over ``limit`` bytes."""
    size = path.stat().st_size
    if size > limit:
        check.problems.append(f"{what}: {size} bytes, over the limit of {limit}; not read")
        return None
    return path.read_bytes()


def _unzip(path: Path, dest: Path) -> Path:
    limits = safe_zip.ZipLimits(
        max_entries=MAX_MEMBERS, max_bytes=MAX_UNPACKED_BYTES, max_ratio=MAX_RATIO
    )
    try:
        # The end record's counts first: zipfile reads the whole directory into memory.
        safe_zip.check_central_directory(path, limits)
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise EvidenceError(f"{path} does not exist") from None
    except safe_zip.UnsafeZip as exc:
        raise EvidenceError(
            f"{path} is refused: {_REFUSALS.get(exc.code, str(exc))}; not an evidence package"
        ) from None
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
        declared = sum(info.file_size for info in zf.infolist())
        if declared > MAX_UNPACKED_BYTES:
            raise EvidenceError(
                f"{path} declares {declared} unpacked bytes, over the limit of "
                f"{MAX_UNPACKED_BYTES}; not unpacked"
            )
    try:
        safe_zip.extract(path, dest, limits)
    except safe_zip.UnsafeZip as exc:
        if exc.code not in _REFUSALS:  # "not-a-zip": a member's data does not read back
            raise EvidenceError(
                f"{path} cannot be unpacked: the zip is damaged or truncated"
            ) from None
        raise EvidenceError(
            f"{path} is refused while unpacking: {_REFUSALS[exc.code]}; not an evidence package"
        ) from None
    except (OSError, EOFError, zlib.error) as exc:
        raise EvidenceError(
            f"{path} cannot be unpacked ({exc}): the zip is damaged or truncated"
        ) from None
    return dest / tops.pop()


def _check_bag(bag_dir: Path, check: PackageCheck) -> dict[str, Any]:
    """Validate the bag; its bag-info.txt fields (empty when the bag cannot be read)."""
    try:
        bag = bagit.Bag(str(bag_dir))
    except bagit.BagError as exc:
        check.problems.append(f"bag: {exc}")
        return {}
    try:
        bag.validate()
    except bagit.BagValidationError as exc:
        details = [str(d) for d in exc.details] or [exc.message]
        check.problems.extend(f"bag: {d}" for d in details)
        check.problems.extend(_changed_tag_files(bag_dir, bag))
    except bagit.BagError as exc:
        check.problems.append(f"bag: {exc}")
    else:
        version = ".".join(map(str, bag.version_info))
        check.holds.append(
            f"bag: valid BagIt {version}, {len(bag.payload_entries())} payload files match "
            f"{', '.join(sorted(bag.algorithms))} manifests"
        )
    return dict(bag.info)


def _changed_tag_files(bag_dir: Path, bag: bagit.Bag) -> list[str]:
    """Tag files the tag manifests do not match. bagit stops at a missing or unlisted file
    before any checksum, so an edited name in manifest-sha256.txt would otherwise be reported
    only as a payload file gone missing."""
    changed = []
    inside = bag_dir.resolve()
    for rel, hashes in sorted(bag.tagfile_entries().items()):
        file = bag_dir / rel
        if not file.resolve().is_relative_to(inside) or not file.is_file():
            continue  # bagit names it
        for algorithm, expected in hashes.items():
            if algorithm in {"sha256", "sha512"} and _digest(file, algorithm) != expected:
                changed.append(f"bag: {rel} does not match the tag manifest ({algorithm})")
                break
    return changed


def _check_custody(path: Path, check: PackageCheck) -> dict[int, str]:
    """Check the events; each readable event's hash as recomputed from its line, by seq."""
    recomputed_by_seq: dict[int, str] = {}
    if not path.is_file():
        check.problems.append("custody: data/custody.jsonl is missing")
        return recomputed_by_seq
    raw = _read_capped(path, MAX_RECORD_BYTES, "custody: data/custody.jsonl", check)
    if raw is None:
        return recomputed_by_seq
    problems: list[str] = []
    events: list[dict[str, Any]] = []
    for number, line in enumerate(raw.splitlines(), 1):
        try:
            event = json.loads(line)
            if not isinstance(event, dict) or set(event) != _EVENT_KEYS:
                raise ValueError("not a custody event")
            if not isinstance(event["seq"], int) or isinstance(event["seq"], bool):
                raise ValueError("seq is not an integer")
            recomputed = event_hash(
                **{k: event[k] for k in _EVENT_KEYS - {"hash", "at"}},
                at=datetime.fromisoformat(event["at"]),
            )
        except (ValueError, TypeError, RecursionError) as exc:
            problems.append(f"custody line {number}: unreadable ({exc})")
            continue
        recomputed_by_seq[event["seq"]] = recomputed
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
    return recomputed_by_seq


def _check_anchors(
    path: Path, recomputed: dict[int, str], roots: list[bytes], check: PackageCheck
) -> None:
    if not path.is_file():
        # Removing it from a package would show in the manifest check (the manifest names it,
        # and its time-stamp covers the manifest); a package made before packages carried
        # proofs simply has none.
        check.holds.append(
            f"custody anchors: no data/{path.name} (a package made before packages carried "
            "anchor proofs); `jikimi custody verify` at the operator checks the anchors"
        )
        return
    raw = _read_capped(path, package_anchors.MAX_BYTES, f"custody anchors: data/{path.name}", check)
    if raw is not None:
        checked = package_anchors.verify(raw, recomputed, roots)
        check.holds.extend(checked.holds)
        check.problems.extend(checked.problems)


def _digest(path: Path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    return _digest(path, "sha256")


def _parse_manifest(raw: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """The manifest's ``jikimi:files`` and ``jikimi:report``; :class:`ValueError` when either
    is not what Jikimi writes."""
    try:
        manifest = json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(manifest, dict):
        raise ValueError("not a JSON object")
    named, report = manifest.get("jikimi:files"), manifest.get("jikimi:report")
    if not isinstance(named, dict) or not all(
        isinstance(rel, str) and isinstance(sha, str) and _SHA256_HEX.fullmatch(sha)
        for rel, sha in named.items()
    ):
        raise ValueError('"jikimi:files" is not a map of path to SHA-256')
    if not (
        isinstance(report, dict)
        and isinstance(report.get("path"), str)
        and isinstance(report.get("sha256"), str)
    ):
        raise ValueError('"jikimi:report" is not {"path", "sha256"}')
    return named, report


def _check_manifest(data: Path, check: PackageCheck) -> str | None:
    path = data / "manifest.jsonld"
    if not path.is_file():
        check.problems.append("manifest: data/manifest.jsonld is missing")
        return None
    raw = _read_capped(path, MAX_RECORD_BYTES, "manifest: data/manifest.jsonld", check)
    if raw is None:
        return _sha256(path)  # too large to parse, not to hash: the tokens are still checked
    try:
        named, report = _parse_manifest(raw)
    except ValueError as exc:
        check.problems.append(f"manifest: data/manifest.jsonld is not a Jikimi manifest ({exc})")
        return _sha256(path)
    bag_root = data.parent
    inside = data.resolve()
    problems = []
    for rel, sha in sorted(named.items()):
        file = bag_root / rel
        if not (rel.startswith("data/") and rel.isprintable()) or not file.resolve().is_relative_to(
            inside
        ):
            problems.append(f"manifest: names {rel!r}, which is outside the package's data/")
        elif not file.is_file():
            problems.append(f"manifest: names {rel}, which is not in the package")
        elif _sha256(file) != sha:
            problems.append(f"manifest: {rel} does not have the SHA-256 the manifest names")
    present = {p.relative_to(bag_root).as_posix() for p in data.rglob("*") if p.is_file()}
    for rel in sorted(present - set(named) - {"data/manifest.jsonld"}):
        problems.append(f"manifest: {rel} is in the package but not named in the manifest")
    if named.get(report["path"]) != report["sha256"]:
        problems.append("manifest: the report's SHA-256 is not the one the manifest lists")
    check.problems.extend(problems)
    if not problems:
        check.holds.append(
            f"manifest: CASE/UCO names {len(named)} files, each with its SHA-256 (report "
            f"{report['path']} {report['sha256']})"
        )
    return _sha256(path)


def _check_tokens(
    bag_dir: Path,
    manifest_sha: str | None,
    info: dict[str, Any],
    roots: list[bytes],
    allow_unstamped: bool,
    check: PackageCheck,
) -> None:
    if manifest_sha is None:
        check.problems.append("time-stamps: no manifest to check the tokens against")
        return
    if info.get("Jikimi-Manifest-SHA256") != manifest_sha:
        check.problems.append(
            "time-stamps: bag-info.txt's Jikimi-Manifest-SHA256 is not the SHA-256 of "
            f"data/manifest.jsonld ({manifest_sha})"
        )
    tokens = sorted((bag_dir / "tokens").glob("*.tsr"))
    _check_token_listing(bag_dir / "tokens" / "tokens.json", tokens, manifest_sha, check)
    valid = 0
    for token in tokens:
        name = f"tokens/{token.name}"
        raw = _read_capped(token, MAX_TOKEN_BYTES, f"time-stamp {name}", check)
        if raw is None:
            continue
        result = package_stamps.check_token(name, raw, bytes.fromhex(manifest_sha), roots)
        line = f"time-stamp {result.name}: {result.detail}"
        (check.holds if result.ok else check.problems).append(line)
        valid += result.ok
    if valid:
        return
    if allow_unstamped:
        check.holds.append(f"time-stamps: accepted unstamped (--allow-unstamped), but {UNSTAMPED}")
    else:
        check.problems.append(f"time-stamps: {UNSTAMPED} (--allow-unstamped accepts that)")


def _check_token_listing(
    path: Path, tokens: list[Path], manifest_sha: str, check: PackageCheck
) -> None:
    """Each tokens/tokens.json entry must name a token in the package over ``manifest_sha``."""
    if not path.is_file():
        if tokens:
            check.problems.append("time-stamps: tokens/tokens.json is missing")
        return
    raw = _read_capped(path, MAX_TOKEN_BYTES, "time-stamps: tokens/tokens.json", check)
    if raw is None:
        return
    try:
        listing = json.loads(raw)
    except (ValueError, RecursionError):
        listing = None
    if not isinstance(listing, list) or not all(isinstance(e, dict) for e in listing):
        check.problems.append("time-stamps: tokens/tokens.json is not a list of tokens")
        return
    present = {f"tokens/{t.name}" for t in tokens}
    for n, entry in enumerate(listing, 1):
        if entry.get("file") not in present:
            check.problems.append(
                f"time-stamps: tokens/tokens.json entry {n} names {entry.get('file')!r}, "
                "which is not a token in the package"
            )
        if entry.get("digest_sha256") != manifest_sha:
            check.problems.append(
                f"time-stamps: tokens/tokens.json entry {n} is not over the manifest's SHA-256"
            )
