"""Periodic jobs of the service (anchoring the custody log, purging media past retention), run
by one server process at a time.

Every tick (a minute, or the period if shorter) each process claims or renews the job's lease
(:mod:`jikimi.store.leases`); the one that holds it runs a round when one is due: soon after it
starts or takes the job over, then every period. A lease lasts three ticks and ten minutes
(what a round may take), so when its holder dies another process takes the job over within
that, and a restart does not put a daily job off by a day. A failing round (a time-stamp
authority down, the database busy) is logged and tried again next period; it never ends the
loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from jikimi.errors import JikimiError
from jikimi.store.leases import Leases

__all__ = ["PeriodicJob", "run_periodically", "run_round"]

log = logging.getLogger("jikimi.periodic")

ROUND_SECONDS = 600.0  # what one round may take: a purge of many blobs, slow time-stamp servers


@dataclass(frozen=True)
class PeriodicJob:
    name: str  # the lease's name, and how logs name the job
    period_seconds: float
    run: Callable[[], str | None]  # one round; what it did, to log, or None for nothing
    tick_seconds: float = 60.0  # how often the lease is renewed (and a due round looked for)

    @property
    def every(self) -> float:
        return min(self.period_seconds, self.tick_seconds)

    @property
    def lease_seconds(self) -> float:
        """Three ticks and the time a round may take (the lease is not renewed during one): a
        holder that died is replaced within that."""
        return 3 * self.every + ROUND_SECONDS


def run_round(
    job: PeriodicJob,
    leases: Leases,
    holder: str,
    clock: Callable[[], datetime],
    *,
    due: bool = True,
) -> bool:
    """Claim or renew ``job``'s lease for ``holder`` and, if it holds it and a round is
    ``due``, run one; True when a round ran (whether it succeeded or not)."""
    try:
        claimed = leases.claim(job.name, holder, now=clock(), seconds=job.lease_seconds)
    except Exception:  # the store busy or down: nobody runs this round
        log.exception("%s: could not claim the lease; next try in %g s", job.name, job.every)
        return False
    if not (claimed and due):
        return False
    try:
        did = job.run()
    except JikimiError as exc:
        log.warning("%s failed, next try in %g s: %s", job.name, job.period_seconds, exc)
    except Exception:
        log.exception("%s failed; next try in %g s", job.name, job.period_seconds)
    else:
        if did:
            log.info("%s: %s", job.name, did)
    return True


def run_periodically(
    job: PeriodicJob,
    stop: threading.Event,
    leases: Leases,
    holder: str,
    clock: Callable[[], datetime],
) -> None:
    """Every ``job.every`` seconds until ``stop`` is set: renew the lease and, when this
    process has not run a round for ``job.period_seconds`` (or never has: soon after start,
    or after taking the job over), run one. The lease is let go on stop, so another process
    takes the job over at once."""
    last: float | None = None  # monotonic time of this process's last round
    try:
        while not stop.wait(job.every):
            due = last is None or time.monotonic() - last >= job.period_seconds
            if run_round(job, leases, holder, clock, due=due):
                last = time.monotonic()
    finally:
        try:
            leases.release(job.name, holder, now=clock())
        except Exception:  # the store may be gone at shutdown; the lease then just expires
            log.warning("%s: could not let go of the lease; it expires by itself", job.name)
