"""A plain hash list, ``<signal_type> <value>`` per line (the threatexchange text format of
:mod:`jikimi.banks.formats`), read from a file or fetched over http(s).

Every sync reads the whole list as one complete page: a line removed since the last sync is a
withdrawal. The checkpoint records the list's SHA-256 and size, for ``status``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from jikimi.banks.exchanges.credentials import Secret
from jikimi.banks.exchanges.pages import Page, Skips, UpstreamRecord
from jikimi.banks.exchanges.signals import THREATEXCHANGE_TYPES, checked, value_id
from jikimi.banks.formats import MAX_LINE_CHARS, iter_lines
from jikimi.errors import ExchangeCredentialsError, ExchangeError

MAX_BYTES = 1 << 30  # a 1 GiB list is 15 million PDQ lines; anything bigger is a mistake
TIMEOUT_SECONDS = 60.0
CHUNK_BYTES = 1 << 16


class _Digest:
    """A binary stream that hashes and counts what is read through it, up to a limit."""

    def __init__(self, chunks: Iterator[bytes], source: str) -> None:
        self._chunks = chunks
        self._source = source
        self.sha256 = hashlib.sha256()
        self.size = 0

    def read(self, _n: int = -1) -> bytes:
        chunk = next(self._chunks, b"")
        self.size += len(chunk)
        if self.size > MAX_BYTES:
            raise ExchangeError(f"{self._source} is larger than {MAX_BYTES} bytes")
        self.sha256.update(chunk)
        return chunk


class UrlListExchange:
    def __init__(self, name: str, *, url: str | None, path: str | None, token: Secret | None):
        if bool(url) == bool(path):
            raise ExchangeError(f"exchange {name!r}: give a URL or a path, not both or neither")
        self.name = name
        self.url = url
        self.path = path
        self._token = token

    def pages(self, checkpoint: dict[str, Any] | None) -> Iterator[Page]:
        if self.path is not None:
            try:
                handle = Path(self.path).open("rb")  # noqa: SIM115 - closed by the with below
            except OSError as exc:
                raise ExchangeError(
                    f"exchange {self.name!r}: cannot read {self.path}: {exc.strerror}"
                ) from None
            with handle:
                yield self._page(_Digest(iter(lambda: handle.read(CHUNK_BYTES), b""), self.path))
            return
        assert self.url is not None
        headers = {"Authorization": f"Bearer {self._token.reveal()}"} if self._token else {}
        with (
            httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=True) as client,
            client.stream("GET", self.url, headers=headers) as response,
        ):
            if response.status_code in (401, 403):
                raise ExchangeCredentialsError(
                    f"exchange {self.name!r}: {self.url} refused the request "
                    f"(HTTP {response.status_code}); check its bearer_token"
                )
            if response.status_code != 200:
                raise ExchangeError(
                    f"exchange {self.name!r}: {self.url} answered HTTP {response.status_code}"
                )
            yield self._page(_Digest(response.iter_bytes(), self.url))

    def _page(self, stream: _Digest) -> Page:
        skips = Skips()
        records: dict[str, UpstreamRecord] = {}
        for number, line in enumerate(iter_lines(stream), start=1):  # type: ignore[arg-type]
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            kind, _, raw = text.partition(" ")
            where = f"line {number}"
            if len(text) > MAX_LINE_CHARS or not raw.strip():
                skips.add("not a '<signal_type> <value>' line", where)
                continue
            ours = THREATEXCHANGE_TYPES.get(kind)
            value = checked(kind, ours, raw.strip(), skips, where)
            if ours is not None and value is not None:
                uid = value_id(ours, value)
                records[uid] = UpstreamRecord(uid, ((ours, value),))
        checkpoint = {
            "sha256": stream.sha256.hexdigest(),
            "bytes": stream.size,
            "records": len(records),
            "read_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return skips.fill(Page(list(records.values()), checkpoint, complete=True))
