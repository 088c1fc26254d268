"""A real SMTP server on loopback for tests (aiosmtpd): it keeps the messages it accepts."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    authenticated: bool
    message: EmailMessage


class Mailbox:
    """An aiosmtpd handler: keeps what it accepts; ``rcpt_answer`` scripts the RCPT reply."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.rcpt_answer: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        # Appended before the 250 goes out, so the test sees it when deliver() returns.
        self.received.append(
            Received(
                str(envelope.mail_from),
                list(envelope.rcpt_tos),
                bool(session.authenticated),
                message,
            )
        )
        return "250 2.0.0 accepted"


def free_port() -> int:
    # aiosmtpd's Controller checks readiness by connecting to its port, so it cannot bind 0.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Server:
    port: int
    mailbox: Mailbox


def serve_smtp(**options: Any) -> Iterator[Server]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield Server(port, mailbox)
    finally:
        controller.stop()
