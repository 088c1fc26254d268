"""Running the app under uvicorn: one process, or several (``serve_workers``) that each open
the workspace and load their own match indexes.

Every connection gets ``TCP_NODELAY`` (:class:`NoDelayH11`). asyncio sets it only on sockets
accepted from a listening socket made with ``proto=IPPROTO_TCP``; the socket uvicorn binds for
several workers is made with ``proto=0``, and then every answer (headers and body, two writes)
waits for the client's delayed ACK: +40 ms per request, measured (docs/benchmarks.md).
"""

from __future__ import annotations

import os
import socket
import tempfile
from typing import Any

from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from jikimi.web.metrics import MULTIPROC_ENV

# How the parent tells worker processes what to serve (they import this module afresh).
WORKER_ENV = "JIKIMI_SERVE_DISPATCHER"


class NoDelayH11(H11Protocol):
    """uvicorn's h11 protocol with TCP_NODELAY on every connection."""

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def app_factory() -> FastAPI:
    """The app of one worker process: the workspace named by ``JIKIMI_HOME``."""
    from jikimi.web.app import create_app
    from jikimi.web.service import Service, ServiceOptions
    from jikimi.workspace import Workspace

    dispatcher = os.environ.get(WORKER_ENV, "1") == "1"
    return create_app(Service(Workspace.open(), ServiceOptions(run_dispatcher=dispatcher)))


def run(
    app: FastAPI | None,
    *,
    host: str,
    port: int,
    workers: int,
    dispatcher: bool,
    log_level: str = "info",
) -> None:
    """Serve ``app`` (one process) or ``workers`` processes built by :func:`app_factory`.
    No access log: request lines carry query strings (hash values); metrics count requests."""
    import uvicorn

    common: dict[str, Any] = {
        "http": NoDelayH11,
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,
        "server_header": False,
    }
    if workers <= 1 and app is not None:
        uvicorn.run(app, **common)
        return
    # Each worker delivers from the outbox too: claims are leased, so they never collide.
    os.environ[WORKER_ENV] = "1" if dispatcher else "0"
    # Metrics of all workers, summed by whichever answers /metrics (see web/metrics.py).
    os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="jikimi-metrics-")
    uvicorn.run("jikimi.web.server:app_factory", factory=True, workers=workers, **common)
