"""Refuse every socket connection that does not go to loopback, for the whole test run.

Jikimi must work offline: a test that reaches the network fails here instead of passing on a
developer's connected laptop. Unix sockets (PostgreSQL's, for example) are allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any


class NetworkRefused(OSError):
    """Raised instead of connecting anywhere but loopback."""


def _is_loopback(address: Any) -> bool:
    if isinstance(address, str | bytes):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: resolving it would already be network traffic


def install() -> None:
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        if not _is_loopback(address):
            raise NetworkRefused(f"tests are offline: connection to {address!r} refused")
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _is_loopback(address):
            raise NetworkRefused(f"tests are offline: connection to {address!r} refused")
        return original_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
