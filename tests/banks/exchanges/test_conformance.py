"""Every exchange kind against the adapter contract (conformance.py), on loopback fakes and
temp files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.banks.exchanges.conformance import ExchangeConformance
from tests.banks.exchanges.conftest import NCMEC_LOGIN, STOPNCII_KEYS, Photo
from tests.support.fake_ncmec import FakeNCMEC
from tests.support.fake_stopncii import FakeStopNCII

from jikimi.banks.exchanges.kinds import build_registry
from jikimi.banks.exchanges.pages import ExchangeAdapter

KINDS = build_registry()


class TestStopNCIIConformance(ExchangeConformance):
    kind = "stopncii"

    @pytest.fixture
    def fake(self) -> Iterator[FakeStopNCII]:
        with FakeStopNCII(page_size=2) as fake:
            yield fake

    @pytest.fixture
    def adapter(self, fake: FakeStopNCII) -> ExchangeAdapter:
        self.fake = fake
        return KINDS[self.kind].build("sn", {"url": fake.url}, STOPNCII_KEYS)

    def publish(self, photos: list[Photo]) -> set[tuple[str, str]]:
        for p in photos:
            self.fake.add(p.pdq)
        return {("pdq", p.pdq) for p in photos}

    def withdraw(self, photo: Photo) -> None:
        self.fake.set_status(photo.pdq, "Withdrawn")


class TestNCMECConformance(ExchangeConformance):
    kind = "ncmec"

    @pytest.fixture
    def fake(self) -> Iterator[FakeNCMEC]:
        with FakeNCMEC(page_size=2) as fake:
            yield fake

    @pytest.fixture
    def adapter(self, fake: FakeNCMEC) -> ExchangeAdapter:
        self.fake = fake
        config = {"url": fake.url, "environment": "test_NGO_Generative_AI"}
        return KINDS[self.kind].build("nc", config, NCMEC_LOGIN)

    def publish(self, photos: list[Photo]) -> set[tuple[str, str]]:
        for p in photos:
            self.fake.add(p.file, pdq=p.pdq, md5=p.md5)
        return {("pdq", p.pdq) for p in photos} | {("md5", p.md5) for p in photos}

    def withdraw(self, photo: Photo) -> None:
        self.fake.delete(photo.file)


class _ListConformance(ExchangeConformance):
    @pytest.fixture
    def adapter(self, tmp_path: Path) -> ExchangeAdapter:
        self.path = tmp_path / "list.txt"
        self.path.write_text("")
        return KINDS[self.kind].build("list", {"path": str(self.path)}, {})

    def publish(self, photos: list[Photo]) -> set[tuple[str, str]]:
        self.path.write_text("".join(f"pdq {p.pdq}\n" for p in photos))
        return {("pdq", p.pdq) for p in photos}

    def withdraw(self, photo: Photo) -> None:
        lines = self.path.read_text().splitlines(keepends=True)
        self.path.write_text("".join(line for line in lines if photo.pdq not in line))


class TestLocalFileConformance(_ListConformance):
    kind = "file"


class TestUrlListConformance(_ListConformance):
    kind = "url_list"


def test_every_kind_has_a_conformance_class() -> None:
    classes = (
        TestStopNCIIConformance,
        TestNCMECConformance,
        TestLocalFileConformance,
        TestUrlListConformance,
    )
    assert {c.kind for c in classes} == set(KINDS)


def test_ncmec_environments_follow_threatexchange() -> None:
    from threatexchange.exchanges.clients.ncmec.hash_api import NCMECEnvironment

    from jikimi.banks.exchanges.kinds import NCMEC_ENVIRONMENTS

    assert tuple(e.name for e in NCMECEnvironment) == NCMEC_ENVIRONMENTS
