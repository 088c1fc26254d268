"""A client of NCMEC's CyberTipline Reporting API: submit → upload → file details → finish.

The wire format follows NCMEC's documentation (https://report.cybertip.org/ispws/documentation):
HTTP basic auth; ``POST /submit`` with a ``<report>`` document answers a ``<reportResponse>``
holding ``responseCode`` (0 is success), ``responseDescription`` and ``reportId``;
``POST /upload`` (multipart: ``id`` the report id, ``file`` the bytes) adds ``fileId`` and the
``hash`` (MD5) NCMEC computed; ``POST /fileinfo`` takes a ``<fileDetails>`` document;
``POST /finish`` (form ``id``) answers a ``<reportDoneResponse>`` listing the report's files;
``GET /status`` checks that the credentials work.

One attempt per call: the flow (:mod:`jikimi.reports.ncmec_flow`) records each step so that a
run after a failure resumes instead of sending again. Documents are checked against
:data:`jikimi.reports.cybertipline.SCHEMA` before anything is sent. Credentials never appear in
errors or logs.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO

import httpx

from jikimi.actions.sinks.base import Redactor, parse_retry_after, redact_logs
from jikimi.errors import (
    ReportAuthError,
    ReportError,
    ReportInvalid,
    ReportNotConfigured,
    ReportRejected,
    ReportUnavailable,
)
from jikimi.reports.cybertipline import check_file_details, check_report
from jikimi.settings import Settings

__all__ = ["Answer", "CyberTiplineClient"]

_XML = {"Content-Type": "text/xml; charset=utf-8"}
_MAX_ANSWER_BYTES = 1_048_576
# NCMEC's own failures (server error, save failed, upload failed): trying again may succeed.
_SERVER_CODES = range(1000, 2000)


@dataclass(frozen=True, slots=True)
class Answer:
    """What NCMEC answered: ``code`` 0 and the ids it assigned."""

    code: int
    description: str
    report_id: str | None = None
    file_id: str | None = None
    md5: str | None = None
    file_ids: tuple[str, ...] = ()


class CyberTiplineClient:
    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._redact = Redactor(username, password, token)
        for secret in (password, token):
            redact_logs(secret)
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._http = httpx.Client(
            auth=httpx.BasicAuth(username, password), timeout=timeout, transport=transport
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.BaseTransport | None = None
    ) -> CyberTiplineClient:
        password = settings.ncmec_password.get_secret_value() if settings.ncmec_password else ""
        if not settings.ncmec_username or not password:
            raise ReportNotConfigured(
                "no CyberTipline credentials: set ncmec_username and ncmec_password "
                "(JIKIMI_NCMEC_USERNAME, JIKIMI_NCMEC_PASSWORD) to the ones NCMEC issued"
            )
        return cls(
            settings.ncmec_url,
            settings.ncmec_username,
            password,
            timeout=settings.ncmec_timeout_seconds,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CyberTiplineClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def status(self) -> Answer:
        """``GET /status``: the server is reachable and takes the credentials."""
        return self._call("GET", "/status", "the status check")

    def submit(self, document: bytes) -> str:
        """``POST /submit``: opens the report; its NCMEC report id."""
        problems = check_report(document)
        if problems:
            raise ReportInvalid("CyberTipline report refused, nothing sent", problems)
        answer = self._call("POST", "/submit", "the report", content=document, headers=_XML)
        if not answer.report_id:
            raise ReportError("NCMEC accepted the report but answered no reportId")
        return answer.report_id

    def upload(self, report_id: str, filename: str, data: bytes | BinaryIO) -> Answer:
        """``POST /upload``: one file of the report (bytes, or a file streamed as it is read);
        ``file_id`` and NCMEC's MD5."""
        answer = self._call(
            "POST",
            "/upload",
            f"the file {filename!r}",
            data={"id": report_id},
            files={"file": (filename, data)},
        )
        if not answer.file_id:
            raise ReportError(f"NCMEC took the file {filename!r} but answered no fileId")
        return answer

    def file_info(self, document: bytes) -> None:
        """``POST /fileinfo``: the details of one uploaded file."""
        problems = check_file_details(document)
        if problems:
            raise ReportInvalid("CyberTipline file details refused, nothing sent", problems)
        self._call("POST", "/fileinfo", "the file details", content=document, headers=_XML)

    def finish(self, report_id: str) -> tuple[str, ...]:
        """``POST /finish``: closes the report; the file ids NCMEC holds for it."""
        return self._call(
            "POST", "/finish", "finishing the report", data={"id": report_id}
        ).file_ids

    # -- one call -----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes | BinaryIO]] | None = None,
    ) -> Answer:
        url = self._base + path
        try:
            response = self._http.request(
                method, url, content=content, headers=headers, data=data, files=files
            )
        except httpx.TimeoutException:
            raise ReportUnavailable(
                f"NCMEC did not answer {method} {path} ({what}) within {self._timeout:g} s; "
                "run the report again: it resumes where it stopped"
            ) from None
        except httpx.TransportError as exc:
            reason = self._redact(str(exc)) or type(exc).__name__
            raise ReportUnavailable(
                f"could not reach NCMEC at {self._base} ({reason}); check ncmec_url and the "
                "network, then run the report again"
            ) from None
        return self._answer(response, path, what)

    def _answer(self, response: httpx.Response, path: str, what: str) -> Answer:
        status = response.status_code
        if status in (401, 403):
            raise ReportAuthError(
                f"NCMEC refused the credentials (HTTP {status} on {path}); check "
                "ncmec_username, ncmec_password and ncmec_url (test and production "
                "environments have their own accounts)"
            )
        if status == 429 or status >= 500:
            raise ReportUnavailable(
                f"NCMEC answered HTTP {status} to {what} ({path}); run the report again later: "
                "it resumes where it stopped",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        answer = _parse(response.content[:_MAX_ANSWER_BYTES])
        if answer is None:
            raise ReportRejected(
                f"NCMEC answered {what} ({path}) with HTTP {status} and no CyberTipline response",
                status=status,
                problems=[],
            )
        if answer.code == 0 and status < 400:
            return answer
        description = self._redact(answer.description) or "no description"
        problem = f"responseCode {answer.code}: {description}"
        if answer.code in _SERVER_CODES:
            raise ReportUnavailable(
                f"NCMEC failed on {what} ({problem}); run the report again: it resumes"
            )
        raise ReportRejected(f"NCMEC refused {what}", status=status, problems=[problem])


def _parse(body: bytes) -> Answer | None:
    """A ``reportResponse`` or ``reportDoneResponse``; None if the body is neither."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    code = (root.findtext("responseCode") or "").strip()
    if root.tag not in ("reportResponse", "reportDoneResponse") or not code.lstrip("-").isdigit():
        return None
    files = root.find("files")
    return Answer(
        code=int(code),
        description=(root.findtext("responseDescription") or "").strip(),
        report_id=_text(root, "reportId"),
        file_id=_text(root, "fileId"),
        md5=_text(root, "hash"),
        file_ids=tuple(
            (f.text or "").strip()
            for f in (files if files is not None else [])
            if f.tag == "fileId"
        ),
    )


def _text(root: ET.Element, name: str) -> str | None:
    value = (root.findtext(name) or "").strip()
    return value or None
