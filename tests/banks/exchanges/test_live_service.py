"""A withdrawal reaches a running service's very next lookup: a sync inside the service
applies each page in place; a sync elsewhere (the CLI) reaches it through the index watcher,
whose custody check sees the bank changes."""

from __future__ import annotations

from tests.banks.exchanges.conftest import add_stopncii
from tests.support.fake_stopncii import FakeStopNCII

from jikimi.banks.exchanges.live import in_place
from jikimi.web.service import Service


def _setup(service: Service, exchanges, kinds, syncer, fake: FakeStopNCII, photos) -> None:
    for p in photos[:2]:
        fake.add(p.pdq)
    add_stopncii(exchanges, kinds, fake)
    syncer.run("sn")
    service.refresh_matcher(force=True)
    assert service.matcher.match_value("pdq", photos[0].pdq)


def test_sync_in_the_service_withdraws_before_the_next_lookup(
    service: Service, exchanges, kinds, syncer, stopncii: FakeStopNCII, photos
) -> None:
    _setup(service, exchanges, kinds, syncer, stopncii, photos)
    stopncii.set_status(photos[0].pdq, "Withdrawn")
    stopncii.add(photos[2].pdq)

    syncer.run("sn", on_applied=in_place(service.apply_in_place, service.ws.banks))

    assert service.matcher.match_value("pdq", photos[0].pdq) == []
    assert service.matcher.match_value("pdq", photos[2].pdq)
    assert service.matcher.match_value("pdq", photos[1].pdq)


def test_sync_elsewhere_reaches_the_service_through_its_watcher(
    service: Service, exchanges, kinds, syncer, stopncii: FakeStopNCII, photos
) -> None:
    _setup(service, exchanges, kinds, syncer, stopncii, photos)
    stopncii.set_status(photos[0].pdq, "Deleted")

    syncer.run("sn")  # as `jikimi exchange sync` does, with no service in the loop

    assert service.refresh_matcher() is True  # what the watcher runs every watch_seconds
    assert service.matcher.match_value("pdq", photos[0].pdq) == []
    assert service.matcher.match_value("pdq", photos[1].pdq)


def test_an_exchange_added_elsewhere_syncs_in_place_before_any_rebuild(
    service: Service, exchanges, kinds, syncer, stopncii: FakeStopNCII, photos
) -> None:
    service.refresh_matcher(force=True)  # built before the exchange and its bank existed
    stopncii.add(photos[0].pdq)
    add_stopncii(exchanges, kinds, stopncii)

    syncer.run("sn", on_applied=in_place(service.apply_in_place, service.ws.banks))

    assert [m.bank for m in service.matcher.match_value("pdq", photos[0].pdq)] == ["sn"]
