"""The demo's Telegram export (make run, jikimi demo) is read as Telegram Desktop's own."""

from __future__ import annotations

from pathlib import Path

from jikimi.connectors.telegram_export import ExportMessage, links, read_export
from jikimi.demo.telegram_export import CHAT_NAME, write_demo_export


def test_the_demo_export_reads_as_a_telegram_desktop_export(tmp_path: Path) -> None:
    result = write_demo_export(tmp_path / "export")
    read = list(read_export(result.parent))

    messages = [m for m in read if isinstance(m, ExportMessage)]
    assert len(messages) == len(read) == 8  # no problems
    assert {m.chat.name for m in messages} == {CHAT_NAME}
    by_id = {m.id: m for m in messages}
    assert by_id[3].text == "Photo from the walk #garden"
    assert by_id[3].media[0].path is not None and by_id[3].media[0].path.is_file()
    assert by_id[7].media[0].missing and by_id[7].media[0].path is None
    assert ("forwarded_from", "Photo channel (demo)") in links(by_id[4])
    assert by_id[5].reply_to == 3 and by_id[6].via_bot == "@demo_picture_bot"
    assert by_id[3].date_local == "2024-08-26T18:18:00"  # kept verbatim (UTC+9)
    assert by_id[3].date_utc.isoformat() == "2024-08-26T09:18:00+00:00"
    assert by_id[3].sender is not None and by_id[3].sender.raw == "user102"
