"""The email sink against a real SMTP server on loopback (aiosmtpd): STARTTLS with a throwaway
certificate, AUTH, implicit TLS, the message as received, and each failure's retry class."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.conformance.sink import SinkConformance, make_entry
from tests.smtp_server import Server, free_port, serve_smtp

from jikimi.actions.outbox import OutboxEntry
from jikimi.actions.sinks.email import EmailSink, cleartext_login, email_message, valid_address
from jikimi.errors import SinkError

USER = "jikimi-mailer"
PASSWORD = "smtp-pw-7f3a9c1e5b"
SENDER = "notices@jikimi.example.org"
TO = "Victim.Person@example.net"
SUBJECT = "삭제 요청 접수 안내 (사건 12번)"
TEXT = "안녕하십니까.\n\n보내 주신 삭제 요청 건을 접수했습니다. 접수 번호: rcpt_0123\n"


def mail_entry(n: int = 1, **payload: Any) -> OutboxEntry:
    body = {"kind": "receipt", "to": TO, "subject": SUBJECT, "text": TEXT, "language": "ko"}
    return make_entry("send_email", "email", {"notice_id": n}, {**body, **payload})


# -- a throwaway certificate for 127.0.0.1 ---------------------------------------------------


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext  # trusts the throwaway certificate, and nothing else


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jikimi test smtp (throwaway)")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    return Tls(server=server, client=ssl.create_default_context(cafile=str(cert_file)))


# -- the server --------------------------------------------------------------------------------


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends 235 / 535


@pytest.fixture
def starttls_server(tls: Tls) -> Iterator[Server]:
    """A submission server as on port 587: STARTTLS required, then AUTH required."""
    yield from serve_smtp(
        tls_context=tls.server,
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
    )


def submission_sink(server: Server, tls: Tls, **options: Any) -> EmailSink:
    settings: dict[str, Any] = {
        "sender": SENDER,
        "port": server.port,
        "security": "starttls",
        "username": USER,
        "password": PASSWORD,
        "ssl_context": tls.client,
        "timeout": 5.0,
    }
    return EmailSink("127.0.0.1", **{**settings, **options})


# -- the sink contract ----------------------------------------------------------------------


class TestEmailConformance(SinkConformance):
    name = "email"

    @pytest.fixture
    def sink(self, starttls_server: Server, tls: Tls) -> Iterator[Any]:
        self.mailbox = starttls_server.mailbox
        yield submission_sink(starttls_server, tls)

    def deliverable(self, sink: Any) -> list[OutboxEntry]:
        self.mailbox.rcpt_answer = None
        return [mail_entry(1), mail_entry(2, language="en", subject="Receipt", text="Hello\n")]

    def arrange_retryable(self, sink: Any) -> OutboxEntry | None:
        self.mailbox.rcpt_answer = "451 4.3.0 mailbox busy, try again later"
        return mail_entry(3)

    def arrange_permanent(self, sink: Any) -> OutboxEntry | None:
        self.mailbox.rcpt_answer = f"550 5.1.1 <{TO}>: no such user"
        return mail_entry(4)

    def secrets(self) -> list[str]:
        return [PASSWORD]


# -- what arrives -----------------------------------------------------------------------------


def test_the_message_as_received(starttls_server: Server, tls: Tls) -> None:
    sink = submission_sink(starttls_server, tls)
    entry = mail_entry()
    first = sink.deliver(entry)
    again = sink.deliver(entry)  # a redelivery after a crash
    other = sink.deliver(mail_entry(2))

    assert first == again
    assert first == {"sent_to_domain": "example.net", "message_id": first["message_id"]}
    assert TO not in str(first) and TO.lower() not in str(first)  # the domain only
    received = starttls_server.mailbox.received
    assert len(received) == 3
    got = received[0]
    assert got.authenticated
    assert (got.mail_from, got.rcpt_tos) == (SENDER, [TO])
    message = got.message
    assert message["From"] == SENDER
    assert message["To"] == TO
    assert message["Subject"] == SUBJECT  # RFC 2047 on the wire, Korean once decoded
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().replace("\r\n", "\n") == TEXT  # CRLF on the wire
    assert message["Content-Language"] == "ko"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime == entry.created_at  # composed when enqueued
    assert message["Message-ID"] == first["message_id"]
    assert message["Message-ID"] == f"<jikimi.{entry.idempotency_key}@jikimi.example.org>"
    assert received[1].message["Message-ID"] == message["Message-ID"]  # a resend is recognisable
    assert received[2].message["Message-ID"] == other["message_id"] != first["message_id"]


def test_the_wire_is_seven_bit_clean() -> None:
    raw = email_message(mail_entry(), sender=SENDER).as_bytes()
    assert raw.isascii()
    assert "삭제".encode() not in raw


@pytest.fixture
def ssl_server(tls: Tls) -> Iterator[Server]:
    # aiosmtpd only counts STARTTLS as TLS, so over implicit TLS it must be told that AUTH
    # may be offered: the connection is encrypted from the first byte.
    yield from serve_smtp(
        ssl_context=tls.server, authenticator=_authenticate, auth_require_tls=False
    )


def test_implicit_tls(ssl_server: Server, tls: Tls) -> None:
    sink = submission_sink(ssl_server, tls, security="ssl")
    assert sink.deliver(mail_entry())["sent_to_domain"] == "example.net"
    assert ssl_server.mailbox.received[0].authenticated


@pytest.fixture
def relay() -> Iterator[Server]:
    """A local relay: no TLS, no AUTH."""
    yield from serve_smtp()


def test_a_local_relay_needs_no_tls_and_no_login(relay: Server) -> None:
    sink = EmailSink("127.0.0.1", port=relay.port, sender=SENDER, security="none")
    sink.deliver(mail_entry())
    (received,) = relay.mailbox.received
    assert not received.authenticated
    assert received.message.get_content().replace("\r\n", "\n") == TEXT  # CRLF on the wire


# -- failures ------------------------------------------------------------------------------------


def test_a_refused_recipient_is_permanent_and_the_address_is_not_repeated(
    relay: Server,
) -> None:
    relay.mailbox.rcpt_answer = f"550 5.1.1 <{TO}>: Recipient address rejected"
    sink = EmailSink("127.0.0.1", port=relay.port, sender=SENDER, security="none")
    with pytest.raises(SinkError) as caught:
        sink.deliver(mail_entry())
    assert caught.value.retryable is False
    assert "550" in str(caught.value) and "refused the recipient" in str(caught.value)
    assert TO not in str(caught.value)
    assert relay.mailbox.received == []


def test_a_4xx_answer_is_retryable(relay: Server) -> None:
    relay.mailbox.rcpt_answer = "451 4.7.1 greylisted, come back later"
    sink = EmailSink("127.0.0.1", port=relay.port, sender=SENDER, security="none")
    with pytest.raises(SinkError) as caught:
        sink.deliver(mail_entry())
    assert caught.value.retryable is True
    assert "451" in str(caught.value)


def test_nothing_listening_is_retryable() -> None:
    sink = EmailSink("127.0.0.1", port=free_port(), sender=SENDER, security="none")
    with pytest.raises(SinkError) as caught:
        sink.deliver(mail_entry())
    assert caught.value.retryable is True
    assert "could not reach the mail server" in str(caught.value)


def test_a_server_that_never_answers_is_retryable() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does), never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        sink = EmailSink("127.0.0.1", port=port, sender=SENDER, security="none", timeout=0.3)
        with pytest.raises(SinkError) as caught:
            sink.deliver(mail_entry())
    assert caught.value.retryable is True


def test_a_wrong_password_is_permanent_and_never_shown(
    starttls_server: Server, tls: Tls, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-pw-d41d8cd98f"
    sink = submission_sink(starttls_server, tls, password=wrong)
    with pytest.raises(SinkError) as caught:
        sink.deliver(mail_entry())
    assert caught.value.retryable is False
    assert "535" in str(caught.value) and "login" in str(caught.value)
    assert caught.value.__cause__ is None
    seen = [str(caught.value), repr(caught.value), repr(sink)]
    seen += [r.getMessage() for r in caplog.records]
    assert not [text for text in seen if wrong in text or PASSWORD in text]


def test_a_password_smtp_cannot_carry_is_permanent_and_never_shown(
    starttls_server: Server, tls: Tls
) -> None:
    password = "비밀번호-4a7c-pässwort"  # smtplib sends AUTH credentials as ASCII
    with pytest.raises(SinkError) as caught:
        submission_sink(starttls_server, tls, password=password).deliver(mail_entry())
    assert caught.value.retryable is False and "ASCII" in str(caught.value)
    assert password not in str(caught.value) and caught.value.__cause__ is None


def test_an_untrusted_certificate_is_permanent(starttls_server: Server) -> None:
    # No ssl_context: the system's trust store, which does not know the throwaway certificate.
    sink = EmailSink(
        "127.0.0.1",
        port=starttls_server.port,
        sender=SENDER,
        username=USER,
        password=PASSWORD,
        timeout=5.0,
    )
    with pytest.raises(SinkError) as caught:
        sink.deliver(mail_entry())
    assert caught.value.retryable is False
    assert "certificate" in str(caught.value)
    assert starttls_server.mailbox.received == []


def test_a_login_the_server_does_not_offer_is_permanent(starttls_server: Server) -> None:
    # Without STARTTLS this server offers no AUTH (allowed here only because it is loopback).
    sink = EmailSink(
        "127.0.0.1",
        port=starttls_server.port,
        sender=SENDER,
        security="none",
        username=USER,
        password=PASSWORD,
    )
    with pytest.raises(SinkError) as caught:
        sink.deliver(mail_entry())
    assert caught.value.retryable is False
    assert "AUTH" in str(caught.value)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    "to",
    [
        None,
        "",
        "no-at-sign.example.org",
        "nobody@localhost",
        "Bob <bob@example.org>",
        "a@example.org, b@example.org",
        "a@example.org\r\nBcc: b@example.org",
        ["a@example.org"],
    ],
)
def test_a_payload_without_one_valid_address_is_permanent(relay: Server, to: Any) -> None:
    sink = EmailSink("127.0.0.1", port=relay.port, sender=SENDER, security="none")
    with pytest.raises(SinkError, match="'to'") as caught:
        sink.deliver(mail_entry(to=to))
    assert caught.value.retryable is False
    assert relay.mailbox.received == []


@pytest.mark.parametrize(
    "payload",
    [{"subject": ""}, {"subject": "Hi\r\nBcc: b@example.org"}, {"subject": None}, {"text": None}],
)
def test_a_payload_that_makes_no_message_is_permanent(payload: dict[str, Any]) -> None:
    with pytest.raises(SinkError) as caught:
        email_message(mail_entry(**payload), sender=SENDER)
    assert caught.value.retryable is False


# -- settings the sink refuses ---------------------------------------------------------------


def test_a_password_is_never_sent_in_the_clear_over_a_network() -> None:
    assert cleartext_login("smtp.example.org", "none", USER)
    assert not cleartext_login("smtp.example.org", "starttls", USER)
    assert not cleartext_login("127.0.0.1", "none", USER)
    assert not cleartext_login("::1", "none", USER)
    assert not cleartext_login("smtp.example.org", "none", None)
    with pytest.raises(ValueError, match="unencrypted"):
        EmailSink(
            "smtp.example.org", sender=SENDER, security="none", username=USER, password=PASSWORD
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"security": "tls"}, "security"),
        ({"sender": "not an address"}, "sender"),
        ({"username": USER}, "both"),
        ({"password": PASSWORD}, "both"),
    ],
)
def test_bad_settings_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        EmailSink("smtp.example.org", **{"sender": SENDER, **options})
    assert PASSWORD not in str(caught.value)


def test_valid_address() -> None:
    assert valid_address("a.b+c@mail.example.co.kr")
    assert not valid_address("a@b")
    assert not valid_address("x" * 65 + "@example.org")
    assert not valid_address("a@" + "b" * 250 + ".org")


def test_repr_names_no_secret(tls: Tls) -> None:
    sink = EmailSink(
        "smtp.example.org", sender=SENDER, username=USER, password=PASSWORD, ssl_context=tls.client
    )
    assert PASSWORD not in repr(sink) and "smtp.example.org" in repr(sink)
