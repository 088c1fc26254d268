"""Periodic jobs of the service (anchoring the custody log, purging media past retention), run
by one server process at a time.

Every period each process tries to claim the job's lease (:mod:`jikimi.store.leases`); the one
that holds it runs the job and renews the lease, the others skip the round. A lease lasts two
periods and a minute, so when its holder dies another process takes the job over within that.
A failing round (a time-stamp authority down, the database busy) is logged and tried again
next period; it never ends the loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from jikimi.errors import JikimiError
from jikimi.store.leases import Leases

__all__ = ["PeriodicJob", "run_periodically", "run_round"]

log = logging.getLogger("jikimi.periodic")


@dataclass(frozen=True)
class PeriodicJob:
    name: str  # the lease's name, and how logs name the job
    period_seconds: float
    run: Callable[[], str | None]  # one round; what it did, to log, or None for nothing

    @property
    def lease_seconds(self) -> float:
        return 2 * self.period_seconds + 60


def run_round(job: PeriodicJob, leases: Leases, holder: str, clock: Callable[[], datetime]) -> bool:
    """Run one round of ``job`` if ``holder`` gets its lease; True when it ran (whether the
    round succeeded or not)."""
    try:
        claimed = leases.claim(job.name, holder, now=clock(), seconds=job.lease_seconds)
    except Exception:  # the store busy or down: nobody runs this round
        log.exception(
            "%s: could not claim the lease; next try in %g s", job.name, job.period_seconds
        )
        return False
    if not claimed:
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
    """A round every ``job.period_seconds`` until ``stop`` is set; the lease is let go then,
    so another process takes the job over at once."""
    try:
        while not stop.wait(job.period_seconds):
            run_round(job, leases, holder, clock)
    finally:
        try:
            leases.release(job.name, holder, now=clock())
        except Exception:  # the store may be gone at shutdown; the lease then just expires
            log.warning("%s: could not let go of the lease; it expires by itself", job.name)
