"""A sliding-window rate limit per client address, in memory, for one process.

The public takedown form (``/report``) takes ``report_per_hour`` submissions per address in any
60 minutes: each accepted submission is a timestamp, a new one is admitted while fewer than the
limit lie inside the window, and a refused one is told when the oldest leaves it (the
``Retry-After`` of RFC 9110 §10.2.3). Refused attempts are not counted, so waiting is enough.

Per process, on purpose: nothing to share or to clean up, and a restart forgets. With
``--workers N`` each process keeps its own window (at most N times the limit in all); behind a
reverse proxy every visitor shares the proxy's address unless uvicorn is trusted to read
``X-Forwarded-For`` (``--proxy-headers``; docs/report-form.md).

IPv6 addresses are counted by their /64 prefix: one subscriber is usually given a whole /64,
so counting single addresses would let one person rotate through millions of them.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Admission", "SlidingWindow", "client_key"]

# Addresses remembered at most; past this, idle ones go first, then the longest-known.
MAX_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether one attempt is admitted; when not, ``retry_after`` whole seconds to wait."""

    allowed: bool
    retry_after: int = 0


class SlidingWindow:
    """At most ``limit`` admissions per key within any ``window`` seconds."""

    def __init__(
        self,
        limit: int,
        window: float = 3600.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and a positive window")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()  # handlers may run in the thread pool too

    def hit(self, key: str) -> Admission:
        """Count one attempt by ``key`` if it is admitted."""
        now = self._clock()
        with self._lock:
            stamps = self._hits.get(key)
            if stamps is None:
                self._make_room(now)
                stamps = self._hits[key] = deque()
            while stamps and stamps[0] <= now - self.window:
                stamps.popleft()
            if len(stamps) >= self.limit:
                wait = stamps[0] + self.window - now
                return Admission(False, max(1, math.ceil(wait)))
            stamps.append(now)
            return Admission(True)

    def __len__(self) -> int:
        return len(self._hits)

    def _make_room(self, now: float) -> None:
        if len(self._hits) < self._max_keys:
            return
        idle = [k for k, s in self._hits.items() if not s or s[-1] <= now - self.window]
        for key in idle:
            del self._hits[key]
        while len(self._hits) >= self._max_keys:
            self._hits.popitem(last=False)


def client_key(host: str | None) -> str:
    """The key an address is counted under: IPv4 as is, IPv6 by its /64, anything else (a
    test client's name, a Unix socket) as given."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:100]
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
