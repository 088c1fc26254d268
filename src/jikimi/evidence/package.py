"""Evidence packages: a case exported as a zipped BagIt bag (RFC 8493) that verifies offline.

Layout (inside one top folder ``jikimi-case-<id>-<UTC time>/``)::

    bagit.txt, bag-info.txt, manifest-sha256.txt, manifest-sha512.txt, tagmanifest-*.txt
    data/case.json             the case, its notices, decisions (with statements), appeals
    data/items/<id>/item.json  the item, its verdicts, links, media with signals, findings
                               and matches
    data/items/<id>/raw.json   the platform's own record, byte for byte (when received)
    data/media/<sha256>        media bytes, only where retention kept a copy (see below)
    data/custody.jsonl         the custody events of everything above, in seq order
    data/anchors.json          for each of those events a custody anchor covers, its RFC 6962
                               inclusion proof, and the anchors (range, root, RFC 3161 tokens);
                               the events not yet anchored (package_anchors)
    data/report.html, .pdf     the human-readable report
    data/manifest.jsonld       CASE/UCO: every file above with its hashes, the actions
    tokens/<n>.tsr             RFC 3161 tokens over the manifest's SHA-256 (tag files)
    tokens/tokens.json         which TSA, what time, which digest

Media bytes go in only where the vault holds a copy (``MediaRecord.kept_in_vault``); media
that may show a minor go in only when the ``evidence_minor_media`` setting says so and, on the
web, the exporter holds ``minors:view``; notifiers' contact details only with ``contacts=True``.
Everything left out is named, with the reason, in the manifest, the report and the
``evidence.exported`` custody event that records the export.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bagit

from jikimi import __version__
from jikimi.errors import EvidenceError, VaultError
from jikimi.evidence import package_anchors, package_stamps
from jikimi.evidence.bagging import make_bag
from jikimi.evidence.case_uco import PackageFile, Performed, build_manifest
from jikimi.evidence.custody import CustodyEvent
from jikimi.evidence.package_records import CaseRecords, MediaEntry, iso, read_case
from jikimi.evidence.package_report import build_report
from jikimi.evidence.report_doc import find_font, render_html, render_pdf
from jikimi.evidence.retention import PURGED

EXPORTED = "evidence.exported"
TOOL = f"jikimi/{__version__}"
MANIFEST = "manifest.jsonld"
REPORT_HTML = "report.html"
REPORT_PDF = "report.pdf"
CUSTODY = "custody.jsonl"
STAMP_NOTE = (
    "time-stamps: RFC 3161 tokens over this manifest's SHA-256 are the tag files tokens/*.tsr "
    "when a TSA gave them; bag-info.txt says Jikimi-Timestamps either way"
)
CONTACTS_WITHHELD = {
    "what": "notifiers' contact details",
    "why": "personal data (GDPR/DSA): included only when the export asks for contacts",
}
TEMPLATES_NEVER = {
    "what": "protected-person and face templates",
    "why": "never exported: templates identify people and serve matching only",
}


@dataclass(frozen=True, slots=True)
class PackageSummary:
    path: Path
    sha256: str
    case_id: int
    files: int
    manifest_sha256: str
    media_included: list[str]
    withheld: list[dict[str, str]]
    timestamps: str
    custody_seq: int


def _workspace(source: Any) -> Any:
    """A :class:`~jikimi.workspace.Workspace`, given one or a service holding one."""
    return getattr(source, "ws", source)


def export_case(
    source: Any,
    case_id: int,
    out: Path,
    *,
    actor: str,
    contacts: bool = False,
    media: bool = True,
    minors_allowed: bool | None = None,
) -> PackageSummary:
    """Write case ``case_id`` as a zipped BagIt bag at ``out`` and record the export in the
    custody log. ``source`` is a workspace or a service holding one; ``contacts``: include
    notifiers' contact details; ``media``: include kept media bytes (otherwise hashes and
    locators only); ``minors_allowed``: include media that may show a minor (the web passes
    the setting and the requester's ``minors:view``; ``None``, for operator tools: the
    ``evidence_minor_media`` setting alone). :class:`CaseNotFound` before anything is written
    for an unknown case.

    The bag, decrypted media included, is built in a private folder (0700) of the system's
    temporary directory, never beside ``out``; the zip is written 0600 beside ``out`` and moved
    into place only after the export is in the custody log, so no package exists unlogged."""
    ws = _workspace(source)
    if minors_allowed is None:
        minors_allowed = ws.settings.evidence_minor_media
    records = read_case(ws.sessions, case_id, contacts=contacts)
    now = datetime.now(UTC)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".jikimi-evidence-", suffix=".zip", dir=out.parent)
    os.close(fd)
    tmp_zip = Path(name)
    try:
        with tempfile.TemporaryDirectory(prefix="jikimi-evidence-") as tmp:
            bag_dir = Path(tmp) / f"jikimi-case-{case_id}-{now:%Y%m%dT%H%M%SZ}"
            bag_dir.mkdir()
            filled = _fill(
                bag_dir,
                ws,
                records,
                actor=actor,
                now=now,
                contacts=contacts,
                media=media,
                minors_allowed=minors_allowed,
            )
            _bag(bag_dir, case_id, ws.settings.operator, filled.manifest_sha, filled.stamping, now)
            count = _zip(bag_dir, tmp_zip)
        package_sha = _sha256_file(tmp_zip)
        event = ws.custody.append(
            EXPORTED,
            f"case:{case_id}",
            {
                "package_sha256": package_sha,
                "manifest_sha256": filled.manifest_sha,
                "files": count,
                "media_included": filled.included,
                "withheld": filled.withheld,
                "contacts": contacts,
                "timestamps": filled.stamping.note,
            },
            actor=actor,
            tool_version=__version__,
        )
        os.replace(tmp_zip, out)
    finally:
        tmp_zip.unlink(missing_ok=True)
    return PackageSummary(
        path=out,
        sha256=package_sha,
        case_id=case_id,
        files=count,
        manifest_sha256=filled.manifest_sha,
        media_included=filled.included,
        withheld=filled.withheld,
        timestamps=filled.stamping.note,
        custody_seq=event.seq,
    )


@dataclass(frozen=True, slots=True)
class _Filled:
    included: list[str]
    withheld: list[dict[str, str]]
    manifest_sha: str
    stamping: package_stamps.Stamping


def _fill(
    bag_dir: Path,
    ws: Any,
    records: CaseRecords,
    *,
    actor: str,
    now: datetime,
    contacts: bool,
    media: bool,
    minors_allowed: bool,
) -> _Filled:
    """Write the payload: media, records, custody and its anchors' proofs, report, then the
    manifest over them all, and time-stamp the manifest."""
    writer = _Writer(bag_dir)
    included, withheld = _write_media(
        writer, ws, records, media=media, minors_allowed=minors_allowed
    )
    if records.notices and not contacts:
        withheld.append(dict(CONTACTS_WITHHELD))
    withheld.append(dict(TEMPLATES_NEVER))
    _write_records(writer, records, included, withheld)
    anchored = package_anchors.collect(ws.sessions, [e.seq for e in records.events])
    writer.add(package_anchors.ANCHORS, anchored.data, "anchors")
    doc = build_report(
        records,
        media_included={sha: f"data/media/{sha}" for sha in included},
        withheld=withheld,
        exported_by=actor,
        exported_at=now,
        tool=TOOL,
        anchored=(anchored.proved, len(anchored.not_anchored)),
    )
    writer.add(REPORT_HTML, render_html(doc), "report-html")
    writer.add(REPORT_PDF, render_pdf(doc, font=find_font(ws.settings.korean_font)), "report-pdf")
    manifest = build_manifest(
        case_id=records.case["id"],
        operator=ws.settings.operator,
        tool=TOOL,
        files=writer.files,
        actions=_actions(records),
        exported_by=actor,
        exported_at=now,
        withheld=withheld,
        notes=[STAMP_NOTE],
    )
    manifest_bytes = json.dumps(manifest, indent=1, ensure_ascii=False).encode()
    (bag_dir / MANIFEST).write_bytes(manifest_bytes)
    manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
    stamping = package_stamps.stamp(bytes.fromhex(manifest_sha), ws.settings)
    return _Filled(sorted(included), withheld, manifest_sha, stamping)


class _Writer:
    """Writes files under the bag's payload (moved to ``data/`` by bagit) and keeps their
    hashes for the manifest."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[PackageFile] = []

    def add(self, rel: str, data: bytes, role: str) -> PackageFile:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        entry = PackageFile(f"data/{rel}", len(data), hashlib.sha256(data).hexdigest(), role)
        self.files.append(entry)
        return entry

    def add_media(self, ws: Any, sha256: str) -> None:
        """Decrypt the vault copy into ``media/<sha256>``; :class:`VaultError` (nothing kept)
        when the blob is missing or does not authenticate."""
        path = self.root / "media" / sha256
        path.parent.mkdir(parents=True, exist_ok=True)
        digests = [hashlib.sha256(), hashlib.md5(), hashlib.sha1()]  # MD5, SHA-1: ids courts use
        size = 0
        try:
            with open(path, "wb") as out:
                for block in ws.vault.chunks(sha256):
                    out.write(block)
                    size += len(block)
                    for d in digests:
                        d.update(block)
        except VaultError:
            path.unlink(missing_ok=True)
            raise
        sha, md5, sha1 = (d.hexdigest() for d in digests)
        self.files.append(PackageFile(f"data/media/{sha}", size, sha, "media", md5, sha1))


def _write_media(
    writer: _Writer, ws: Any, records: CaseRecords, *, media: bool, minors_allowed: bool
) -> tuple[list[str], list[dict[str, str]]]:
    included: list[str] = []
    withheld: list[dict[str, str]] = []
    purged = {e.subject.removeprefix("media:"): e for e in records.events if e.kind == PURGED}
    for sha, entry in records.media.items():
        why = _withhold_reason(entry, purged.get(sha), media=media, minors_allowed=minors_allowed)
        if why is None:
            try:
                writer.add_media(ws, sha)
            except VaultError as exc:
                why = f"the vault copy cannot be read ({exc}); hashes and locators only"
            else:
                included.append(sha)
                continue
        withheld.append({"what": f"media {sha}", "why": why})
    return included, withheld


def _withhold_reason(
    entry: MediaEntry, purged: CustodyEvent | None, *, media: bool, minors_allowed: bool
) -> str | None:
    if not entry.kept_in_vault and purged is not None:  # the newest purge (events in seq order)
        return (
            f"retention period over: the vault copy was purged on {purged.at:%Y-%m-%d} "
            f"(media_retention_days {purged.payload.get('retention_days')}, custody seq "
            f"{purged.seq}); hashes and locators only"
        )
    if not entry.kept_in_vault:
        return "hash-only retention: no copy was kept; hashes and locators only"
    if entry.may_show_minor and not minors_allowed:
        return (
            "may show a minor: hashes and locators only (setting evidence_minor_media and the "
            "exporter's minors:view); the vault copy is kept for a request through the proper "
            "channel"
        )
    if not media:
        return "left out by the exporter (no media); hashes and locators only"
    return None


def _write_records(
    writer: _Writer, records: CaseRecords, included: list[str], withheld: list[dict[str, str]]
) -> None:
    writer.add(
        "case.json",
        _json(
            {
                "case": records.case,
                "notices": records.notices,
                "decisions": records.decisions,
                "appeals": records.appeals,
                "tasks": records.tasks,
                "locators": records.locators,
                "withheld": withheld,
            }
        ),
        "case",
    )
    for item in records.items:
        record = dict(item.record)
        record["media_records"] = [
            _media_json(records.media[sha], sha in included)
            for sha in item.media
            if sha in records.media
        ]
        record["raw_file"] = f"data/items/{item.id}/raw.json" if item.raw is not None else None
        writer.add(f"items/{item.id}/item.json", _json(record), "item")
        if item.raw is not None:
            writer.add(f"items/{item.id}/raw.json", item.raw.encode("utf-8"), "item-raw")
    lines = [_event_line(e) for e in records.events]
    writer.add(CUSTODY, b"".join(lines), "custody")


def _media_json(entry: MediaEntry, included: bool) -> dict[str, Any]:
    return {
        **entry.row,
        "matches": entry.matches,
        "may_show_minor": entry.may_show_minor,
        "included": f"data/media/{entry.sha256}" if included else None,
    }


def _event_line(event: Any) -> bytes:
    body = {
        "seq": event.seq,
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "kind": event.kind,
        "subject": event.subject,
        "actor": event.actor,
        "tool_version": event.tool_version,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False).encode() + b"\n"


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True).encode()


def _actions(records: CaseRecords) -> list[Performed]:
    actions: list[Performed] = []
    for item in records.items:
        r = item.record
        objects = [f"data/items/{item.id}/item.json"]
        if item.raw is not None:
            objects.append(f"data/items/{item.id}/raw.json")
        actions.append(
            Performed(
                "item.received",
                r["submitted_by"],
                datetime.fromisoformat(r["received_at"]),
                objects=tuple(objects),
            )
        )
    for n in records.notices:
        actions.append(
            Performed(
                f"notice.received ({n['kind']})",
                n["submitted_by"],
                datetime.fromisoformat(n["received_at"]),
                objects=("data/case.json",),
            )
        )
    for d in records.decisions:
        at = datetime.fromisoformat(d["decided_at"])
        actions.append(
            Performed(
                f"case.decided ({d['outcome']})",
                d["decided_by"],
                at,
                at,
                ("data/case.json",),
                d["reasons"],
            )
        )
    return actions


def _bag(
    bag_dir: Path,
    case_id: int,
    operator: str,
    manifest_sha: str,
    stamping: package_stamps.Stamping,
    now: datetime,
) -> None:
    """Turn the folder into a bag (RFC 8493: BagIt 1.0) with the time-stamp tokens as tag
    files (made by bagit in a child process: :mod:`jikimi.evidence.bagging`), then check it."""
    info = {
        "Source-Organization": operator,
        "External-Identifier": f"jikimi-case-{case_id}",
        "External-Description": f"Jikimi evidence package of case {case_id}",
        "Bagging-Date": now.date().isoformat(),
        "Jikimi-Manifest-SHA256": manifest_sha,
        "Jikimi-Timestamps": stamping.note,
    }
    tag_files: dict[str, bytes] = {}
    listing = []
    for n, stamp in enumerate(stamping.stamps, 1):
        tag_files[f"tokens/{n}.tsr"] = stamp.token
        listing.append(
            {
                "file": f"tokens/{n}.tsr",
                "tsa": stamp.tsa,
                "time": iso(stamp.time),
                "digest_sha256": manifest_sha,
            }
        )
    if listing:
        tag_files["tokens/tokens.json"] = _json(listing)
    make_bag(bag_dir, info, tag_files)
    if not bagit.Bag(str(bag_dir)).is_valid():
        raise EvidenceError(f"the bag made for case {case_id} does not validate; nothing written")


def _zip(bag_dir: Path, out: Path) -> int:
    """Zip the bag under its top folder (RFC 8493 section 4.4); returns the payload count.
    Media are stored as they are: pictures and videos are compressed already (deflating 200 MB
    of them took 4.8 s for nothing, docs/benchmarks.md); records and reports are deflated."""
    files = sorted(p for p in bag_dir.rglob("*") if p.is_file())
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            inside = path.relative_to(bag_dir)
            stored = inside.parts[:2] == ("data", "media")
            zf.write(
                path,
                f"{bag_dir.name}/{inside.as_posix()}",
                compress_type=zipfile.ZIP_STORED if stored else None,
            )
    shutil.rmtree(bag_dir)
    return sum(1 for p in files if p.relative_to(bag_dir).parts[0] == "data")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
