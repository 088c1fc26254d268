"""Fixtures for the exchange tests: a workspace on each backend, the sync loop, fake
StopNCII and NCMEC servers on loopback, and hashes of the shared benign photos."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from tests.support.fake_ncmec import PASSWORD, USER, FakeNCMEC
from tests.support.fake_stopncii import FUNCTION_KEY, SUBSCRIPTION_KEY, FakeStopNCII
from tests.support.testdata import shared_testdata

from jikimi.banks.exchanges.credentials import Secret
from jikimi.banks.exchanges.kinds import ExchangeKind, build_registry
from jikimi.banks.exchanges.store import ExchangeStore
from jikimi.banks.exchanges.sync import ExchangeSync
from jikimi.signals.base import hamming_hex
from jikimi.workspace import Workspace


@dataclass(frozen=True)
class Photo:
    file: str
    pdq: str
    md5: str


@pytest.fixture(scope="session")
def photos() -> list[Photo]:
    """Shared benign test photos that do not resemble each other (PDQ distance over 80, so
    one never matches another), with their file MD5s."""
    folder = shared_testdata() / "pdq"
    with (folder / "expected.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["pdq"] and int(r["quality"]) >= 50]
    out: list[Photo] = []
    for row in rows:
        if any(hamming_hex(row["pdq"], p.pdq) <= 80 for p in out):
            continue
        md5 = hashlib.md5((folder / "images" / row["file"]).read_bytes()).hexdigest()
        out.append(Photo(row["file"], row["pdq"], md5))
    assert len(out) >= 5, "too few distinct shared test photos"
    return out


@pytest.fixture
def kinds() -> dict[str, ExchangeKind]:
    return build_registry()


@pytest.fixture
def exchanges(ws: Workspace) -> ExchangeStore:
    return ExchangeStore(ws.sessions, ws.master_key)


@pytest.fixture
def syncer(ws: Workspace, exchanges: ExchangeStore, kinds: dict[str, ExchangeKind]) -> ExchangeSync:
    return ExchangeSync(ws.sessions, exchanges, kinds, actor="tester", environ={})


@pytest.fixture
def stopncii() -> Iterator[FakeStopNCII]:
    with FakeStopNCII(page_size=2) as fake:
        yield fake


@pytest.fixture
def ncmec() -> Iterator[FakeNCMEC]:
    with FakeNCMEC(page_size=2) as fake:
        yield fake


STOPNCII_KEYS = {
    "subscription_key": Secret(SUBSCRIPTION_KEY),
    "fetch_function_key": Secret(FUNCTION_KEY),
}
NCMEC_LOGIN = {"user": Secret(USER), "password": Secret(PASSWORD)}


def add_stopncii(
    exchanges: ExchangeStore, kinds: dict[str, ExchangeKind], fake: FakeStopNCII, name: str = "sn"
) -> None:
    """A StopNCII exchange reading ``fake``, with the right keys, feeding a bank of its name."""
    exchanges.add(
        name,
        kinds["stopncii"],
        bank=None,
        config={"url": fake.url},
        credentials=STOPNCII_KEYS,
        actor="t",
    )
