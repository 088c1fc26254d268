"""A fake NCMEC hash sharing API (v2, XML) on loopback, in the wire format threatexchange's
client reads (https://report.cybertip.org/hashsharing/v2/documentation.pdf).

Served under any environment path (``/npo``, ``/generative-ai-csam``...) with HTTP basic auth
(wrong: 401):

- ``GET .../v2/status`` → ``<status><member id="N">name</member></status>``
- ``GET .../v2/entries?from=&to=`` (times as the client writes them: local time with a ``Z``)
  and the paging form ``...&start=&size=&max=`` named by the previous page's
  ``<paging><next>``. Entries with ``from <= timestamp < to`` in id order, as ``<image>`` /
  ``<video>`` with ``<id>``, ``<member id>``, ``<classification>``, ``<fingerprints>``, or
  ``<deletedImage>``/``<deletedVideo>`` once deleted; ``maxTimestamp`` on ``<images>`` and
  ``<videos>`` is the page's newest time (UTC).

:meth:`FakeNCMEC.fault` scripts a failing or malformed answer for an entries request.
"""

from __future__ import annotations

import base64
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.support.loopback import LoopbackServer, QuietHandler

USER = "jikimi-test"
PASSWORD = "ncmec-password-for-tests-42"
ESP_ID = 42
_TIME = "%Y-%m-%dT%H:%M:%SZ"


@dataclass
class Entry:
    id: str
    member_id: int
    kind: str  # image or video
    fingerprints: dict[str, str]
    timestamp: int
    classification: str = "A1"
    deleted: bool = False


@dataclass
class Fault:
    request: int  # the 1-based entries request it answers
    status: int
    body: bytes


@dataclass
class _State:
    entries: dict[str, Entry] = field(default_factory=dict)
    entry_requests: int = 0


class FakeNCMEC:
    def __init__(self, page_size: int = 2, environment_path: str = "/generative-ai-csam"):
        self.page_size = page_size
        self.environment_path = environment_path
        self.state = _State()
        self._faults: list[Fault] = []
        self._clock = int(time.time()) - 3600
        self._lock = threading.Lock()
        fake = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                status, body = fake._handle(self.path, self.headers.get("Authorization", ""))
                self.reply(status, body, {"Content-Type": "application/xml"})

        self._server = LoopbackServer(Handler)

    @property
    def url(self) -> str:
        return f"{self._server.base_url}{self.environment_path}"

    def __enter__(self) -> FakeNCMEC:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    # -- the data ------------------------------------------------------------------------------

    def add(self, entry_id: str, kind: str = "image", member_id: int = 7, **fps: str) -> None:
        with self._lock:
            self._clock += 10
            self.state.entries[entry_id] = Entry(entry_id, member_id, kind, fps, self._clock)

    def delete(self, entry_id: str) -> None:
        """Delete an entry now. The client fetches up to 5 s before its own clock, so the
        deletion is stamped 5 s back and :meth:`delete` returns once the next second began:
        the next sync's time range holds it."""
        with self._lock:
            now = time.time()
            entry = self.state.entries[entry_id]
            entry.deleted, entry.fingerprints, entry.timestamp = True, {}, int(now) - 5
        time.sleep(int(now) + 1 - now)

    def fault(self, request: int, status: int = 500, body: bytes = b"") -> None:
        """Answer the ``request``-th entries call (1-based, counted from now) so."""
        with self._lock:
            self._faults.append(Fault(self.state.entry_requests + request, status, body))

    # -- the wire ------------------------------------------------------------------------------

    def _handle(self, path: str, authorization: str) -> tuple[int, bytes]:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if authorization != expected:
            return 401, b"<error>Unauthorized</error>"
        parts = urlsplit(path)
        if not parts.path.startswith(self.environment_path + "/v2/"):
            return 404, b"<error>Not Found</error>"
        endpoint = parts.path[len(self.environment_path) + len("/v2/") :]
        if endpoint == "status":
            root = ET.Element("status", xmlns="https://hashsharing.ncmec.org/hashsharing/v2")
            ET.SubElement(root, "member", id=str(ESP_ID)).text = "Jikimi tests"
            return 200, ET.tostring(root)
        if endpoint != "entries":
            return 404, b"<error>Not Found</error>"
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.state.entry_requests += 1
            for fault in self._faults:
                if fault.request == self.state.entry_requests:
                    return fault.status, fault.body
            return 200, self._entries(query)

    def _entries(self, query: dict[str, str]) -> bytes:
        start_ts = _parse(query["from"])
        end_ts = _parse(query["to"])
        in_range = sorted(
            (e for e in self.state.entries.values() if start_ts <= e.timestamp < end_ts),
            key=lambda e: e.id,
        )
        start = int(query.get("start", "0"))
        size = int(query.get("size", str(self.page_size)))
        page = in_range[start : start + size]
        root = ET.Element("queryResult", xmlns="https://hashsharing.ncmec.org/hashsharing/v2")
        for kind in ("image", "video"):
            mine = [e for e in page if e.kind == kind]
            group = ET.SubElement(root, f"{kind}s", count=str(len(mine)))
            if mine:
                newest = max(e.timestamp for e in mine)
                group.set("maxTimestamp", datetime.fromtimestamp(newest, UTC).strftime(_TIME))
            for entry in mine:
                _entry_xml(group, entry)
        if start + size < len(in_range):
            params = {
                "from": query["from"],
                "to": query["to"],
                "start": start + size,
                "size": size,
                "max": len(in_range),
            }
            paging = ET.SubElement(root, "paging")
            ET.SubElement(paging, "next").text = f"/v2/entries?{urlencode(params)}"
        return ET.tostring(root)


def _entry_xml(parent: ET.Element, entry: Entry) -> None:
    tag = f"deleted{entry.kind.capitalize()}" if entry.deleted else entry.kind
    node = ET.SubElement(parent, tag)
    ET.SubElement(node, "id").text = entry.id
    ET.SubElement(node, "member", id=str(entry.member_id)).text = f"member {entry.member_id}"
    ET.SubElement(node, "timestamp").text = datetime.fromtimestamp(entry.timestamp, UTC).strftime(
        _TIME
    )
    if entry.deleted:
        return
    ET.SubElement(node, "classification").text = entry.classification
    fingerprints = ET.SubElement(node, "fingerprints")
    for tag_name, value in entry.fingerprints.items():
        ET.SubElement(fingerprints, tag_name).text = value


def _parse(text: str) -> int:
    """The client writes local time with a literal ``Z``; read it back the same way."""
    return int(datetime.strptime(text, _TIME).timestamp())
