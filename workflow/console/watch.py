"""The per account-region table of ``orgsync watch``: where each item is, its attempts, retries and errors.

Rows come from the execution history (attempts and errors per Lambda function) joined with the outcomes
known so far (from the history or the outcome records in S3). Items the history does not show (the children
of a Distributed Map on an endpoint that cannot list them) still appear through their outcome records.

Example::

    >>> from workflow.console.history import ExecutionView, ItemView, ItemView, TaskError
    >>> view = ExecutionView(status="SUCCEEDED")
    >>> view.items[("200000000001", "us-east-1")] = ItemView("200000000001", "us-east-1",
    ...     attempts={"ReconcileSync": 2}, errors=[TaskError("ReconcileSync", "Throttled", "Rate exceeded", 7)])
    >>> rows = item_rows(view, [])
    >>> rows[0]["retries"], rows[0]["lastError"]
    (1, 'ReconcileSync: Throttled: Rate exceeded')
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lambdas.models import Outcome, Status, Summary
from workflow.console.history import ExecutionView, ItemView
from workflow.console.report import STATUS_STYLE, summary_line


def _state(outcome: Outcome | None, item: ItemView | None) -> str:
    """The status when the item recorded one, else where it is: running a function, or after an error."""
    if outcome is not None:
        return str(outcome.status)
    if item is not None and item.running:
        return f"running {item.running}"
    if item is not None and item.errors:
        return f"error {item.errors[-1].error}"
    return "waiting"


def item_rows(view: ExecutionView, outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """One row per account-region: state, status, marker, attempts, retries, last error."""
    by_key = {(o.accountId, o.region): o for o in outcomes}
    keys = sorted(set(view.items) | set(by_key))
    rows = []
    for key in keys:
        item = view.items.get(key)
        outcome = by_key.get(key)
        if outcome is None and item is not None and item.outcome is not None:
            try:
                outcome = Outcome.from_dict(item.outcome)
            except (KeyError, ValueError, TypeError):
                outcome = None
        last = item.errors[-1] if item and item.errors else None
        rows.append(
            {
                "accountId": key[0],
                "region": key[1],
                "status": _state(outcome, item),
                "verification": str(outcome.verification) if outcome else "",
                "attempts": dict(item.attempts) if item else {},
                "retries": item.retries if item else 0,
                "lastError": f"{last.function}: {last.error}: {' '.join(last.cause.split())[:160]}" if last else "",
                "needsAttention": bool(outcome and outcome.needs_attention),
            }
        )
    return rows


def render_items(view: ExecutionView, outcomes: list[Outcome], *, title: str) -> RenderableType:
    """The watch table, with the summary of the outcomes known so far above it."""
    table = Table(title=Text(title, style="bold"), title_justify="left", show_edge=False, pad_edge=False)
    for column in ("Account", "Region", "Status", "Marker", "Attempts", "Retries", "Last error"):
        # Identifiers and statuses never wrap or lose their end (the CLI widens the render to fit them); only the
        # last error, a sentence, folds.
        table.add_column(column, overflow="fold", no_wrap=column != "Last error")
    rows = item_rows(view, outcomes)
    for row in rows:
        status = row["status"]
        style = STATUS_STYLE.get(Status(status), "") if status in Status.__members__ else "cyan"
        attempts = ", ".join(f"{name} {count}" for name, count in row["attempts"].items())
        table.add_row(
            row["accountId"],
            row["region"],
            Text(status, style=style),
            row["verification"],
            attempts,
            str(row["retries"]) if row["retries"] else "",
            Text(row["lastError"], style="red"),
        )
    parts: list[RenderableType] = [table]
    if outcomes:
        parts.insert(0, Text(summary_line(Summary.of(outcomes))))
    if not rows:
        parts.append(Text("no account-region has started yet", style="dim"))
    for error in view.other_errors:
        parts.append(Text(f"{error.function}: {error.error}: {' '.join(error.cause.split())[:200]}", style="red"))
    return Group(*parts)
