"""Who sees media, and how: a blurred greyscale preview for media:view (and minors:view for
suspected minors), the original only through a logged, single-use, short-lived grant, and
nothing at all for media the workspace did not keep."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from tests.console.review_support import as_user, bank, item, post_form, sha256, takedown
from tests.support.testdata import shared_testdata
from tests.web.helpers import jpeg

from jikimi.console.media_preview import PREVIEW_SIDE, preview_jpeg
from jikimi.console.pages import media as media_page
from jikimi.console.wellness import Organisation, WellnessStore
from jikimi.media.limits import Limits
from jikimi.web.service import Service

JSON = {"accept": "application/json"}


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"keep_media": True}


def _case_with_picture(console: TestClient, tokens: dict[str, str], seed: int) -> tuple[int, bytes]:
    picture = jpeg(seed)
    item(console, tokens["platform"], str(seed), picture)
    return takedown(console, f"https://t.me/c/1/{seed}"), picture


def _reveal(console: TestClient, case_id: int, media: str, **extra: str) -> Any:
    page = f"/console/cases/{case_id}"
    return post_form(console, f"{page}/reveal", {"media": media, **extra}, page, headers=JSON)


def test_the_preview_is_small_grey_and_blurred(console: TestClient, tokens: dict[str, str]) -> None:
    _, picture = _case_with_picture(console, tokens, 101)
    as_user(console, "moderator")
    r = console.get(f"/console/media/{sha256(picture)}/preview")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "no-store"
    preview = Image.open(io.BytesIO(r.content))
    assert preview.mode == "L" and max(preview.size) <= PREVIEW_SIDE
    assert r.content != picture
    # Blurred: far less fine detail than the same picture merely shrunk.
    shrunk = Image.open(io.BytesIO(picture)).convert("L").resize(preview.size)
    assert _detail(preview) < _detail(shrunk) / 2


def _detail(im: Image.Image) -> float:
    """Mean absolute difference between horizontal neighbours."""
    import numpy as np

    px = np.asarray(im, dtype=np.float64)
    return float(np.abs(np.diff(px, axis=1)).mean())


def test_a_video_preview_is_its_first_frame_veiled() -> None:
    video = (shared_testdata() / "vpdq" / "chair-20-sd-bar.mp4").read_bytes()
    out = Image.open(io.BytesIO(preview_jpeg(video, limits=Limits(), radius=12)))
    assert out.mode == "L" and max(out.size) == PREVIEW_SIDE


def test_wrong_roles_get_403(console: TestClient, tokens: dict[str, str]) -> None:
    case_id, picture = _case_with_picture(console, tokens, 102)
    sha = sha256(picture)
    as_user(console, "moderator")
    granted = _reveal(console, case_id, sha).json()["url"]
    for role in ("auditor", "support_centre"):
        as_user(console, role)
        assert console.get(f"/console/media/{sha}/preview").status_code == 403
        assert console.get(granted).status_code == 403
    as_user(console, "auditor")  # reads the case, but not its media
    assert _reveal(console, case_id, sha).status_code == 403
    page = console.get(f"/console/cases/{case_id}").text
    assert "your role does not view media" in page and "/preview" not in page
    console.cookies.clear()
    r = console.get(f"/console/media/{sha}/preview", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")


def test_suspected_minors_need_minors_view(console: TestClient, tokens: dict[str, str]) -> None:
    picture = jpeg(103)
    bank(console, tokens["admin"], "hotline", [sha256(picture)], minors=True)
    case_id = int(item(console, tokens["platform"], "103", picture)["case_id"])
    sha = sha256(picture)
    as_user(console, "moderator")
    assert console.get(f"/console/media/{sha}/preview").status_code == 403
    as_user(console, "admin")  # an admin runs the service but does not review minors
    assert console.get(f"/console/media/{sha}/preview").status_code == 403
    as_user(console, "child_safety")
    assert console.get(f"/console/media/{sha}/preview").status_code == 200
    url = _reveal(console, case_id, sha).json()["url"]
    as_user(console, "moderator")
    assert console.get(url).status_code == 403


def test_a_reveal_is_logged_and_its_grant_works_once(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    case_id, picture = _case_with_picture(console, tokens, 104)
    sha = sha256(picture)
    as_user(console, "moderator")
    r = _reveal(console, case_id, sha)
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    assert url.startswith(f"/console/media/{sha}/original?grant=")
    events = service.ws.custody.events(subject=f"case:{case_id}")
    revealed = [e for e in events if e.kind == "media.revealed"]
    assert len(revealed) == 1
    assert revealed[0].actor == "test-moderator"
    assert revealed[0].payload["media"] == sha and revealed[0].payload["case_id"] == case_id
    assert url.split("grant=")[1].split(".")[1] not in str(revealed[0].payload)  # digest only
    # Another user cannot use it; its owner gets the original once.
    as_user(console, "child_safety")
    assert console.get(url).status_code == 403
    as_user(console, "moderator")
    original = console.get(url)
    assert original.status_code == 200 and original.content == picture
    assert original.headers["cache-control"] == "no-store"
    assert console.get(url).status_code == 403  # spent
    served = [e for e in service.ws.custody.events(subject=f"case:{case_id}")]
    assert [e.kind for e in served].count("media.original_served") == 1
    # A forged or malformed grant, another media's grant: refused.
    seq = url.split("grant=")[1].split(".")[0]
    for bad in (f"{seq}.{'A' * 32}", "x", "", f"{seq}"):
        assert console.get(f"/console/media/{sha}/original?grant={bad}").status_code == 403
    # Media that is not in the case: not found.
    _, other = _case_with_picture(console, tokens, 105)
    assert _reveal(console, case_id, sha256(other)).status_code == 404
    assert _reveal(console, case_id, "nothex").status_code == 404


def test_a_grant_expires(
    console: TestClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id, picture = _case_with_picture(console, tokens, 106)
    as_user(console, "moderator")
    monkeypatch.setattr(media_page, "GRANT_SECONDS", -1)
    url = _reveal(console, case_id, sha256(picture)).json()["url"]
    assert console.get(url).status_code == 403


def test_without_javascript_a_reveal_opens_the_original(
    console: TestClient, tokens: dict[str, str]
) -> None:
    case_id, picture = _case_with_picture(console, tokens, 107)
    as_user(console, "moderator")
    page = f"/console/cases/{case_id}"
    r = post_form(console, f"{page}/reveal", {"media": sha256(picture)}, page)
    assert r.status_code == 200 and r.content == picture  # followed the redirect, once


def test_past_the_daily_limit_a_reveal_needs_a_confirmation(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    WellnessStore(service.ws.sessions, service.ws.custody).set_organisation(
        Organisation(daily_reveal_limit=1), actor="tester"
    )
    case_id, picture = _case_with_picture(console, tokens, 108)
    sha = sha256(picture)
    as_user(console, "moderator")
    assert _reveal(console, case_id, sha).status_code == 200
    refused = _reveal(console, case_id, sha)
    assert refused.status_code == 409 and refused.json()["over_limit"] is True
    assert "limit is 1" in refused.json()["message"]
    page = console.get(f"/console/cases/{case_id}").text
    assert 'id="take-a-break"' in page and "1 of 1" in page
    assert '<label class="check continue">' in page  # the "continue anyway" box is shown
    going_on = _reveal(console, case_id, sha, **{"continue": "1"})
    assert going_on.status_code == 200
    events = [
        e
        for e in service.ws.custody.events(subject=f"case:{case_id}")
        if e.kind == "media.revealed"
    ]
    assert [e.payload["continued_past_limit"] for e in events] == [False, True]
    # "Next case" skips cases with media to look at: one with media, then one without.
    with_media, _ = _case_with_picture(console, tokens, 111)
    facts_only = takedown(console, "https://t.me/c/1/1111")  # no item recorded there
    page = console.get(f"/console/cases/{case_id}?queue=adult_ncii").text
    assert f'href="/console/cases/{facts_only}?queue=adult_ncii" id="next-case"' in page
    assert f"/console/cases/{with_media}?" not in page
    # The queue offers facts-only cases by default now, and says why.
    queue = console.get("/console/queues/all").text
    assert 'id="facts-only-routing"' in queue and f'data-case="{case_id}"' not in queue
    everything = console.get("/console/queues/all?facts=all").text
    assert f'data-case="{case_id}"' in everything


def test_exposure_is_counted_per_user_and_utc_day(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    case_id, picture = _case_with_picture(console, tokens, 109)
    as_user(console, "moderator")
    for _ in range(2):
        _reveal(console, case_id, sha256(picture))
    store = WellnessStore(service.ws.sessions, service.ws.custody)
    assert store.revealed_today("test-moderator") == 2
    assert store.revealed_today("test-child_safety") == 0
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert store.revealed_today("test-moderator", tomorrow) == 0
    assert "Originals you revealed today: 2 of 20." in console.get("/console/queues").text


@pytest.mark.parametrize("settings_overrides", [{"keep_media": False}])
def test_media_not_kept_is_facts_only(console: TestClient, tokens: dict[str, str]) -> None:
    case_id, picture = _case_with_picture(console, tokens, 110)
    as_user(console, "moderator")
    page = console.get(f"/console/cases/{case_id}").text
    assert "Not kept: facts only." in page and "/preview" not in page
    assert sha256(picture) in page  # the facts are all there
    assert console.get(f"/console/media/{sha256(picture)}/preview").status_code == 404
    assert _reveal(console, case_id, sha256(picture)).status_code == 404
