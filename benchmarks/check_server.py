"""The service as bench_check.py runs it: ``POST /v1/check`` with a hashes-and-match plan.

    python benchmarks/check_server.py --home DIR --port P [--workers N] [--policy FILE]

Like ``jikimi serve`` (no access log, no server header), except that the check runs only the
hashes and match steps (``ServiceOptions(check_plan=HASHES_ONLY)``, which ``jikimi serve`` does
not expose) and no outbox dispatcher runs. The match indexes are built before the app is
handed to uvicorn, so the server listens only once it is ready; the build time goes to stderr
as ``index-loaded pid=... seconds=...``. With ``--workers N`` uvicorn starts N processes, each
building its own indexes.

Every connection gets ``TCP_NODELAY`` (:class:`jikimi.web.server.NoDelayH11`, as in
``jikimi serve``). asyncio sets it itself only on
sockets accepted from a listening socket made with ``proto=IPPROTO_TCP``: uvicorn's own
``host``/``port`` socket (one worker) is, but the socket uvicorn binds for ``--workers`` is made
with ``proto=0``, and then every answer (headers and body are two writes) waits for the
client's delayed ACK: +40 ms per request, measured (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from jikimi.web.server import NoDelayH11

HOME_ENV = "JIKIMI_BENCH_HOME"
POLICY_ENV = "JIKIMI_BENCH_POLICY"


def app_factory():  # type: ignore[no-untyped-def]
    """A fresh workspace, service and app (uvicorn calls this once per worker process)."""
    from jikimi.settings import load_settings
    from jikimi.web.app import create_app
    from jikimi.web.service import HASHES_ONLY, Service, ServiceOptions
    from jikimi.workspace import Workspace

    policy = os.environ.get(POLICY_ENV) or None
    settings = load_settings(
        home=Path(os.environ[HOME_ENV]),
        database_url=None,
        policy_file=Path(policy) if policy else None,
    )
    ws = Workspace.open(settings)
    service = Service(ws, ServiceOptions(check_plan=HASHES_ONLY, run_dispatcher=False))
    started = time.perf_counter()
    service.refresh_matcher(force=True)
    seconds = time.perf_counter() - started
    # One write() per line: the workers share the log file and print at about the same time.
    os.write(2, f"index-loaded pid={os.getpid()} seconds={seconds:.2f}\n".encode())
    return create_app(service)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--policy", type=Path, default=None)
    args = ap.parse_args()

    import uvicorn

    os.environ[HOME_ENV] = str(args.home)
    if args.policy is not None:
        os.environ[POLICY_ENV] = str(args.policy)
    common = dict(
        http=NoDelayH11,
        host=args.host,
        port=args.port,
        access_log=False,
        log_level="warning",
        server_header=False,
    )
    if args.workers == 1:
        uvicorn.run(app_factory(), **common)  # type: ignore[arg-type]
    else:
        # The workers import this module by name: make sure they can find it.
        here = str(Path(__file__).resolve().parent)
        if here not in sys.path:
            sys.path.insert(0, here)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (here, os.environ.get("PYTHONPATH")) if p
        )
        uvicorn.run(
            f"{Path(__file__).stem}:app_factory",
            factory=True,
            workers=args.workers,
            **common,  # type: ignore[arg-type]
        )


if __name__ == "__main__":
    main()
