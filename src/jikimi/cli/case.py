"""``jikimi case ...``: cases opened by notices, read by the clock, and decided.

An operator tool: suspected-minor cases are listed too, marked ``[minor]``; ``list`` never
prints a notice body, and ``show`` prints bodies only with ``--json``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from jikimi.cases.store import CaseStore
from jikimi.cli.output import emit_json
from jikimi.errors import CaseNotFound
from jikimi.workspace import Workspace


def _store(ws: Workspace) -> CaseStore:
    return CaseStore(ws.sessions, ws.custody)


def _duration(seconds: int) -> str:
    minutes = abs(seconds) // 60
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return f"{days}d{hours:02d}h{minutes:02d}m" if days else f"{hours}h{minutes:02d}m"


def time_left(case: dict[str, Any]) -> str:
    """``3h12m left``, ``OVERDUE 2h05m``, ``closed`` or ``no clock``."""
    if case["state"] == "closed":
        return "closed"
    left = case["seconds_left"]
    if left is None:
        return "no clock"
    if case["overdue"]:
        return f"OVERDUE {_duration(left)}"
    return f"{_duration(left)} left"


def _due(at: str | None) -> str:
    if at is None:
        return "-"
    return f"{datetime.fromisoformat(at).astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def _line(case: dict[str, Any]) -> str:
    minor = "\t[minor]" if case["suspected_minor"] else ""
    return (
        f"{case['id']}\t{case['queue']}\t{case['state']}\t{case['origin'] or '-'}\t"
        f"{case['jurisdiction'] or '-'}\tdue {_due(case['due_at'])}\t{time_left(case)}\t"
        f"priority {case['priority']}{minor}"
    )


def build() -> typer.Typer:
    app = typer.Typer(help="Cases opened by notices, by the clock.", no_args_is_help=True)

    @app.command("list")
    def list_cases(
        queue: str | None = typer.Option(None, "--queue", help="Only this queue."),
        state: str | None = typer.Option(None, "--state", help="Only this state."),
        kind: str | None = typer.Option(
            None, "--kind", help="Only cases holding a notice of this kind."
        ),
        origin: str | None = typer.Option(
            None, "--origin", help="Only cases opened by this (a notice kind, or verdict)."
        ),
        open_tasks: bool = typer.Option(
            False, "--open-tasks", help="Only cases with near-duplicates left to review."
        ),
        jurisdiction: str | None = typer.Option(None, "--jurisdiction", help="e.g. US, KR."),
        overdue: bool = typer.Option(False, "--overdue", help="Only cases past their clock."),
        limit: int = typer.Option(100, "--limit", min=1, help="At most this many cases."),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Cases, the soonest due first; suspected-minor cases marked [minor]."""
        with Workspace.open() as ws:
            cases = _store(ws).list(
                now=datetime.now(UTC),
                queue=queue,
                state=state,
                origin=origin,
                kind=kind,
                jurisdiction=jurisdiction.upper() if jurisdiction else None,
                overdue=True if overdue else None,
                open_tasks=True if open_tasks else None,
                limit=limit,
            )
        for case in cases:
            emit_json(case) if json_out else typer.echo(_line(case))

    @app.command("show")
    def show(
        case_id: int = typer.Argument(..., metavar="ID"),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """A case with its clock, notices (bodies only with --json), locators and items."""
        with Workspace.open() as ws:
            case = _store(ws).get(case_id, now=datetime.now(UTC))
        if case is None:
            raise CaseNotFound(f"no case {case_id}; see jikimi case list")
        if json_out:
            emit_json(case)
            return
        typer.echo(_line(case))
        typer.echo(f"  clock\tdue {_due(case['due_at'])}\t{time_left(case)}")
        if case["deadline_rule"]:
            typer.echo(f"  rule\t{case['deadline_rule']}")
        if case["notify_by"]:
            typer.echo(f"  notify by\t{_due(case['notify_by'])}")
        if case["assignee"]:
            typer.echo(f"  assignee\t{case['assignee']}")
        for n in case["notices"]:
            missing = ",".join(n["missing"]) or "-"
            typer.echo(
                f"  notice {n['id']}\t{n['kind']}\treceived {_due(n['received_at'])}\t"
                f"{'complete' if n['complete'] else 'incomplete'}\tmissing {missing}\t"
                f"{n['receipt']}"
            )
        for loc in case["locators"]:
            typer.echo(f"  locator\t{loc['kind']}\t{loc['value']}")
        items = ",".join(str(i) for i in case["items"]) or "none"
        typer.echo(f"  items\t{items}")
        for task in case["tasks"]:
            typer.echo(
                f"  task {task['id']}\t{task['kind']}\titem {task['item_id']}\t"
                f"distance {task['detail'].get('distance')}\t{task['state']}"
            )

    @app.command("decide")
    def decide(
        case_id: int,
        outcome: str = typer.Option(..., "--outcome", help="remove, restrict, keep or escalate."),
        ground: str = typer.Option(..., "--ground", help="illegal (with --law) or terms."),
        category: str = typer.Option(..., "--category", help="adult_ncii, minors or other."),
        reasons: str = typer.Option(..., "--reasons", help="Published: no personal data."),
        law: str | None = typer.Option(None, "--law", help="The law relied on."),
        terms: str | None = typer.Option(None, "--terms", help="The terms-of-service clause."),
        json_out: bool = typer.Option(False, "--json"),
    ) -> None:
        """Decide a case, as POST /v1/cases/{id}/decisions does (statement of reasons,
        removal of identical copies through the outbox)."""
        from jikimi.cases.decisions import Ruling
        from jikimi.web.service import Service, ServiceOptions

        choices = {
            "--outcome": (outcome, ("remove", "restrict", "keep", "escalate")),
            "--ground": (ground, ("illegal", "terms")),
            "--category": (category, ("adult_ncii", "minors", "other")),
        }
        for flag, (value, allowed) in choices.items():
            if value not in allowed:
                raise typer.BadParameter(f"{flag} must be one of {', '.join(allowed)}")
        ruling = Ruling(
            outcome=outcome,  # type: ignore[arg-type]
            ground=ground,  # type: ignore[arg-type]
            category=category,  # type: ignore[arg-type]
            reasons=reasons,
            law=law,
            terms=terms,
        )
        with Workspace.open() as ws:
            service = Service(ws, ServiceOptions(run_dispatcher=False))
            try:
                service.refresh_matcher(force=True)
                decided = service.decide(case_id, ruling, actor=ws.operator)
            finally:
                service.stop()
        if json_out:
            emit_json(
                {
                    "decision_id": decided.decision_id,
                    "case_id": decided.case_id,
                    "state": decided.state,
                    "statement_of_reasons": decided.statement,
                    "items_removed": decided.items,
                    "tasks_opened": decided.tasks,
                }
            )
            return
        removed = ",".join(str(i) for i in decided.items) or "none"
        typer.echo(
            f"decision {decided.decision_id}\tcase {decided.case_id} {decided.state}\t"
            f"items removed: {removed}\treview tasks opened: {len(decided.tasks)}"
        )

    return app
