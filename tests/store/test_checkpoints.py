from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from jikimi.store.checkpoints import Checkpoints
from jikimi.store.db import write_session
from jikimi.store.models import Checkpoint


def test_a_checkpoint_is_saved_replaced_listed_and_deleted(
    sessions: sessionmaker[Session],
) -> None:
    checkpoints = Checkpoints(sessions)
    assert checkpoints.load("telegram-bot:1") is None
    checkpoints.save("telegram-bot:1", {"offset": 10})
    checkpoints.save("telegram-bot:1", {"offset": 11})
    checkpoints.save("exchange:stopncii", {"token": "abc"})
    assert checkpoints.load("telegram-bot:1") == {"offset": 11}
    assert checkpoints.names("telegram-bot:") == ["telegram-bot:1"]
    assert checkpoints.names() == ["exchange:stopncii", "telegram-bot:1"]
    checkpoints.delete("telegram-bot:1")
    assert checkpoints.load("telegram-bot:1") is None


def test_a_checkpoint_saved_in_a_failed_transaction_does_not_move(
    sessions: sessionmaker[Session],
) -> None:
    checkpoints = Checkpoints(sessions)
    checkpoints.save("exchange:ncmec", {"page": 1})
    with pytest.raises(RuntimeError), write_session(sessions) as session:
        checkpoints.save("exchange:ncmec", {"page": 2}, session=session)
        raise RuntimeError("the page failed after the checkpoint was staged")
    assert checkpoints.load("exchange:ncmec") == {"page": 1}
    with sessions() as session:
        assert session.get(Checkpoint, "exchange:ncmec") is not None
