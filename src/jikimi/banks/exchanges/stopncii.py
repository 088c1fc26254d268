"""StopNCII.org through threatexchange's ``StopNCIISignalExchangeAPI`` and its client.

threatexchange 1.2.17 decides whether a record is withdrawn by comparing its ``hashValue``
(not its ``hashStatus``) with ``Withdrawn``/``Deleted``, so its deltas never carry a
withdrawal. :class:`StopNCIIExchange` keeps threatexchange's client, paging and checkpoint
and reads ``hashStatus`` itself: a ``Withdrawn`` or ``Deleted`` record withdraws its entry.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from threatexchange.exchanges import fetch_state
from threatexchange.exchanges.clients.stopncii import api
from threatexchange.exchanges.collab_config import CollaborationConfigBase
from threatexchange.exchanges.impl.stop_ncii_api import (
    StopNCIICheckpoint,
    StopNCIISignalExchangeAPI,
)

from jikimi.banks.exchanges import tx_checkpoints
from jikimi.banks.exchanges.credentials import Secret
from jikimi.banks.exchanges.pages import Page, Skips, UpstreamRecord
from jikimi.banks.exchanges.signals import STOPNCII_TYPES, checked, value_id

WITHDRAWN = frozenset({api.StopNCIICaseStatus.Withdrawn, api.StopNCIICaseStatus.Deleted})


class _StopNCIIExchangeAPI(StopNCIISignalExchangeAPI):
    def fetch_iter(  # type: ignore[override]
        self, _supported_signal_types: Any, checkpoint: StopNCIICheckpoint | None
    ) -> Iterator[fetch_state.FetchDelta[str, api.StopNCIIHashRecord, StopNCIICheckpoint]]:
        start = api.StopNCIIAPI.DEFAULT_START_TIME if checkpoint is None else checkpoint.update_time
        for result in self.api.fetch_hashes_iter(start_timestamp=start):
            yield fetch_state.FetchDelta(
                {f"{r.signalType.value}:{r.hashValue}": r for r in result.hashRecords},
                StopNCIICheckpoint.from_stopncii_fetch(result),
            )


class StopNCIIExchange:
    def __init__(self, name: str, *, base_url: str | None, credentials: Mapping[str, Secret]):
        client = api.StopNCIIAPI(
            credentials["subscription_key"].reveal(),
            credentials["fetch_function_key"].reveal(),
            base_url_override=base_url or None,
        )
        self.name = name
        self._api = _StopNCIIExchangeAPI(CollaborationConfigBase(name, "stopncii", True), client)

    def pages(self, checkpoint: dict[str, Any] | None) -> Iterator[Page]:
        start = tx_checkpoints.from_json(StopNCIICheckpoint, checkpoint, self.name)
        for delta in self._api.fetch_iter((), start):
            skips = Skips()
            records = []
            for record in delta.updates.values():
                assert record is not None
                upstream = record.signalType.value
                ours = STOPNCII_TYPES.get(upstream)
                value = checked(
                    upstream, ours, record.hashValue, skips, f"hash {record.hashValue[:16]}"
                )
                if ours is None or value is None:
                    continue
                signals = () if record.hashStatus in WITHDRAWN else ((ours, value),)
                records.append(UpstreamRecord(value_id(ours, value), signals))
            yield skips.fill(Page(records, tx_checkpoints.to_json(delta.checkpoint)))
