"""NCMEC hash sharing (every environment, including the generative-AI ones) through
threatexchange's ``NCMECSignalExchangeAPI``: its time-range probing, paging and checkpoints
(resumable mid-range through the ``next`` URL), with our own client subclass so a base URL
other than the environment's can be given (a proxy, a test server on loopback).

Each NCMEC entry (``<member>-<id>``) maps to the bank entries of its fingerprints; a
``deletedImage``/``deletedVideo`` withdraws them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from threatexchange.exchanges.clients.ncmec import hash_api as api
from threatexchange.exchanges.impl.ncmec_api import (
    NCMECCheckpoint,
    NCMECCollabConfig,
    NCMECSignalExchangeAPI,
)

from jikimi.banks.exchanges import tx_checkpoints
from jikimi.banks.exchanges.credentials import Secret
from jikimi.banks.exchanges.pages import Page, Skips, UpstreamRecord
from jikimi.banks.exchanges.signals import NCMEC_TYPES, checked
from jikimi.errors import ExchangeError

ENVIRONMENTS = tuple(e.name for e in api.NCMECEnvironment)


def environment(name: str) -> api.NCMECEnvironment:
    try:
        return api.NCMECEnvironment[name]
    except KeyError:
        raise ExchangeError(
            f"unknown NCMEC environment {name!r}; use one of: {', '.join(ENVIRONMENTS)}"
        ) from None


class _NCMECClient(api.NCMECHashAPI):
    """threatexchange's client, at ``base_url`` instead of the environment's own address."""

    def __init__(self, user: str, password: str, env: api.NCMECEnvironment, base_url: str):
        super().__init__(user, password, env)
        self._base_url = base_url.rstrip("/")


class _NCMECExchangeAPI(NCMECSignalExchangeAPI):
    def __init__(self, collab: NCMECCollabConfig, user: str, password: str, base_url: str | None):
        super().__init__(collab, user, password)
        self._client_base_url = base_url

    def get_client(self, environment: api.NCMECEnvironment) -> api.NCMECHashAPI:
        if not self._client_base_url:
            return super().get_client(environment)
        return _NCMECClient(self._username, self._password, environment, self._client_base_url)


class NCMECExchange:
    def __init__(
        self,
        name: str,
        *,
        environment_name: str,
        base_url: str | None,
        credentials: Mapping[str, Secret],
    ):
        collab = NCMECCollabConfig(name=name, environment=environment(environment_name))
        self.name = name
        self._api = _NCMECExchangeAPI(
            collab,
            credentials["user"].reveal(),
            credentials["password"].reveal(),
            base_url,
        )

    def pages(self, checkpoint: dict[str, Any] | None) -> Iterator[Page]:
        # Who am I: a cheap call that fails fast (401) on wrong credentials.
        self._api.get_client(self._api.collab.environment).status()
        start = tx_checkpoints.from_json(NCMECCheckpoint, checkpoint, self.name)
        for delta in self._api.fetch_iter((), start):
            skips = Skips()
            records = []
            for key, entry in delta.updates.items():
                assert entry is not None
                signals: list[tuple[str, str]] = []
                if not entry.deleted:
                    for tag, raw in entry.fingerprints.items():
                        ours = NCMEC_TYPES.get((entry.entry_type.value, tag.lower()))
                        where = f"entry {key}"
                        value = checked(f"{entry.entry_type.value} {tag}", ours, raw, skips, where)
                        if ours is not None and value is not None:
                            signals.append((ours, value))
                records.append(UpstreamRecord(key, tuple(signals)))
            yield skips.fill(Page(records, tx_checkpoints.to_json(delta.checkpoint)))
