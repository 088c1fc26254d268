"""An open-loop HTTP/1.1 load generator on raw asyncio streams (for bench_check.py).

Request ``i`` is scheduled at ``start + i / rate`` whether or not earlier ones have answered,
and its latency is measured from that scheduled time to the last byte of the answer, so a
slow server cannot hide its queue by slowing the client down (no coordinated omission). The
requests are pre-built byte strings; a keep-alive connection is taken from an idle pool or
opened when none is idle (up to ``max_connections``; past that, requests wait for one, and the
wait counts as latency). The client does little per request: one ``write``, one header read,
one body read, and a small JSON parse of the answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(slots=True)
class Sample:
    index: int
    scheduled: float  # loop time the request was due
    latency: float = float("nan")  # seconds from scheduled to the answer's last byte
    status: int = 0  # 0: no HTTP answer (see error)
    error: str | None = None
    outcome: str | None = None  # the verdict's outcome
    matches: int = 0  # matches listed in the answer
    finished: float = float("nan")


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    start: float = 0.0  # loop time of the first scheduled request
    measure_from: float = 0.0  # warm-up ends here
    measure_to: float = 0.0  # the last request of the window is scheduled before this
    connections_opened: int = 0
    max_in_flight: int = 0
    client_cpu: float = 0.0  # CPU seconds of this process during the measured window
    late_starts: int = 0  # requests sent more than 5 ms after their scheduled time


def http_head(host: str, port: int, path: str, headers: dict[str, str], length: int) -> bytes:
    """The request line and headers of an HTTP/1.1 POST of ``length`` body bytes (keep-alive)."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {length}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


BOUNDARY = "jikimibenchboundary7f3a9c"


def multipart_parts(field_name: str, filename: str, content_type: str) -> tuple[str, bytes, bytes]:
    """(content type header, bytes before the file, bytes after it) of a multipart/form-data
    body with one file part."""
    head = (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    return f"multipart/form-data; boundary={BOUNDARY}", head, tail


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class _Pool:
    """Keep-alive connections, most recently used first. A connection idle for longer than
    ``max_idle`` is closed instead of reused: uvicorn closes idle connections after 5 s, and a
    request written to a connection the server is closing would fail for the client's sake."""

    def __init__(self, host: str, port: int, max_connections: int, max_idle: float = 3.0) -> None:
        self.host = host
        self.port = port
        self.max_idle = max_idle
        self.idle: list[tuple[Conn, float]] = []
        self.open = 0
        self.opened = 0
        self.slots = asyncio.Semaphore(max_connections)

    async def get(self) -> Conn:
        await self.slots.acquire()
        now = time.monotonic()
        while self.idle:
            conn, since = self.idle.pop()
            if now - since <= self.max_idle and not conn[0].at_eof():
                return conn
            conn[1].close()
            self.open -= 1
        try:
            conn = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        except BaseException:
            self.slots.release()
            raise
        self.open += 1
        self.opened += 1
        return conn

    def put(self, conn: Conn, reuse: bool) -> None:
        if reuse:
            self.idle.append((conn, time.monotonic()))
        else:
            conn[1].close()
            self.open -= 1
        self.slots.release()

    def close(self) -> None:
        for (_, writer), _ in self.idle:
            writer.close()
        self.idle.clear()


async def _exchange(conn: Conn, request: Sequence[bytes]) -> tuple[int, bytes, bool]:
    reader, writer = conn
    writer.writelines(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    length = None
    keep = True
    for line in header_lines:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
    if length is None:  # not sent by uvicorn for these answers; read to the end
        return status, await reader.read(), False
    return status, await reader.readexactly(length), keep


async def open_loop(
    host: str,
    port: int,
    request_for: Callable[[int], Sequence[bytes]],
    *,
    rate: float,
    warmup: float,
    seconds: float,
    timeout: float = 30.0,
    max_connections: int = 256,
    on_window: Callable[[str], None] | None = None,
) -> Run:
    """Send ``request_for(i)`` (the request's bytes, in pieces) at ``rate`` per second for
    ``warmup + seconds``; wait up to ``timeout`` for the stragglers. Samples scheduled during
    the warm-up are kept too (their ``scheduled`` is before ``run.measure_from``).
    ``on_window`` is called with ``"start"`` when the measured window starts and ``"end"`` when
    it ends (before the stragglers)."""
    loop = asyncio.get_running_loop()
    pool = _Pool(host, port, max_connections)
    run = Run()
    tasks: set[asyncio.Task[None]] = set()
    in_flight = 0

    async def one(sample: Sample, request: Sequence[bytes]) -> None:
        nonlocal in_flight
        in_flight += 1
        run.max_in_flight = max(run.max_in_flight, in_flight)
        conn = None
        try:
            async with asyncio.timeout(timeout):
                conn = await pool.get()
                status, body, keep = await _exchange(conn, request)
            sample.status = status
            if status == 200:
                answer = json.loads(body)
                sample.outcome = answer["verdict"]["outcome"]
                sample.matches = sum(len(m.get("matches", ())) for m in answer["media"])
            else:
                sample.error = body[:200].decode("utf-8", "replace")
            pool.put(conn, keep)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            sample.error = type(exc).__name__
            if conn is not None:
                pool.put(conn, False)
        finally:
            sample.finished = loop.time()
            sample.latency = sample.finished - sample.scheduled
            in_flight -= 1

    interval = 1.0 / rate
    total = round((warmup + seconds) * rate)
    run.start = loop.time() + 0.05
    run.measure_from = run.start + warmup
    run.measure_to = run.start + warmup + seconds
    cpu_at_start: float | None = None
    for i in range(total):
        due = run.start + i * interval
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            run.late_starts += 1
        if cpu_at_start is None and due >= run.measure_from:
            cpu_at_start = time.process_time()
            if on_window is not None:
                on_window("start")
        sample = Sample(i, due)
        run.samples.append(sample)
        task = loop.create_task(one(sample, request_for(i)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.sleep(max(0.0, run.measure_to - loop.time()))
    if cpu_at_start is not None:
        run.client_cpu = time.process_time() - cpu_at_start
    if on_window is not None:
        on_window("end")
    if tasks:
        await asyncio.wait(set(tasks))
    pool.close()
    run.connections_opened = pool.opened
    return run


def errors_by_kind(samples: list[Sample]) -> Counter[str]:
    return Counter(
        f"HTTP {s.status}" if s.status else (s.error or "?") for s in samples if s.status != 200
    )
