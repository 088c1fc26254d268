"""``jikimi case list|show``: cases by the clock, filters, minors marked, JSON, unknown ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jikimi.cases.deadlines import load_profiles
from jikimi.cases.notices import check_notice
from jikimi.cases.store import CaseStore, NoticeReceipt
from jikimi.workspace import Workspace

from .conftest import Runner

SHA = "ab" * 32


def _takedown(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "takedown_request",
        "jurisdiction": "US",
        "locators": [url],
        "explanation": "These are fake images of me.",
        "signature": "Full Name",
        "good_faith_statement": True,
        "contact": {"email": "secret-contact@example.org"},
        "on_behalf_of": None,
        **extra,
    }


def _order(url: str) -> dict[str, Any]:
    return {
        "kind": "authority_order",
        "jurisdiction": "KR",
        "issuing_body": "KCSC",
        "reference": "2026-0042",
        "legal_basis": "Act on the Establishment of the KCSC, art. 21",
        "locators": [url, f"sha256:{SHA}"],
    }


def file_notice(body: dict[str, Any], received: datetime) -> NoticeReceipt:
    """Record a notice as the service does (``Service.file_notice``)."""
    check = check_notice(body, received_at=received)
    deadline = None
    if check.complete:
        deadline = load_profiles().deadline(
            jurisdiction=body.get("jurisdiction"), kind=check.kind, received_at=received
        )
    with Workspace.open() as ws:
        return CaseStore(ws.sessions, ws.custody).record_notice(
            body,
            check,
            deadline,
            received_at=received,
            submitted_by="tester",
            jurisdiction=body.get("jurisdiction"),
            notifier=None,
        )


def _cases(workspace: Path) -> tuple[int, int, int]:
    """An overdue US takedown (48 h, received 50 h ago), a fresh US takedown (48 h) and a
    fresh KR order (24 h): by the clock overdue, order, fresh takedown."""
    now = datetime.now(UTC)
    late = file_notice(_takedown("https://t.me/chan/1"), now - timedelta(hours=50))
    fresh = file_notice(_takedown("https://t.me/chan/2"), now)
    order = file_notice(_order("https://t.me/chan/3"), now)
    assert late.case_id and fresh.case_id and order.case_id
    return late.case_id, fresh.case_id, order.case_id


def test_list_sorted_by_due_time_with_overdue_marked(cli: Runner, workspace: Path) -> None:
    late, fresh, order = _cases(workspace)
    run = cli("case", "list")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert [int(line.split("\t")[0]) for line in lines] == [late, order, fresh]
    first = lines[0].split("\t")
    assert first[1:5] == ["adult_ncii", "new", "takedown_request", "US"]
    assert first[5].startswith("due ") and first[5].endswith(" UTC")
    assert first[6] == "OVERDUE 2h00m"
    assert first[7] == "priority 80"
    assert lines[1].split("\t")[6] in ("1d00h00m left", "23h59m left")
    assert lines[1].split("\t")[6].endswith(" left")
    assert "OVERDUE" not in lines[1] + lines[2]
    assert "secret-contact" not in run.out


def test_list_filters(cli: Runner, workspace: Path) -> None:
    late, fresh, order = _cases(workspace)

    def ids(*args: str) -> list[int]:
        run = cli("case", "list", "--json", *args)
        assert run.code == 0, run.err
        return [c["id"] for c in run.json_lines()]

    assert ids("--overdue") == [late]
    assert ids("--kind", "authority_order") == [order]
    assert ids("--queue", "authority") == [order]
    assert ids("--queue", "adult_ncii") == [late, fresh]
    assert ids("--jurisdiction", "us") == [late, fresh]
    assert ids("--state", "new") == [late, order, fresh]
    assert ids("--state", "closed") == []


def test_list_json_lines(cli: Runner, workspace: Path) -> None:
    late, _, order = _cases(workspace)
    rows = cli("case", "list", "--json").json_lines()
    assert len(rows) == 3
    assert rows[0]["id"] == late and rows[0]["overdue"] is True
    assert rows[0]["seconds_left"] < 0
    assert rows[1]["id"] == order and rows[1]["overdue"] is False
    assert rows[1]["queue"] == "authority" and rows[1]["priority"] == 90
    assert all("notices" not in r for r in rows)


def test_minor_cases_listed_and_marked_without_bodies(cli: Runner, workspace: Path) -> None:
    body = {
        "kind": "trusted_flagger",
        "flagger_id": "tf-secret-flagger",
        "locators": [f"sha256:{SHA}"],
        "explanation": "Known abuse hash.",
        "csam": True,
    }
    receipt = file_notice(body, datetime.now(UTC))
    assert receipt.case_id
    run = cli("case", "list")
    assert run.code == 0, run.err
    (line,) = run.out.splitlines()
    assert line.startswith(f"{receipt.case_id}\tchild_safety\t")
    assert line.endswith("[minor]")
    assert "tf-secret-flagger" not in run.out and "Known abuse" not in run.out
    (row,) = cli("case", "list", "--json").json_lines()
    assert row["suspected_minor"] is True
    assert "notices" not in row and "body" not in json.dumps(row)


def test_show_text_has_clock_notices_locators_but_no_body(cli: Runner, workspace: Path) -> None:
    _, _, order = _cases(workspace)
    run = cli("case", "show", str(order))
    assert run.code == 0, run.err
    assert run.out.startswith(f"{order}\tauthority\tnew\tauthority_order\tKR\t")
    assert "Korea KCSC order" in run.out
    assert "\tauthority_order\treceived " in run.out
    assert "\tcomplete\tmissing -\trcpt_" in run.out
    assert "locator\ttelegram\t" in run.out
    assert f"locator\thash\t{SHA}" in run.out
    assert "items\tnone" in run.out
    assert "2026-0042" not in run.out  # the body stays out of text output


def test_show_joined_notice_and_json_body(cli: Runner, workspace: Path) -> None:
    now = datetime.now(UTC)
    first = file_notice(_takedown("https://t.me/chan/5"), now - timedelta(hours=1))
    second = file_notice(_takedown("https://t.me/chan/5", signature="Other"), now)
    assert second.joined and second.case_id == first.case_id
    text = cli("case", "show", str(first.case_id))
    assert text.out.count("\ttakedown_request\treceived ") == 2
    assert "secret-contact" not in text.out
    run = cli("case", "show", str(first.case_id), "--json")
    assert run.code == 0, run.err
    (case,) = run.json_lines()
    assert case["id"] == first.case_id
    assert [n["receipt"] for n in case["notices"]] == [first.receipt, second.receipt]
    assert case["notices"][0]["body"]["contact"]["email"] == "secret-contact@example.org"
    assert case["notices"][0]["complete"] is True and case["notices"][0]["missing"] == []
    assert case["locators"][0]["kind"] == "telegram"
    assert case["items"] == []
    assert 46 * 3600 < case["seconds_left"] <= 47 * 3600


def test_show_unknown_id(cli: Runner, workspace: Path) -> None:
    run = cli("case", "show", "999")
    assert run.code == 1
    assert run.out == ""
    assert run.err.strip() == "error: no case 999; see jikimi case list"


def test_list_empty(cli: Runner, workspace: Path) -> None:
    run = cli("case", "list")
    assert run.code == 0 and run.out == ""


def test_decide_closes_a_case_with_a_statement_of_reasons(cli: Runner, workspace: Path) -> None:
    _, fresh, _ = _cases(workspace)
    args = ["case", "decide", str(fresh), "--outcome", "remove", "--category", "adult_ncii"]
    refused = cli(*args, "--ground", "illegal", "--reasons", "fake image")
    assert refused.code == 1 and "law" in refused.err  # illegal needs the law: nothing stored
    assert json.loads(cli("case", "show", str(fresh), "--json").out)["state"] == "new"
    run = cli(
        *args, "--ground", "illegal", "--law", "TAKE IT DOWN Act", "--reasons", "fake", "--json"
    )
    assert run.code == 0, run.err
    decided = json.loads(run.out)
    assert decided["state"] == "closed"
    assert decided["statement_of_reasons"]["category"] == "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    assert cli(*args, "--ground", "terms", "--terms", "4.2", "--reasons", "x").code == 1
    unknown = ["case", "decide", "999", "--outcome", "keep", "--ground", "terms"]
    assert cli(*unknown, "--terms", "1", "--category", "other", "--reasons", "x").code == 1
