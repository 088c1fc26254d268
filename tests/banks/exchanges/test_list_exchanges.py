"""threatexchange's local-file exchange and our URL list (a file path, or http over
loopback): every sync reads the whole list; a removed line is a withdrawal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.banks.exchanges.conftest import Photo
from tests.support.loopback import LoopbackServer, QuietHandler

from jikimi.banks.exchanges.credentials import Secret
from jikimi.errors import ExchangeCredentialsError, ExchangeError
from jikimi.workspace import Workspace

TOKEN = "list-token-for-tests-5555"


class ListServer:
    """Serves ``body`` at ``/list.txt`` to requests bearing :data:`TOKEN`."""

    def __init__(self) -> None:
        self.body = b""
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self.reply(401, b"")
                else:
                    self.reply(200 if self.path == "/list.txt" else 404, server.body)

        self.http = LoopbackServer(Handler)

    @property
    def url(self) -> str:
        return f"{self.http.base_url}/list.txt"


@pytest.fixture
def list_server() -> Iterator[ListServer]:
    server = ListServer()
    server.http.start()
    yield server
    server.http.stop()


def _lines(photos: list[Photo]) -> str:
    return "".join(f"pdq {p.pdq}\n" for p in photos) + "url https://example.invalid/\n"


def _active(ws: Workspace, bank: str) -> list[str]:
    return sorted(e.value for e in ws.banks.entries(bank))


@pytest.mark.parametrize("kind", ["file", "url_list"])
def test_a_file_list_syncs_and_a_removed_line_is_withdrawn(
    ws: Workspace, exchanges, kinds, syncer, photos, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "hashes.txt"
    path.write_text(_lines(photos[:3]) + f"video_md5 {photos[3].md5}\n")
    exchanges.add(
        "list", kinds[kind], bank=None, config={"path": str(path)}, credentials={}, actor="t"
    )

    first = syncer.run("list")

    assert (first.progress.added, first.progress.skipped) == (4, 1)
    assert "signal type 'url' is not supported" in first.progress.notes[0]
    assert _active(ws, "list") == sorted([p.pdq for p in photos[:3]] + [photos[3].md5])

    path.write_text(_lines([photos[0], photos[2]]))
    second = syncer.run("list")

    assert (second.progress.added, second.progress.withdrawn) == (0, 2)
    assert _active(ws, "list") == sorted([photos[0].pdq, photos[2].pdq])
    assert ws.matcher().match_value("pdq", photos[1].pdq) == []


def test_url_list_over_http_with_a_bearer_token(
    ws: Workspace, exchanges, kinds, syncer, photos, list_server: ListServer
) -> None:
    list_server.body = _lines(photos[:3]).encode()
    exchanges.add(
        "feed",
        kinds["url_list"],
        bank=None,
        config={"url": list_server.url},
        credentials={"bearer_token": Secret(TOKEN)},
        actor="t",
    )
    assert syncer.run("feed").progress.added == 3

    list_server.body = _lines(photos[1:3]).encode() + b"pdq not-a-hash\n"
    result = syncer.run("feed")

    assert result.progress.withdrawn == 1
    assert result.progress.notes[-1] == "malformed pdq value: 1 skipped (first: line 4)"
    assert _active(ws, "feed") == sorted(p.pdq for p in photos[1:3])


def test_url_list_refusing_the_token_is_a_clear_error(
    ws: Workspace, exchanges, kinds, syncer, list_server: ListServer
) -> None:
    exchanges.add(
        "feed",
        kinds["url_list"],
        bank=None,
        config={"url": list_server.url},
        credentials={"bearer_token": Secret("wrong-token-0000")},
        actor="t",
    )
    with pytest.raises(ExchangeCredentialsError, match="HTTP 401") as caught:
        syncer.run("feed")
    assert "wrong-token-0000" not in str(caught.value)


def test_a_missing_list_file_is_a_clear_error(
    ws: Workspace, exchanges, kinds, syncer, tmp_path: Path
) -> None:
    missing = tmp_path / "gone.txt"
    exchanges.add(
        "list", kinds["file"], bank=None, config={"path": str(missing)}, credentials={}, actor="t"
    )
    with pytest.raises(ExchangeError, match=r"gone\.txt is not a readable file"):
        syncer.run("list")
