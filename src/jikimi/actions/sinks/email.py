"""The email sink: one plain-text message per outbox entry, over SMTP (RFC 5321).

The entry's payload is a :class:`jikimi.cases.messages.Message` as a dict: ``to``,
``subject``, ``text`` and ``language`` (other keys are ignored). The message (RFC 5322, built
with :class:`email.message.EmailMessage`) has ``From`` (the configured sender), ``To``,
``Subject`` (RFC 2047-encoded when it is not ASCII), ``Date`` (the entry's ``created_at``:
when the message was composed, RFC 5322 §3.6.1), ``Message-ID``
``<jikimi.<idempotency key>@<sender's domain>>``, ``Content-Language`` (RFC 3282) and
``Auto-Submitted: auto-generated`` (RFC 3834, so auto-responders stay quiet); the body is UTF-8,
quoted-printable. Every attempt sends the same message with the same ``Message-ID``, so a
resend after a crash is recognisable as the same message.

Security: ``starttls`` (RFC 3207, port 587), ``ssl`` (implicit TLS, RFC 8314, port 465) or
``none`` (a local relay); the server's certificate is verified. A password is never sent in
the clear to anything but loopback.

Errors (:class:`SinkError`): a connection error, a timeout, a dropped connection or any SMTP
4xx answer is retryable; a 5xx answer (a refused recipient, a refused login), a TLS failure
(an untrusted certificate) or a missing extension (no STARTTLS, no AUTH) is permanent, and so
is a payload without one valid ``to``. Errors and results never carry the password or the
recipient's full address (personal data): the result names only the recipient's domain.
"""

from __future__ import annotations

import email.utils
import ipaddress
import re
import smtplib
import ssl
from datetime import UTC
from email.message import EmailMessage
from typing import Any

from jikimi.actions.outbox import OutboxEntry
from jikimi.actions.sinks.base import Redactor
from jikimi.errors import SinkError

__all__ = [
    "SECURITY_MODES",
    "EmailSink",
    "cleartext_login",
    "email_message",
    "valid_address",
]

SECURITY_MODES = ("starttls", "ssl", "none")
_SPECIALS = r'\s@<>(),;:"\[\]\\'
# One plain address: no display name, no list, no line break (nothing to inject a header with).
_ADDRESS = re.compile(rf"[^{_SPECIALS}]{{1,64}}@(?:[^{_SPECIALS}.]+\.)+[^{_SPECIALS}.]{{2,}}")
_MAX_ADDRESS_CHARS = 254  # RFC 5321 §4.5.3.1.3, less the angle brackets
_SERVER_TEXT_CHARS = 200
_STEPS: dict[type[smtplib.SMTPResponseException], str] = {
    smtplib.SMTPConnectError: "refused the connection",
    smtplib.SMTPHeloError: "refused the greeting",
    smtplib.SMTPAuthenticationError: "refused the login",
    smtplib.SMTPSenderRefused: "refused the sender",
    smtplib.SMTPDataError: "refused the message",
}


def valid_address(value: object) -> bool:
    """One plain email address (``local@domain.tld``), nothing more."""
    return (
        isinstance(value, str)
        and len(value) <= _MAX_ADDRESS_CHARS
        and _ADDRESS.fullmatch(value) is not None
    )


def cleartext_login(host: str, security: str, username: str | None) -> bool:
    """Whether logging in would send the password unencrypted over a network: a login with
    ``security = "none"`` to anything but loopback."""
    return bool(username) and security == "none" and not _loopback(host)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def email_message(entry: OutboxEntry, *, sender: str) -> EmailMessage:
    """The message sent for ``entry``: the same on every attempt. A payload that cannot make
    one (no valid ``to``, no subject, a text that is not text) is a permanent SinkError."""
    payload = entry.payload
    to, subject, text = payload.get("to"), payload.get("subject"), payload.get("text")
    language = payload.get("language")
    if not valid_address(to):
        raise SinkError(
            "email: the payload has no valid 'to' address; not retried", retryable=False
        )
    if not isinstance(subject, str) or not subject.strip() or "\r" in subject or "\n" in subject:
        raise SinkError(
            "email: the payload needs a one-line 'subject'; not retried", retryable=False
        )
    if not isinstance(text, str):
        raise SinkError(
            "email: the payload's 'text' must be a string; not retried", retryable=False
        )
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = email.utils.format_datetime(entry.created_at.astimezone(UTC))
    message["Message-ID"] = f"<jikimi.{entry.idempotency_key}@{_domain(sender)}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, charset="utf-8", cte="quoted-printable")
    if isinstance(language, str) and language.isalpha():  # after set_content, which resets it
        message["Content-Language"] = language
    return message


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


class EmailSink:
    name = "email"

    def __init__(
        self,
        host: str,
        *,
        sender: str,
        port: int = 587,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``ssl_context`` verifies the server's certificate (default: the system's trusted
        certificate authorities, host name checked)."""
        if not host:
            raise ValueError("the SMTP host is empty")
        if security not in SECURITY_MODES:
            raise ValueError(f"SMTP security must be one of {SECURITY_MODES}, not {security!r}")
        if not valid_address(sender):
            raise ValueError("the sender must be one plain email address (name@example.org)")
        if bool(username) != bool(password):
            raise ValueError("give both an SMTP username and a password, or neither")
        if cleartext_login(host, security, username):
            raise ValueError(
                "refusing to send the SMTP password unencrypted: use security starttls or ssl"
            )
        self._host = host
        self._port = port
        self._sender = sender
        self._security = security
        self._username = username or None
        self._password = password or ""
        self._timeout = timeout
        self._context = ssl_context or ssl.create_default_context()

    def __repr__(self) -> str:
        return f"EmailSink(host={self._host!r}, port={self._port}, security={self._security!r})"

    def deliver(self, entry: OutboxEntry) -> dict[str, Any]:
        message = email_message(entry, sender=self._sender)
        to = str(message["To"])
        try:
            self._send(message, to)
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
            raise _failure(exc, Redactor(self._password, to, to.lower()), self._timeout) from None
        return {"sent_to_domain": _domain(to), "message_id": str(message["Message-ID"])}

    def _send(self, message: EmailMessage, to: str) -> None:
        """One SMTP session: connect, secure, log in, send, quit."""
        if self._security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self._host, self._port, timeout=self._timeout, context=self._context
            )
        else:
            smtp = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        try:
            if self._security == "starttls":
                smtp.starttls(context=self._context)
            if self._username is not None:
                smtp.login(self._username, self._password)
            smtp.send_message(message, from_addr=self._sender, to_addrs=[to])
        finally:
            _close(smtp)


def _close(smtp: smtplib.SMTP) -> None:
    """QUIT, then close. The message is already accepted (or refused) by now, so a failing
    QUIT changes nothing: it only must not leave the socket open."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _failure(exc: Exception, redact: Redactor, timeout: float) -> SinkError:
    if isinstance(exc, UnicodeError):  # smtplib sends logins as ASCII; the text would hold them
        return SinkError(
            "email: the login or an address has characters the SMTP session cannot carry "
            "(use ASCII); not retried",
            retryable=False,
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, said = next(iter(exc.recipients.values()), (-1, b""))
        return _answered("refused the recipient", code, said, redact)
    if isinstance(exc, smtplib.SMTPResponseException):
        step = _STEPS.get(type(exc), "answered")
        return _answered(step, exc.smtp_code, exc.smtp_error, redact)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return SinkError(
            f"email: the mail server closed the connection ({redact(str(exc))})", retryable=True
        )
    if isinstance(exc, smtplib.SMTPException):  # no STARTTLS, no AUTH, no SMTPUTF8: settings
        return SinkError(f"email: {redact(str(exc))}; not retried", retryable=False)
    if isinstance(exc, ssl.SSLError):
        return SinkError(
            f"email: TLS failed ({redact(str(exc))}); check smtp_security and the server's "
            "certificate; not retried",
            retryable=False,
        )
    if isinstance(exc, TimeoutError):
        return SinkError(f"email: no answer within {timeout:g} s", retryable=True)
    return SinkError(
        f"email: could not reach the mail server ({type(exc).__name__}: {redact(str(exc))})",
        retryable=True,
    )


def _answered(step: str, code: int, said: bytes | str, redact: Redactor) -> SinkError:
    """An SMTP reply: 4xx is transient (RFC 5321 §4.2.1), 5xx permanent."""
    text = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
    text = redact(text)[:_SERVER_TEXT_CHARS].strip()
    if 500 <= code < 600:
        return SinkError(f"email: the server {step}: {code} {text}; not retried", retryable=False)
    return SinkError(f"email: the server {step}: {code} {text}", retryable=True)
