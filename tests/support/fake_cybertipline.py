"""A fake NCMEC CyberTipline Reporting API on loopback, and a case worth reporting to it.

The wire format of NCMEC's documentation: HTTP basic auth (a wrong one: 401, empty body);
``POST /submit`` (a ``<report>``), ``POST /upload`` (multipart ``id`` + ``file``),
``POST /fileinfo`` (a ``<fileDetails>``), ``POST /finish`` (form ``id``), ``GET /status``;
answers ``<reportResponse>`` (``responseCode``, ``responseDescription``, ``reportId``,
``fileId``, ``hash``) or, for finish, ``<reportDoneResponse>`` with ``<files><fileId>``. A
document that breaks the element order or misses a required field is answered responseCode
4100, checked with the same table the client uses. :meth:`FakeCyberTipline.fail_once` and
:meth:`FakeCyberTipline.hang_once` make one call fail midway.

Pictures are the benign synthetic ones of ``tests/web/helpers.jpeg``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import default as email_policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from tests.support.loopback import LoopbackServer, QuietHandler
from tests.web.helpers import jpeg

from jikimi.reports.cybertipline import check_file_details, check_report
from jikimi.store.db import write_session
from jikimi.store.models import Case, Item, ItemMedia, MediaRecord
from jikimi.workspace import Workspace

USERNAME = "esp-reporter-test"
PASSWORD = "pw-for-tests-Zq81-never-logged"


@dataclass
class FakeFile:
    name: str
    data: bytes
    md5: str
    details: bytes | None = None


@dataclass
class FakeReport:
    document: bytes
    files: dict[str, FakeFile] = field(default_factory=dict)
    finished: bool = False


class FakeCyberTipline:
    def __init__(self) -> None:
        self.reports: dict[str, FakeReport] = {}
        self.calls: list[str] = []
        self._failures: dict[str, int] = {}
        self._hangs: dict[str, float] = {}
        self._ids = itertools.count(4564654)
        self._lock = threading.Lock()
        fake = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

        self._server = LoopbackServer(Handler)

    @property
    def url(self) -> str:
        return f"{self._server.base_url}/ispws"

    def __enter__(self) -> FakeCyberTipline:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    def fail_once(self, path: str, status: int) -> None:
        """The next call to ``path`` answers HTTP ``status`` and changes nothing."""
        self._failures[path] = status

    def hang_once(self, path: str, seconds: float) -> None:
        """The next call to ``path`` answers nothing for ``seconds``, then drops the request."""
        self._hangs[path] = seconds

    # -- serving --------------------------------------------------------------------------------

    def _serve(self, handler: QuietHandler, method: str) -> None:
        path = handler.path.split("?")[0].removeprefix("/ispws")
        body = handler.body()
        with self._lock:
            self.calls.append(f"{method} {path}")
            hang = self._hangs.pop(path, None)
            failure = self._failures.pop(path, None)
        if hang is not None:
            time.sleep(hang)
            return
        if not self._authorised(handler.headers.get("Authorization", "")):
            handler.reply(401, b"")
            return
        if failure is not None:
            handler.reply(failure, b"<html>Internal Server Error</html>")
            return
        with self._lock:
            status, answer = self._answer(method, path, body, handler.headers)
        handler.reply(status, answer, {"Content-Type": "application/xml"})

    @staticmethod
    def _authorised(header: str) -> bool:
        expected = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        return header == f"Basic {expected}"

    def _answer(self, method: str, path: str, body: bytes, headers: Any) -> tuple[int, bytes]:
        route = {
            ("GET", "/status"): lambda: _response(0, "Success"),
            ("POST", "/submit"): lambda: self._submit(body),
            ("POST", "/upload"): lambda: self._upload(body, headers.get("Content-Type", "")),
            ("POST", "/fileinfo"): lambda: self._file_info(body),
            ("POST", "/finish"): lambda: self._finish(body),
        }.get((method, path))
        return route() if route else (404, b"")

    def _submit(self, body: bytes) -> tuple[int, bytes]:
        problems = check_report(body)
        if problems:
            return 400, _response(4100, "Validation failed: " + "; ".join(problems))
        report_id = str(next(self._ids))
        self.reports[report_id] = FakeReport(body)
        return 200, _response(0, "Success", reportId=report_id)

    def _upload(self, body: bytes, content_type: str) -> tuple[int, bytes]:
        message = BytesParser(policy=email_policy).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        fields: dict[str, tuple[str | None, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
        report_id = fields.get("id", (None, b""))[1].decode()
        report = self.reports.get(report_id)
        if report is None or report.finished or "file" not in fields:
            return 400, _response(5001, "Report does not exist or is finished")
        filename, data = fields["file"]
        file_id = hashlib.md5(data + str(len(report.files)).encode()).hexdigest()
        md5 = hashlib.md5(data).hexdigest()
        report.files[file_id] = FakeFile(filename or "file", data, md5)
        return 200, _response(0, "Success", reportId=report_id, fileId=file_id, hash=md5)

    def _file_info(self, body: bytes) -> tuple[int, bytes]:
        problems = check_file_details(body)
        if problems:
            return 400, _response(4100, "Validation failed: " + "; ".join(problems))
        text = body.decode()
        report_id = text.split("<reportId>")[1].split("</reportId>")[0]
        file_id = text.split("<fileId>")[1].split("</fileId>")[0]
        report = self.reports.get(report_id)
        if report is None or file_id not in report.files:
            return 400, _response(5002, "File does not exist")
        report.files[file_id].details = body
        return 200, _response(0, "Success", reportId=report_id)

    def _finish(self, body: bytes) -> tuple[int, bytes]:
        report_id = (parse_qs(body.decode()).get("id") or [""])[0]
        report = self.reports.get(report_id)
        if report is None:
            return 400, _response(5001, "Report does not exist")
        if report.finished:
            return 400, _response(5102, "Report already finished")
        report.finished = True
        files = "".join(f"<fileId>{f}</fileId>" for f in report.files)
        done = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportDoneResponse>'
            f"<responseCode>0</responseCode><reportId>{report_id}</reportId>"
            f"<files>{files}</files></reportDoneResponse>"
        )
        return 200, done.encode()


def _response(code: int, description: str, **values: str) -> bytes:
    extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in values.items())
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><reportResponse>'
        f"<responseCode>{code}</responseCode>"
        f"<responseDescription>{escape(description)}</responseDescription>{extra}"
        "</reportResponse>"
    ).encode()


# -- a case worth reporting ----------------------------------------------------------------------


@dataclass(frozen=True)
class SeededCase:
    case_id: int
    kept: str  # SHA-256 of the picture the vault holds
    not_kept: str  # SHA-256 of the picture known by its hashes only
    kept_bytes: bytes


def seed_case(
    ws: Workspace, tmp: Path, *, queue: str = "child_safety", pictures: int = 901
) -> SeededCase:
    """A case in ``queue`` with two Telegram messages in a public channel by ``user123``: one
    picture kept in the vault (C2PA says AI-made), one known by its hashes only. ``pictures``
    seeds the two synthetic pictures (another value for a second case in one workspace)."""
    kept, other = jpeg(seed=pictures), jpeg(seed=pictures + 1)
    posted = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with write_session(ws.sessions) as session:
        case = Case(queue=queue, suspected_minor=queue == "child_safety", origin="verdict")
        session.add(case)
        session.flush()
        for n, (data, findings) in enumerate(
            [(kept, {"c2pa": {"status": "ok", "value": _AI_C2PA}}), (other, {})]
        ):
            sha = hashlib.sha256(data).hexdigest()
            session.add(_media(sha, data, findings, posted))
            item = Item(
                platform="telegram",
                chat_id="-1001234567",
                message_id=str(10 + n),
                url=f"https://t.me/somechannel/{10 + n}",
                author_id="user123",
                posted_at=posted + timedelta(minutes=n),
                text=f"caption {n}",
                meta={
                    "chat_title": "Some channel",
                    "chat_username": "somechannel",
                    "author_username": "uploader_one",
                },
                submitted_by="tester",
                case_id=case.id,
            )
            session.add(item)
            session.flush()
            session.add(
                ItemMedia(
                    item_id=item.id,
                    position=0,
                    media_sha256=sha,
                    media_md5=hashlib.md5(data).hexdigest(),
                    filename=f"photo_{n}.jpg",
                )
            )
        case_id = case.id
    path = tmp / f"kept-{pictures}.jpg"
    path.write_bytes(kept)
    ws.vault.put_file(path, hashlib.sha256(kept).hexdigest())
    return SeededCase(
        case_id,
        hashlib.sha256(kept).hexdigest(),
        hashlib.sha256(other).hexdigest(),
        kept,
    )


_AI_C2PA = {
    "ai_generated": True,
    "digital_source_type": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
}


def _media(sha: str, data: bytes, findings: dict[str, Any], seen: datetime) -> MediaRecord:
    return MediaRecord(
        sha256=sha,
        size=len(data),
        media_type="image",
        mime="image/jpeg",
        signals={
            "sha256": sha,
            "md5": hashlib.md5(data).hexdigest(),
            "sha1": hashlib.sha1(data).hexdigest(),
        },
        findings=findings,
        notes=[],
        kept_in_vault=bool(findings),
        first_seen=seen,
        last_seen=seen,
    )
