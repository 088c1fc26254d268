"""``jikimi person ...``: protected persons (consenting people whose new deepfakes are found).

Reference photos are read in memory to compute face templates and never stored, copied or
logged; custody records only how many photos were used. A person may be enrolled from the
hashes of her own images alone (``--hashes``, made with ``jikimi hash --json`` on her device),
without any photo of her face; then the faces extractor is not even loaded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import typer

from jikimi import __version__
from jikimi.banks.formats import iter_lines
from jikimi.cli.output import emit_json, stderr_console
from jikimi.errors import EnrolmentRefused, JikimiError
from jikimi.media.limits import Limits
from jikimi.persons.enrol import templates_from_photos
from jikimi.persons.hash_records import HashLines, read_hash_records
from jikimi.persons.store import PersonInfo, PersonStore, RetroHit, bank_name
from jikimi.signals import faces
from jikimi.workspace import Workspace

EXIT_ERROR = 1
EXIT_SOME_REJECTED = 3
_SHOWN_LINES = 50


def person_store(ws: Workspace) -> PersonStore:
    """The workspace's person store (templates under the workspace master key)."""
    return ws.persons


def _parse_expiry(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise typer.BadParameter(f"--expires {text!r} must be a date YYYY-MM-DD") from None
    return day.replace(tzinfo=UTC)


def _print_person(info: PersonInfo) -> None:
    expires = f"expires {info.expires_at:%Y-%m-%d}" if info.expires_at else "no expiry"
    state = f"\tdeleted {info.deleted_at:%Y-%m-%d} by {info.deleted_by}" if info.deleted_at else ""
    typer.echo(
        f"{info.person_id}\t{info.name}\t{info.templates} templates\t"
        f"enrolled {info.enrolled_at:%Y-%m-%d} by {info.enrolled_by}\t"
        f"consent: {info.consent_by}\t{expires}{state}"
    )


def _print_hits(hits: list[RetroHit]) -> None:
    for h in hits:
        box = ",".join(str(v) for v in h.box)
        typer.echo(f"  match\t{h.media_sha256}\tbox {box}\tdistance {h.distance:.4f}")


def _read_hashes(file: Path) -> HashLines:
    """The hashes of a ``jikimi hash --json`` output file, bad lines and skipped records."""
    try:
        handle = file.open("rb")
    except OSError as exc:
        raise JikimiError(f"cannot read {file}: {exc.strerror}") from None
    with handle:
        return read_hash_records(iter_lines(handle))


def _print_lines(
    file: Path, rejected: list[tuple[int, str]], skipped: list[tuple[int, str]]
) -> None:
    """Rejected lines and skipped records as ``FILE:LINE: reason`` on standard error."""
    err = stderr_console()
    for line, reason in rejected[:_SHOWN_LINES]:
        err.print(f"{file}:{line}: {reason}", markup=False)
    if len(rejected) > _SHOWN_LINES:
        err.print(f"... and {len(rejected) - _SHOWN_LINES} more rejected lines")
    for line, note in skipped[:_SHOWN_LINES]:
        err.print(f"{file}:{line}: {note}", markup=False)


def _templates(ws: Workspace, photos: list[Path]) -> list[np.ndarray]:
    """One template per photo, or exit 1 listing every refused photo (nothing stored)."""
    if not photos:
        return []
    extractor = faces.load(ws.settings)
    try:
        accepted = templates_from_photos(photos, extractor, Limits.from_settings(ws.settings))
    except EnrolmentRefused as exc:
        err = stderr_console()
        err.print("error: enrolment refused, nothing stored:", markup=False)
        for photo, reason in exc.refusals:
            err.print(f"  {photo}: {reason}", markup=False)
        raise typer.Exit(EXIT_ERROR) from None
    return [a.template for a in accepted]


def build() -> typer.Typer:
    app = typer.Typer(
        help="Protected persons: enrol, add hashes, search, withdraw.", no_args_is_help=True
    )

    @app.command("enroll")
    def enroll(
        name: str,
        photos: list[Path] | None = typer.Argument(
            None, metavar="PHOTO", help="Reference photos, one face each (or --hashes)."
        ),
        hashes: Path | None = typer.Option(
            None,
            "--hashes",
            metavar="FILE",
            help="`jikimi hash --json` output made on the person's own device (JSON Lines).",
        ),
        consent_by: str = typer.Option(..., "--consent-by", help="Who gave consent."),
        on_behalf_of: str | None = typer.Option(
            None, "--on-behalf-of", help="Who is enrolled on whose behalf (e.g. a guardian)."
        ),
        authority: str | None = typer.Option(
            None, "--authority", help="Under what authority (organisation, mandate)."
        ),
        scope: list[str] = typer.Option(
            None, "--scope", help="Where matching applies (workspace, platform); repeatable."
        ),
        expires: str | None = typer.Option(
            None, "--expires", help="Consent expiry YYYY-MM-DD (from 00:00 UTC that day)."
        ),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Enrol a consenting person from reference photos (never stored) and/or the hashes of
        her own images; prints the id."""
        expires_at = _parse_expiry(expires)
        if not photos and hashes is None:
            raise typer.BadParameter(
                "give reference photos, --hashes FILE, or both", param_hint="PHOTO / --hashes"
            )
        read = _read_hashes(hashes) if hashes is not None else HashLines()
        if hashes is not None:
            _print_lines(hashes, read.rejected, read.skipped)
        with Workspace.open() as ws:
            templates = _templates(ws, photos or [])
            store = person_store(ws)
            info = store.enroll(
                name,
                templates,
                hashes=read.pairs,
                consent_by=consent_by,
                actor=ws.operator,
                authority=authority,
                on_behalf_of=on_behalf_of,
                scope=scope or (),
                expires_at=expires_at,
                tool_version=__version__,
            )
            del templates
            hits = store.search_retroactive(
                info.person_id,
                threshold=ws.settings.face_match_threshold,
                actor=ws.operator,
                tool_version=__version__,
            )
        added = len(set(read.pairs))  # the bank is new: every distinct hash is a new entry
        if json_out:
            emit_json(
                {
                    "person_id": info.person_id,
                    "name": info.name,
                    "templates": info.templates,
                    "hashes": added,
                    "rejected": [{"line": n, "reason": r} for n, r in read.rejected],
                    "skipped": [{"line": n, "note": r} for n, r in read.skipped],
                    "retroactive": [h.as_dict() for h in hits],
                }
            )
        else:
            typer.echo(info.person_id)
            if hashes is not None:
                typer.echo(
                    f"added {added} hashes to {bank_name(info.person_id)}, rejected "
                    f"{len(read.rejected)} lines, skipped {len(read.skipped)} records with errors"
                )
            if info.templates:
                typer.echo(f"retroactive search: {len(hits)} match(es) in already flagged media")
                _print_hits(hits)
            else:
                typer.echo("retroactive search: no face template, nothing to compare")
        if read.rejected:
            raise typer.Exit(EXIT_SOME_REJECTED)

    @app.command("add-hashes")
    def add_hashes(
        person_id: str = typer.Argument(..., metavar="ID"),
        file: Path = typer.Argument(..., help="`jikimi hash --json` output (JSON Lines)."),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Add hashes made on the person's own device to the person's bank."""
        try:
            handle = file.open("rb")
        except OSError as exc:
            raise JikimiError(f"cannot read {file}: {exc.strerror}") from None
        with handle, Workspace.open() as ws:
            report = person_store(ws).add_hashes(
                person_id, iter_lines(handle), actor=ws.operator, tool_version=__version__
            )
        _print_lines(file, report.rejected, report.skipped)
        if json_out:
            emit_json(
                {
                    "person_id": person_id,
                    "bank": bank_name(person_id),
                    "added": len(report.added),
                    "duplicates": report.duplicates,
                    "rejected": [{"line": n, "reason": r} for n, r in report.rejected],
                    "skipped": [{"line": n, "note": r} for n, r in report.skipped],
                }
            )
        else:
            typer.echo(
                f"added {len(report.added)} hashes to {bank_name(person_id)} "
                f"({report.duplicates} already there), rejected {len(report.rejected)} lines, "
                f"skipped {len(report.skipped)} records with errors"
            )
        if report.rejected:
            raise typer.Exit(EXIT_SOME_REJECTED)

    @app.command("list")
    def list_persons(
        deleted: bool = typer.Option(False, "--deleted", help="Include deleted (tombstones)."),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """List enrolled persons and their consent records (nothing biometric)."""
        with Workspace.open() as ws:
            persons = person_store(ws).list(include_deleted=deleted)
        for info in persons:
            emit_json(info.as_dict()) if json_out else _print_person(info)

    @app.command("delete")
    def delete(
        person_id: str = typer.Argument(..., metavar="ID"),
        reason: str | None = typer.Option(None, "--reason"),
    ) -> None:
        """Withdraw a person: templates and hashes out at once, a tombstone kept."""
        with Workspace.open() as ws:
            person_store(ws).delete(
                person_id, actor=ws.operator, reason=reason, tool_version=__version__
            )
        typer.echo(f"deleted person {person_id}: templates removed, hash bank out of matching")

    @app.command("search")
    def search(
        person_id: str = typer.Argument(..., metavar="ID"),
        threshold: float | None = typer.Option(
            None, "--threshold", help="Template distance (default: face_match_threshold)."
        ),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Search the kept faces of already flagged media for the person."""
        with Workspace.open() as ws:
            hits = person_store(ws).search_retroactive(
                person_id,
                threshold=ws.settings.face_match_threshold if threshold is None else threshold,
                actor=ws.operator,
                tool_version=__version__,
            )
        if json_out:
            for h in hits:
                emit_json(h.as_dict())
            return
        typer.echo(f"{len(hits)} match(es) in already flagged media")
        _print_hits(hits)

    return app
