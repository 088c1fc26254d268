"""The suite runs with sockets to anything but loopback refused."""

from __future__ import annotations

import socket

import pytest
from tests.support.offline import NetworkRefused


def test_non_loopback_connection_is_refused_before_any_packet() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(NetworkRefused):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed, never reached


def test_loopback_connection_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
