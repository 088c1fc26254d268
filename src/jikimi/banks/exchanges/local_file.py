"""threatexchange's local-file exchange (``LocalFileSignalExchangeAPI``): a file of
``<signal_type> <value>`` lines in threatexchange's type names, read whole at every sync as
one complete page, so a line removed since the last sync is a withdrawal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from threatexchange.exchanges.impl.file_api import (
    FileCollaborationConfig,
    LocalFileSignalExchangeAPI,
)

from jikimi.banks.exchanges.pages import Page, Skips, UpstreamRecord
from jikimi.banks.exchanges.signals import THREATEXCHANGE_TYPES, checked, value_id
from jikimi.errors import ExchangeError


class LocalFileExchange:
    def __init__(self, name: str, *, path: str) -> None:
        self.name = name
        self.path = Path(path)
        self._api = LocalFileSignalExchangeAPI(FileCollaborationConfig(name=name, filename=path))

    def pages(self, checkpoint: dict[str, Any] | None) -> Iterator[Page]:
        # threatexchange asserts these (stripped under python -O); say it plainly instead.
        if not self.path.is_file():
            raise ExchangeError(f"exchange {self.name!r}: {self.path} is not a readable file")
        for delta in self._api.fetch_iter((), None):
            skips = Skips()
            records = {}
            for upstream_type, raw in delta.updates:
                ours = THREATEXCHANGE_TYPES.get(upstream_type)
                value = checked(upstream_type, ours, raw, skips, str(self.path))
                if ours is not None and value is not None:
                    uid = value_id(ours, value)
                    records[uid] = UpstreamRecord(uid, ((ours, value),))
            stat = self.path.stat()
            state = {"bytes": stat.st_size, "records": len(records)}
            yield skips.fill(Page(list(records.values()), state, complete=True))
