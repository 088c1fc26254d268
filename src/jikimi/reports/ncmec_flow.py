"""Reporting a child-safety case to NCMEC's CyberTipline, resumably.

One ``report_submissions`` row (kind ``ncmec_cybertipline``) per report, its state moving
``sending`` → ``submitted`` → ``finished`` (or ``failed``, with the error). The row is committed
as ``sending`` before the report leaves, under a per-case guard (the case row locked, ``BEGIN
IMMEDIATE`` on SQLite) that refuses while another unfinished report of the case exists. Each
step is then committed as soon as NCMEC accepts it: the report id on submit, each file id on
upload, each file's details, the finish. A run after a failure or a crash picks up the
unfinished report and goes on from the last recorded step with the same report id; a finished
report is answered as it is.

A ``sending`` row without a report id means NCMEC may hold a report we have no id for (a
timeout, a crash): it is never sent again on its own; :class:`~jikimi.errors.ReportInDoubt`
asks the operator to check with NCMEC and run again with ``force_new``.

After submission, in a second transaction that a resumed run repeats if it is missing: custody
``report.ncmec.submitted`` and a one-year preservation hold on the case (custody
``case.preserved``): 18 U.S.C. § 2258A(h), as amended by the REPORT Act (2024), asks a provider
to preserve a report's contents for one year.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select

from jikimi import __version__
from jikimi.errors import (
    CaseNotFound,
    ReportAuthError,
    ReportError,
    ReportInDoubt,
    ReportInvalid,
    ReportRejected,
    VaultError,
)
from jikimi.reports.cybertipline import (
    FileFacts,
    ReportFacts,
    build_file_details_xml,
    build_report_xml,
    check_report,
)
from jikimi.reports.cybertipline_client import CyberTiplineClient
from jikimi.reports.cybertipline_facts import gather_facts
from jikimi.store.db import write_session
from jikimi.store.models import Case, PreservationHold, ReportSubmission

if TYPE_CHECKING:
    from jikimi.workspace import Workspace

__all__ = ["KIND", "NcmecResult", "one_year_after", "report_case", "submission_json", "submissions"]

KIND = "ncmec_cybertipline"
SUBMITTED = "report.ncmec.submitted"
FINISHED = "report.ncmec.finished"
PRESERVED = "case.preserved"

Connect = Callable[[], CyberTiplineClient]


@dataclass(frozen=True, slots=True)
class NcmecResult:
    """What a run did: the submission row as JSON (None for a dry run), the report document
    and the problems that keep it from being sent (a dry run reports them; a real run raises)."""

    submission: dict[str, Any] | None
    document: bytes
    problems: list[str]


def one_year_after(at: datetime) -> datetime:
    """The same instant a calendar year later (29 February → 28 February)."""
    try:
        return at.replace(year=at.year + 1)
    except ValueError:
        return at.replace(year=at.year + 1, day=28)


def report_case(
    ws: Workspace,
    case_id: int,
    *,
    actor: str,
    dry_run: bool = False,
    force_new: bool = False,
    connect: Connect | None = None,
) -> NcmecResult:
    """Report ``case_id`` to the CyberTipline, or go on with its unfinished report.

    Raises :class:`~jikimi.errors.CaseError` for a case that is not a child-safety case,
    :class:`~jikimi.errors.ReportInvalid` (every problem listed, nothing sent) for a report that
    does not validate, :class:`~jikimi.errors.ReportInDoubt` while a report of the case is
    being sent or may have reached NCMEC without an id (``force_new`` abandons that one and
    sends a new report), and another :class:`~jikimi.errors.ReportError` when NCMEC cannot be
    reached or refuses a step (the row says how far it got; run again to resume)."""
    facts = _facts(ws, case_id)
    document = build_report_xml(facts)
    problems = check_report(document)
    if dry_run:
        return NcmecResult(None, document, problems)
    row = _latest(ws, case_id)
    if row is not None and row["state"] == "finished":
        return NcmecResult(row, (row["detail"].get("report_xml") or "").encode(), [])
    resuming = row is not None and row["external_id"] is not None
    if not resuming and problems:
        _record_refusal(ws, case_id, document, problems, actor)
        raise ReportInvalid("CyberTipline report refused, nothing sent", problems)
    with (connect or (lambda: CyberTiplineClient.from_settings(ws.settings)))() as client:
        if resuming:
            assert row is not None
            submission_id = row["id"]
            _resume(ws, submission_id)
        else:
            submission_id = _open(ws, case_id, document, facts, actor, force_new=force_new)
            _submit(ws, client, submission_id, document)
        _preserve(ws, submission_id, actor)
        _complete(ws, client, submission_id, facts, actor)
    return NcmecResult(_get(ws, submission_id), document, [])


def submissions(ws: Workspace, case_id: int, *, with_document: bool = True) -> list[dict[str, Any]]:
    """Every report submission about ``case_id`` (all kinds), oldest first; the report
    documents only ``with_document``."""
    with ws.sessions() as session:
        rows = session.scalars(
            select(ReportSubmission)
            .where(ReportSubmission.case_id == case_id)
            .order_by(ReportSubmission.id)
        )
        return [submission_json(r, with_document=with_document) for r in rows]


def submission_json(row: ReportSubmission, *, with_document: bool = True) -> dict[str, Any]:
    detail = dict(row.detail or {})
    if not with_document:
        detail.pop("report_xml", None)
    return {
        "id": row.id,
        "case_id": row.case_id,
        "kind": row.kind,
        "state": row.state,
        "external_id": row.external_id,
        "document_sha256": row.document_sha256,
        "detail": detail,
        "error": row.error,
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
        "updated_at": row.updated_at.isoformat(),
    }


# -- the steps ---------------------------------------------------------------------------------


def _facts(ws: Workspace, case_id: int) -> ReportFacts:
    with ws.sessions() as session:
        return gather_facts(
            session, case_id, reporter_email=ws.settings.ncmec_reporter_email, held=ws.vault.has
        )


def _latest(ws: Workspace, case_id: int) -> dict[str, Any] | None:
    """The newest CyberTipline submission of the case that got anywhere: finished, or holding
    a report id (submitted, or failed after submission)."""
    with ws.sessions() as session:
        row = session.scalars(
            _reports(case_id).where(ReportSubmission.external_id.is_not(None)).limit(1)
        ).first()
        return submission_json(row) if row else None


def _reports(case_id: int) -> Select[tuple[ReportSubmission]]:
    return (
        select(ReportSubmission)
        .where(ReportSubmission.case_id == case_id, ReportSubmission.kind == KIND)
        .order_by(ReportSubmission.id.desc())
    )


def _get(ws: Workspace, submission_id: int) -> dict[str, Any]:
    with ws.sessions() as session:
        row = session.get(ReportSubmission, submission_id)
        assert row is not None
        return submission_json(row)


def _record_refusal(
    ws: Workspace, case_id: int, document: bytes, problems: list[str], actor: str
) -> None:
    with write_session(ws.sessions) as session:
        session.add(
            ReportSubmission(
                case_id=case_id,
                kind=KIND,
                state="failed",
                document_sha256=hashlib.sha256(document).hexdigest(),
                detail={"problems": problems},
                error="refused by local checks, nothing sent: " + "; ".join(problems),
                created_by=actor,
            )
        )


def _open(
    ws: Workspace,
    case_id: int,
    document: bytes,
    facts: ReportFacts,
    actor: str,
    *,
    force_new: bool,
) -> int:
    """Commit a ``sending`` row, under the per-case guard: refused while an unfinished report
    of the case exists (another run sending; or one in doubt, abandoned with ``force_new``)."""
    files = [
        {"sha256": f.sha256, "held": f.held, "file_id": None, "details_sent": False}
        for f in facts.files
    ]
    with write_session(ws.sessions) as session:
        if (
            session.scalars(select(Case.id).where(Case.id == case_id).with_for_update()).first()
            is None
        ):
            raise CaseNotFound(f"no case {case_id}")
        rows = session.scalars(
            _reports(case_id).where(ReportSubmission.state.in_(("sending", "submitted")))
        ).all()
        if any(r.external_id is not None for r in rows):
            raise ReportInDoubt(
                f"case {case_id}: another run is sending its CyberTipline report; wait for it"
            )
        if rows and not force_new:
            raise ReportInDoubt(
                f"case {case_id}: CyberTipline report submission {rows[0].id} was sent without "
                "an answer (a timeout, a crash, or another run still sending), so NCMEC may "
                "hold it. Check with NCMEC; if it holds no report, run again with --force-new "
                "(API: ?force_new=true) to send a new one"
            )
        now = datetime.now(UTC)
        for abandoned in rows:
            abandoned.state, abandoned.updated_at = "failed", now
            abandoned.error = f"abandoned by {actor} (force new): no report id recorded"
        row = ReportSubmission(
            case_id=case_id,
            kind=KIND,
            state="sending",
            document_sha256=hashlib.sha256(document).hexdigest(),
            # The exact document sent: the contents of the report, kept with the hold.
            detail={"report_xml": document.decode(), "files": files},
            created_by=actor,
        )
        session.add(row)
        session.flush()
        return row.id


def _submit(ws: Workspace, client: CyberTiplineClient, submission_id: int, document: bytes) -> None:
    """Send the report and commit its id at once. A refusal marks the row failed (nothing
    held at NCMEC); any other error leaves it ``sending``: NCMEC may hold the report."""
    try:
        report_id = client.submit(document)
    except (ReportInvalid, ReportRejected, ReportAuthError) as exc:
        _fail(ws, submission_id, exc)
        raise
    except ReportError as exc:
        _note(ws, submission_id, error=f"no answer, NCMEC may hold the report: {exc}")
        raise
    _note(ws, submission_id, state="submitted", external_id=report_id, error=None)


def _preserve(ws: Workspace, submission_id: int, actor: str) -> None:
    """The one-year hold and the custody events of the submission, unless already recorded."""
    now = datetime.now(UTC)
    with write_session(ws.sessions) as session:
        row = session.get(ReportSubmission, submission_id)
        assert row is not None and row.case_id is not None and row.external_id is not None
        if "hold_id" in row.detail:
            return
        report_id = row.external_id
        hold = PreservationHold(
            case_id=row.case_id,
            reason=f"NCMEC CyberTipline report {report_id}: 18 U.S.C. 2258A(h), one year",
            until=one_year_after(now),
            created_at=now,
            created_by=actor,
        )
        session.add(hold)
        session.flush()
        row.detail = {**row.detail, "hold_id": hold.id}
        subject = f"case:{row.case_id}"
        ws.custody.append(
            SUBMITTED,
            subject,
            {
                "submission_id": row.id,
                "report_id": report_id,
                "document_sha256": row.document_sha256,
                "files": len(row.detail.get("files", [])),
            },
            actor=actor,
            tool_version=__version__,
            session=session,
        )
        ws.custody.append(
            PRESERVED,
            subject,
            {"hold_id": hold.id, "until": hold.until.isoformat(), "reason": hold.reason},
            actor=actor,
            tool_version=__version__,
            session=session,
        )


def _complete(
    ws: Workspace,
    client: CyberTiplineClient,
    submission_id: int,
    facts: ReportFacts,
    actor: str,
) -> None:
    """Upload the held files, send each file's details, finish: each step recorded at once.
    A file the vault cannot give back (a damaged blob) is skipped, its ``upload_error`` kept."""
    by_sha = {f.sha256: f for f in facts.files}
    row = _get(ws, submission_id)
    report_id = row["external_id"]
    try:
        for entry in row["detail"].get("files", []):
            file = by_sha.get(entry["sha256"])
            if file is None or not entry["held"]:
                continue
            if entry["file_id"] is None:
                try:
                    file_id = _upload(ws, client, report_id, file)
                except VaultError as exc:
                    _update_file(ws, submission_id, file.sha256, upload_error=str(exc))
                    continue
                _update_file(ws, submission_id, file.sha256, file_id=file_id, upload_error=None)
                entry["file_id"] = file_id
            if not entry["details_sent"]:
                client.file_info(build_file_details_xml(report_id, entry["file_id"], file))
                _update_file(ws, submission_id, file.sha256, details_sent=True)
        held_ids = client.finish(report_id)
    except ReportError as exc:
        _fail(ws, submission_id, exc)
        raise
    _finish(ws, submission_id, list(held_ids), actor)


def _upload(ws: Workspace, client: CyberTiplineClient, report_id: str, file: FileFacts) -> str:
    """Upload one file from the vault, streamed through a private temporary copy (checked
    whole before anything is sent, deleted after); its NCMEC file id."""
    with tempfile.TemporaryDirectory(prefix="jikimi-ncmec-") as folder:  # mode 0700
        path = Path(folder) / "media"
        with path.open("wb") as out:
            ws.vault.copy_to(file.sha256, out)
        with path.open("rb") as data:
            answer = client.upload(report_id, _filename(file), data)
    assert answer.file_id is not None  # the client refuses an answer without one
    return answer.file_id


def _filename(file: FileFacts) -> str:
    return file.original_name or file.sha256


def _update_file(ws: Workspace, submission_id: int, sha256: str, **changes: Any) -> None:
    with write_session(ws.sessions) as session:
        row = session.get(ReportSubmission, submission_id)
        assert row is not None
        files = [
            {**f, **changes} if f["sha256"] == sha256 else f for f in row.detail.get("files", [])
        ]
        row.detail = {**row.detail, "files": files}
        row.updated_at = datetime.now(UTC)


def _resume(ws: Workspace, submission_id: int) -> None:
    _note(ws, submission_id, state="submitted", error=None)


def _fail(ws: Workspace, submission_id: int, exc: ReportError) -> None:
    _note(ws, submission_id, state="failed", error=str(exc))


def _note(ws: Workspace, submission_id: int, **changes: str | None) -> None:
    """Commit ``changes`` (columns of the row) on their own."""
    with write_session(ws.sessions) as session:
        row = session.get(ReportSubmission, submission_id)
        assert row is not None
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = datetime.now(UTC)


def _finish(ws: Workspace, submission_id: int, file_ids: list[str], actor: str) -> None:
    with write_session(ws.sessions) as session:
        row = session.get(ReportSubmission, submission_id)
        assert row is not None
        row.state, row.error, row.updated_at = "finished", None, datetime.now(UTC)
        row.detail = {**row.detail, "finished_file_ids": file_ids}
        ws.custody.append(
            FINISHED,
            f"case:{row.case_id}",
            {"submission_id": row.id, "report_id": row.external_id, "file_ids": file_ids},
            actor=actor,
            tool_version=__version__,
            session=session,
        )
