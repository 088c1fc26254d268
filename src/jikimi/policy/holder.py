"""The running policy, reloaded when its file changes, safe to share between threads.

A service reads :attr:`PolicyHolder.current` for every item. At most once every
``reload_seconds`` (0: never) that read looks at the file: first its modification time, size and
inode, which cost one ``stat``; only when those changed is the file read, and only when its
SHA-256 differs from the running policy's is it parsed. A file that does not validate never
replaces a good policy: the old one keeps running and :attr:`PolicyHolder.last_error` says
what is wrong (file:line), until a good file clears it. Each file is read once per change and
the version hashes exactly the bytes that were parsed, so a verdict's ``policy_version`` always
names the rules that made it.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from jikimi.errors import PolicyError
from jikimi.policy.rules import Policy, load_policy, parse_policy_bytes, read_policy_bytes

__all__ = ["PolicyHolder"]

Stamp = tuple[int, int, int]


class PolicyHolder:
    """Holds the current :class:`Policy` of ``path`` (``None``: the shipped default, which
    never changes). The first load raises :class:`PolicyError` on a bad file: there is no
    older policy to keep."""

    def __init__(
        self,
        path: Path | None,
        reload_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.reload_seconds = reload_seconds
        self.last_error: str | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._stamp = self._stat() if path is not None else None
        self._policy = load_policy(path)
        self._checked = clock()

    @property
    def current(self) -> Policy:
        """The running policy, after looking at the file if ``reload_seconds`` have passed
        since the last look. Never raises for a bad file (see :attr:`last_error`)."""
        if self.path is None or self.reload_seconds <= 0 or not self._due():
            return self._policy
        # One thread looks; the others keep the policy they have rather than queue on disk I/O.
        if self._lock.acquire(blocking=False):
            try:
                if self._due():
                    self._checked = self._clock()
                    self._check()
            finally:
                self._lock.release()
        return self._policy

    def reload(self) -> Policy:
        """Read and parse the file now, whatever changed; a bad file raises
        :class:`PolicyError`, sets :attr:`last_error` and keeps the running policy."""
        with self._lock:
            self._checked = self._clock()
            stamp = self._stat() if self.path is not None else None
            try:
                policy = load_policy(self.path)
            except PolicyError as exc:
                self.last_error = str(exc)
                raise
            self._stamp, self._policy, self.last_error = stamp, policy, None
            return policy

    def _due(self) -> bool:
        return self._clock() - self._checked >= self.reload_seconds

    def _stat(self) -> Stamp | None:
        assert self.path is not None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _check(self) -> None:
        """Called under the lock: swap in the file's policy if it changed and validates."""
        assert self.path is not None
        stamp = self._stat()
        if stamp is None:
            self.last_error = f"{self.path}: cannot read the policy file; keeping the running one"
            self._stamp = None
            return
        if stamp == self._stamp:
            return
        self._stamp = stamp  # a bad file is parsed once, not on every look
        try:
            data = read_policy_bytes(self.path)
            if hashlib.sha256(data).hexdigest() != self._policy.sha256:
                self._policy = parse_policy_bytes(data, str(self.path))
        except PolicyError as exc:
            self.last_error = str(exc)
            return
        self.last_error = None
