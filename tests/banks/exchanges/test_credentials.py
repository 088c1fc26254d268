"""Credentials: environment over stored, stored encrypted and bound to the exchange, never in
logs, errors, reprs, custody payloads or the database in clear."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select
from tests.banks.exchanges.conftest import NCMEC_LOGIN, STOPNCII_KEYS, add_stopncii
from tests.support.fake_ncmec import PASSWORD, FakeNCMEC
from tests.support.fake_stopncii import FUNCTION_KEY, SUBSCRIPTION_KEY, FakeStopNCII

from jikimi.banks.exchanges.credentials import CredentialCipher, Secret, env_var
from jikimi.banks.exchanges.sync import ExchangeSync
from jikimi.errors import (
    ExchangeCredentialsError,
    ExchangeError,
    ExchangeExists,
)
from jikimi.store.models import Exchange
from jikimi.workspace import Workspace

SECRETS = (SUBSCRIPTION_KEY, FUNCTION_KEY, PASSWORD)


def test_secrets_never_reach_logs_reprs_custody_or_the_row(
    ws: Workspace,
    exchanges,
    kinds,
    syncer,
    stopncii: FakeStopNCII,
    ncmec: FakeNCMEC,
    photos,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stopncii.add(photos[0].pdq)
    ncmec.add("e1", pdq=photos[1].pdq)
    add_stopncii(exchanges, kinds, stopncii)
    exchanges.add(
        "nc",
        kinds["ncmec"],
        bank=None,
        config={"url": ncmec.url},
        credentials=NCMEC_LOGIN,
        actor="t",
    )
    stopncii.fault(1, status=400, body=f'{{"echo": "{SUBSCRIPTION_KEY}"}}'.encode())
    caplog.set_level(logging.DEBUG)

    errors = []
    for name in ("sn", "sn", "nc"):
        try:
            syncer.run(name)
        except ExchangeError as exc:
            errors.append(str(exc))

    assert len(errors) == 1 and "could not be fetched" in errors[0]
    text = caplog.text + "".join(errors) + repr(exchanges.list()) + repr(STOPNCII_KEYS)
    text += json.dumps([e.payload for e in ws.custody.events()])
    text += repr([exchanges.get(n).last_sync_error for n in ("sn", "nc")])
    with ws.sessions() as session:
        rows = session.scalars(select(Exchange)).all()
        text += "".join(repr(r.config) + r.credentials.hex() for r in rows if r.credentials)
        assert all(SUBSCRIPTION_KEY.encode() not in (r.credentials or b"") for r in rows)
    assert "GET" in caplog.text or "FetchHashes" in caplog.text  # the logs were captured
    for secret in SECRETS:
        assert secret not in text
    assert ws.matcher().match_value("pdq", photos[0].pdq)
    assert ws.matcher().match_value("pdq", photos[1].pdq)


def test_environment_overrides_stored_and_missing_names_the_variable(
    ws: Workspace, exchanges, kinds, stopncii: FakeStopNCII, photos
) -> None:
    stopncii.add(photos[0].pdq)
    exchanges.add(
        "StopNCII.org",
        kinds["stopncii"],
        bank="sn",
        config={"url": stopncii.url},
        credentials={"fetch_function_key": Secret("stale-key")},
        actor="t",
    )
    sub, fn = (
        env_var("StopNCII.org", "subscription_key"),
        env_var("StopNCII.org", "fetch_function_key"),
    )
    assert (sub, fn) == (
        "JIKIMI_EXCHANGE_STOPNCII_ORG_SUBSCRIPTION_KEY",
        "JIKIMI_EXCHANGE_STOPNCII_ORG_FETCH_FUNCTION_KEY",
    )

    bare = ExchangeSync(ws.sessions, exchanges, kinds, actor="t", environ={})
    with pytest.raises(ExchangeCredentialsError, match=sub) as caught:
        bare.run("StopNCII.org")
    assert fn not in str(caught.value)  # stored, so not missing

    env = {sub: SUBSCRIPTION_KEY, fn: FUNCTION_KEY}
    result = ExchangeSync(ws.sessions, exchanges, kinds, actor="t", environ=env).run("StopNCII.org")
    assert result.progress.added == 1


def test_stored_credentials_are_bound_to_their_exchange() -> None:
    cipher = CredentialCipher(b"k" * 32)
    blob = cipher.encrypt("a", {"password": Secret("hunter2-long")})
    assert cipher.decrypt("a", blob)["password"].reveal() == "hunter2-long"
    assert b"hunter2" not in blob
    with pytest.raises(ExchangeCredentialsError, match="fail authentication"):
        cipher.decrypt("b", blob)
    with pytest.raises(ExchangeCredentialsError):
        CredentialCipher(b"x" * 32).decrypt("a", blob)


def test_secret_masks_itself() -> None:
    secret = Secret("value-1234")
    assert "value-1234" not in repr(secret) + str(secret) + f"{secret}" + repr([secret])
    assert secret.reveal() == "value-1234"


def test_add_refuses_unknown_credentials_settings_and_taken_banks(
    ws: Workspace, exchanges, kinds
) -> None:
    with pytest.raises(ExchangeError, match="has no credential password"):
        exchanges.add(
            "x",
            kinds["stopncii"],
            bank=None,
            config={},
            credentials={"password": Secret("p")},
            actor="t",
        )
    with pytest.raises(ExchangeError, match="takes no --path"):
        exchanges.add(
            "x", kinds["stopncii"], bank=None, config={"path": "/tmp/x"}, credentials={}, actor="t"
        )
    with pytest.raises(ExchangeError, match="unknown NCMEC environment"):
        exchanges.add(
            "x",
            kinds["ncmec"],
            bank=None,
            config={"environment": "Moon"},
            credentials={},
            actor="t",
        )
    ws.banks.create("mine", actor="t")
    with pytest.raises(ExchangeError, match="a bank named 'mine' exists"):
        exchanges.add(
            "x", kinds["file"], bank="mine", config={"path": "/tmp/x"}, credentials={}, actor="t"
        )
    assert exchanges.list() == []
    exchanges.add(
        "x", kinds["file"], bank=None, config={"path": "/tmp/x"}, credentials={}, actor="t"
    )
    with pytest.raises(ExchangeExists):
        exchanges.add(
            "x", kinds["file"], bank="y", config={"path": "/tmp/x"}, credentials={}, actor="t"
        )
    assert [b.name for b in ws.banks.list()] == ["mine", "x"]
