"""Wellness: the veil a reviewer chooses within the organisation's limits, the admin's
defaults, and the rules behind them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.console.review_support import as_user, item, post_form, takedown
from tests.web.helpers import jpeg

from jikimi.console.wellness import (
    Organisation,
    Personal,
    WellnessStore,
    effective,
    parse_organisation,
    parse_personal,
    start_of_day,
)
from jikimi.store.db import write_session
from jikimi.store.models import User, UserPreference, utcnow
from jikimi.web.service import Service

ORG_FORM = {
    "scope": "organisation",
    "blur_px": "32",
    "min_blur_px": "16",
    "greyscale": "1",
    "users_may_unmute": "1",
    "mute_video": "1",
    "daily_reveal_limit": "5",
}


def test_choices_stay_within_the_organisations_limits() -> None:
    org = Organisation(blur_px=24, min_blur_px=16, users_may_use_colour=False)
    assert effective(org, Personal()).blur_px == 24
    assert effective(org, Personal(blur_px=32)).blur_px == 32
    assert effective(org, Personal(blur_px=4)).blur_px == 16  # raised to the least allowed
    assert effective(org, Personal(greyscale=False)).greyscale is True
    coloured = Organisation(users_may_use_colour=True)
    assert effective(coloured, Personal(greyscale=False)).greyscale is False
    strict = Organisation(users_may_unmute=False)
    assert effective(strict, Personal(mute_video=False)).mute_video is True
    veil = effective(org, Personal(blur_px=32))
    assert veil.css_class == "veil-blur-32 veil-grey-1" and veil.preview_radius == 16
    assert effective(Organisation(min_blur_px=0), Personal(blur_px=0)).preview_radius == 3
    assert not veil.over_limit(19) and veil.over_limit(20)
    assert not effective(Organisation(daily_reveal_limit=0), Personal()).over_limit(10_000)


def test_forms_are_checked() -> None:
    org, problems = parse_organisation({**ORG_FORM, "blur_px": "8"})
    assert ("blur_px", "wellness.error.default_below_least") in problems
    _, problems = parse_organisation({**ORG_FORM, "blur_px": "7", "daily_reveal_limit": "-1"})
    assert {p for p, _ in problems} == {"blur_px", "daily_reveal_limit"}
    org, problems = parse_organisation(ORG_FORM)
    assert not problems and org == Organisation(32, True, True, 16, False, True, 5)
    own, problems = parse_personal({"blur_px": "8", "greyscale": "1", "mute_video": "1"}, org)
    assert problems == [("blur_px", "wellness.error.below_least")]
    _, problems = parse_personal({"blur_px": "16"}, org)  # greyscale off, sound on
    assert problems == [("greyscale", "wellness.error.colour_not_allowed")]
    own, problems = parse_personal({"blur_px": "48", "greyscale": "1"}, org)
    assert not problems and own == Personal(48, True, False)


def test_a_day_starts_at_midnight_utc() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    seoul = timezone(timedelta(hours=9))
    at = datetime(2026, 3, 8, 7, 30, tzinfo=seoul)  # 2026-03-07 22:30 UTC
    assert start_of_day(at) == datetime(2026, 3, 7, tzinfo=UTC)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"keep_media": True}


def test_a_reviewer_sets_their_veil(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    item(console, tokens["platform"], "201", jpeg(201))
    case_id = takedown(console, "https://t.me/c/1/201")
    as_user(console, "moderator")
    page = console.get("/console/wellness")
    assert page.status_code == 200 and 'id="organisation-form"' not in page.text
    r = post_form(
        console,
        "/console/wellness",
        {"scope": "personal", "blur_px": "32", "greyscale": "1", "mute_video": "1"},
        "/console/wellness",
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/wellness?saved=personal"
    assert '<option value="32" selected>' in console.get(r.headers["location"]).text
    assert "veil-blur-32 veil-grey-1" in console.get(f"/console/cases/{case_id}").text
    too_little = post_form(
        console,
        "/console/wellness",
        {"scope": "personal", "blur_px": "4", "greyscale": "1", "mute_video": "1"},
        "/console/wellness",
    )
    assert too_little.status_code == 422 and 'id="error-blur_px"' in too_little.text
    colour = post_form(
        console,
        "/console/wellness",
        {"scope": "personal", "blur_px": "24", "mute_video": "1"},
        "/console/wellness",
    )
    assert colour.status_code == 422 and "keeps media in greyscale" in colour.text
    # Not an admin: the organisation's settings are refused.
    r = post_form(console, "/console/wellness", ORG_FORM, "/console/wellness")
    assert r.status_code == 403


def test_an_admin_sets_the_organisations_defaults(
    console: TestClient, service: Service, tokens: dict[str, str]
) -> None:
    as_user(console, "admin")
    page = console.get("/console/wellness").text
    assert 'id="organisation-form"' in page
    r = post_form(console, "/console/wellness", ORG_FORM, "/console/wellness")
    assert r.status_code == 200 and "The organisation&#39;s settings are saved." in r.text
    store = WellnessStore(service.ws.sessions, service.ws.custody)
    assert store.organisation() == Organisation(32, True, True, 16, False, True, 5)
    changed = service.ws.custody.events(subject="console:wellness")
    assert changed[-1].kind == "console.wellness_changed" and changed[-1].actor == "test-admin"
    assert changed[-1].payload["after"]["daily_reveal_limit"] == 5
    bad = post_form(
        console,
        "/console/wellness",
        {**ORG_FORM, "daily_reveal_limit": "lots"},
        "/console/wellness",
    )
    assert bad.status_code == 422 and 'id="error-daily_reveal_limit"' in bad.text
    # A reviewer now chooses from 16 px up, and sees the new limit.
    as_user(console, "moderator")
    page = console.get("/console/wellness").text
    assert '<option value="8"' not in page and '<option value="32" selected>' in page
    assert "0 of 5" in page


def test_preferences_keep_what_else_they_hold(service: Service, tokens: dict[str, str]) -> None:
    store = WellnessStore(service.ws.sessions, service.ws.custody)
    with service.ws.sessions() as session:
        user_id = session.scalar(select(User.id).where(User.name == "test-moderator"))
    with write_session(service.ws.sessions) as session:
        session.add(UserPreference(user_id=user_id, value={"other": 1}, updated_at=utcnow()))
    store.set_personal(user_id, Personal(blur_px=48))
    with service.ws.sessions() as session:
        value = session.get(UserPreference, user_id).value
    assert value["other"] == 1 and value["wellness"]["blur_px"] == 48
    assert store.personal(user_id) == Personal(blur_px=48)
    # A row edited by hand never breaks the page: odd values are ignored.
    with write_session(service.ws.sessions) as session:
        session.get(UserPreference, user_id).value = {"wellness": {"blur_px": "x", "greyscale": 2}}
    assert store.personal(user_id) == Personal()


def test_every_blur_step_has_its_css_class() -> None:
    from importlib.resources import files

    from jikimi.console.wellness import BLUR_STEPS

    css = files("jikimi.console").joinpath("static", "console.css").read_text()
    review = css.split("/* -- review --", 1)[1]
    for step in BLUR_STEPS:
        assert f".veil-blur-{step} {{ --veil-blur: {step}px; }}" in review
    # The veil's fallbacks are the strongest defaults: a missing class never shows more.
    assert "--veil-blur: 24px; --veil-grey: 1;" in review
    assert "filter: blur(var(--veil-blur)) grayscale(var(--veil-grey));" in review
