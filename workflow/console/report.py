"""A run's report read back from wherever it was saved, and rendered as a table, JSON, CSV or Markdown.

The report is the document the Summarize step writes (``orgsync/reports/<execution>/report.json``) and the
execution returns: ``results`` (one :class:`~lambdas.models.Outcome` per account-region) and ``summary``. The
renderers only rely on those two keys; any other key is kept as-is, so ``--format json`` prints the document
exactly as the workflow wrote it.

Example::

    >>> from lambdas.models import Status
    >>> report = Report.from_dict({"results": [
    ...     {"accountId": "200000000001", "region": "us-east-1", "status": "CREATED", "verification": "VERIFIED"},
    ...     {"accountId": "200000000002", "region": "us-east-1", "status": "QUOTA_EXCEEDED"}]})
    >>> report.summary.needsAttention
    1
    >>> [group.status for group in group_outcomes(report.outcomes)]
    [<Status.QUOTA_EXCEEDED: 'QUOTA_EXCEEDED'>, <Status.CREATED: 'CREATED'>]
    >>> print(render_csv(report).splitlines()[0])
    accountId,accountName,ouPath,region,status,verification,needsAttention,action,detail,existingSync
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from lambdas.models import Mode, Outcome, Status, Summary, Verification
from lambdas.statuses import STATUS_ORDER, STATUSES
from workflow.console.errors import CliError

# The facts about each status live in lambdas.statuses; these are the console's reads of them.
STATUS_STYLE: dict[Status, str] = {status: info.style for status, info in STATUSES.items()}
QUIET_STATUSES = frozenset(status for status, info in STATUSES.items() if info.quiet)

CSV_COLUMNS: tuple[str, ...] = (
    "accountId",
    "accountName",
    "ouPath",
    "region",
    "status",
    "verification",
    "needsAttention",
    "action",
    "detail",
    "existingSync",
)


@dataclass(frozen=True)
class Report:
    """A run's outcomes and summary, plus the raw document they came from."""

    outcomes: tuple[Outcome, ...]
    summary: Summary
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "report") -> Report:
        """Read a report document; ``source`` names it in the error when the document is not a report."""
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise CliError(f"{source} is not an orgsync report (a JSON object with a 'results' list)")
        outcomes: list[Outcome] = []
        for index, item in enumerate(data["results"]):
            try:
                outcomes.append(Outcome.from_dict(item))
            except (KeyError, ValueError, TypeError) as exc:
                raise CliError(f"{source}: results[{index}] is not an account-region outcome ({exc})") from exc
        # The summary the workflow wrote wins (it may carry extra keys); recount only when it is absent.
        summary = Summary.of(outcomes)
        written = data.get("summary")
        if isinstance(written, dict):
            extra = {k: v for k, v in written.items() if k not in summary.to_dict()}
            summary = Summary(
                total=int(written.get("total", summary.total)),
                byStatus=dict(written.get("byStatus", summary.byStatus)),
                verified=int(written.get("verified", summary.verified)),
                pending=int(written.get("pending", summary.pending)),
                needsAttention=int(written.get("needsAttention", summary.needsAttention)),
                extra=extra,
            )
        return cls(outcomes=tuple(outcomes), summary=summary, raw=data)

    @classmethod
    def from_outcomes(cls, outcomes: Iterable[Outcome], **meta: Any) -> Report:
        """A report built from outcome records (e.g. read while an execution is still running)."""
        items = tuple(sorted(outcomes, key=lambda o: (o.accountId, o.region)))
        summary = Summary.of(list(items))
        raw: dict[str, Any] = dict(meta)
        raw.update(summary=summary.to_dict(), results=[o.to_dict() for o in items])
        return cls(outcomes=items, summary=summary, raw=raw)

    @property
    def mode(self) -> Mode:
        """The mode of the run (from the document, else from its outcomes)."""
        value = self.raw.get("mode")
        if isinstance(value, str) and value in {m.value for m in Mode}:
            return Mode(value)
        return self.outcomes[0].mode if self.outcomes else Mode.ROLLOUT

    def to_dict(self) -> dict[str, Any]:
        """The document, as the workflow wrote it."""
        return self.raw


@dataclass(frozen=True)
class OutcomeGroup:
    """Outcomes with the same status and the same action to take."""

    status: Status
    pending: bool
    needs_attention: bool
    action: str
    outcomes: tuple[Outcome, ...]

    @property
    def title(self) -> str:
        """``CREATED`` or ``CREATED, marker PENDING``."""
        return f"{self.status}, marker PENDING" if self.pending else str(self.status)


def group_outcomes(outcomes: Iterable[Outcome]) -> list[OutcomeGroup]:
    """Group by status (and pending marker), attention first, in :data:`STATUS_ORDER`; rows by account, region."""
    groups: dict[tuple[Status, bool], list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault((outcome.status, outcome.verification is Verification.PENDING), []).append(outcome)

    def order(key: tuple[Status, bool]) -> tuple[int, int, int]:
        items = groups[key]
        attention = any(o.needs_attention for o in items)
        rank = STATUS_ORDER.index(key[0]) if key[0] in STATUS_ORDER else len(STATUS_ORDER)
        return (0 if attention else 1, rank, 0 if key[1] else 1)

    result = []
    for key in sorted(groups, key=order):
        items = sorted(groups[key], key=lambda o: (o.accountId, o.region))
        result.append(
            OutcomeGroup(
                status=key[0],
                pending=key[1],
                needs_attention=any(o.needs_attention for o in items),
                action=items[0].action,
                outcomes=tuple(items),
            )
        )
    return result


def summary_line(summary: Summary) -> str:
    """``12 account-regions: 9 CREATED, 2 CONFLICT, 1 FAILED; 9 verified, 0 pending; 3 need attention``."""
    counts = ", ".join(f"{count} {status}" for status, count in _ordered_counts(summary.byStatus))
    attention = f"{summary.needsAttention} need{'s' if summary.needsAttention == 1 else ''} attention"
    return (
        f"{summary.total} account-region{'s' if summary.total != 1 else ''}: {counts or 'none'}; "
        f"{summary.verified} verified, {summary.pending} pending; {attention}"
    )


def report_notes(report: Report) -> list[str]:
    """What the report says of how it was built, when that is not the usual way (the Map's result files not
    written: the outcomes came from the batches' records).

    >>> note = {"written": False, "detail": "The Distributed Map's result files were not written."}
    >>> report_notes(Report.from_dict({"results": [], "mapResultFiles": note}))
    ["The Distributed Map's result files were not written."]
    >>> report_notes(Report.from_dict({"results": []}))
    []
    """
    note = report.raw.get("mapResultFiles")
    if isinstance(note, dict) and note.get("written") is False:
        return [
            str(note.get("detail") or f"The Distributed Map's result files were not written ({note.get('error')}).")
        ]
    return []


def _ordered_counts(by_status: dict[str, int]) -> list[tuple[str, int]]:
    order = {str(status): index for index, status in enumerate(STATUS_ORDER)}
    return sorted(by_status.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


def _existing(outcome: Outcome) -> str:
    """What is in the way, in one short phrase (``name -> s3://bucket/prefix``)."""
    syncs = outcome.existingSync
    if not syncs:
        return ""
    items = syncs if isinstance(syncs, list) else [syncs]
    parts = []
    for sync in items:
        name = sync.get("name") or sync.get("SyncName") or "?"
        bucket = sync.get("bucket") or sync.get("BucketName")
        prefix = sync.get("prefix") or sync.get("Prefix")
        parts.append(f"{name} -> s3://{bucket}/{prefix or ''}" if bucket else str(name))
    return "; ".join(parts)


def _account_rows(group: OutcomeGroup) -> list[tuple[str, str, str, str, str]]:
    """One table row per account (and marker state) with its regions listed: an organization of hundreds of
    accounts in several regions stays readable; JSON, CSV and Markdown keep one row per account-region."""
    rows: dict[tuple[str, str, str, str], list[str]] = {}
    for o in group.outcomes:
        rows.setdefault((o.accountId, o.accountName, o.ouPath, str(o.verification)), []).append(o.region)
    return [(account, name, ou, ", ".join(regions), marker) for (account, name, ou, marker), regions in rows.items()]


def _details(group: OutcomeGroup) -> list[tuple[str, str]]:
    """(who, detail) lines of a group: one per distinct detail, naming the account-regions that share it
    (``all 4 account-regions`` when every row of the group does), so a detail repeated on many rows is printed once."""
    merged: dict[str, dict[str, list[str]]] = {}
    for o in group.outcomes:
        detail = o.detail or _existing(o)
        if detail:
            merged.setdefault(detail, {}).setdefault(o.accountId, []).append(o.region)
    if len(merged) == 1 and len(group.outcomes) > 1:
        ((detail, accounts),) = merged.items()
        if sum(len(regions) for regions in accounts.values()) == len(group.outcomes):
            return [(f"all {len(group.outcomes)} account-regions", detail)]
    return [
        (", ".join(f"{account} {', '.join(regions)}" for account, regions in accounts.items()), detail)
        for detail, accounts in merged.items()
    ]


def render_table(report: Report, *, title: str | None = None) -> RenderableType:
    """The report for a terminal: a summary line, then per group a table, the details and the action to take.

    Details go under the table rather than in a column: they are sentences (AWS errors, the syncs in the way)
    and a column would fold them into a narrow strip.
    """
    parts: list[RenderableType] = []
    if title:
        parts.append(Text(title, style="bold"))
    parts.append(Text(summary_line(report.summary)))
    parts += [Text.assemble(("Note: ", "bold yellow"), note) for note in report_notes(report)]
    for group in group_outcomes(report.outcomes):
        style = "yellow" if group.pending else STATUS_STYLE.get(group.status, "")
        table = Table(
            title=Text(f"{group.title} ({len(group.outcomes)})", style=f"bold {style}".strip()),
            title_justify="left",
            show_edge=False,
            pad_edge=False,
            expand=False,
        )
        for column in ("Account", "Name", "OU", "Regions", "Marker"):
            # IDs and markers never wrap; names, OU paths and region lists wrap rather than lose their ends.
            table.add_column(column, no_wrap=column in {"Account", "Marker"}, overflow="fold")
        # (print_unbroken widens the render so that no name or OU path is folded either.)
        for account, name, ou_path, regions, marker in _account_rows(group):
            table.add_row(account, name, ou_path, regions, marker)
        parts += [Text(""), table]
        # A detail only helps where someone must act or the status alone does not say why (SKIPPED, NOT_OURS):
        # "Created org-inventory writing to ..." on every CREATED row would bury the rows that matter.
        if group.needs_attention or group.status not in QUIET_STATUSES:
            for who, detail in _details(group):
                parts.append(Padding(Text.assemble((who, "bold"), ": ", detail), (0, 0, 0, 2)))
        if group.needs_attention:
            parts.append(Text.assemble(("Action: ", f"bold {style}".strip()), group.action))
    return Group(*parts)


def print_unbroken(console: Console, renderable: RenderableType) -> None:
    """Print ``renderable`` at least as wide as its longest identifier, so none is ever broken.

    Rich wraps text to the console's width (80 columns when stdout is a pipe) and folds a word longer than that,
    cutting an execution ARN or a role ARN in two. Widening the render to the renderable's minimum width (its
    longest word, its unbreakable columns) keeps every identifier whole: a line longer than the terminal is then
    wrapped by the terminal alone, and copying or grepping it still finds the identifier.

    >>> console = Console(width=40, file=io.StringIO(), color_system=None)
    >>> arn = "arn:aws:states:us-east-1:300000000001:execution:orgsync:demo-1"
    >>> print_unbroken(console, Text(f"orgsync demo: {arn}"))
    >>> arn in console.file.getvalue()
    True
    """
    needed = Measurement.get(console, console.options.update_width(100_000), renderable).minimum
    width = console.width
    console.width = max(width, needed)  # console.print(width=...) can narrow the render, never widen it
    try:
        console.print(renderable)
    finally:
        console.width = width


def render_text(report: Report, *, width: int = 120, title: str | None = None) -> str:
    """:func:`render_table` as plain text (no colour), for files and tests."""
    console = Console(width=width, file=io.StringIO(), color_system=None, force_terminal=False)
    console.print(render_table(report, title=title))
    output = console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue()


def render_json(report: Report) -> str:
    """The report document as indented JSON (one document, newline-terminated)."""
    return json.dumps(report.to_dict(), indent=2, default=str) + "\n"


def render_csv(report: Report) -> str:
    """One row per account-region, with the action; ``existingSync`` as JSON."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for group in group_outcomes(report.outcomes):
        for o in group.outcomes:
            data = o.to_dict()
            row = {column: data.get(column, "") for column in CSV_COLUMNS}
            row["existingSync"] = json.dumps(o.existingSync) if o.existingSync is not None else ""
            row["needsAttention"] = "true" if o.needs_attention else "false"
            writer.writerow(row)
    return buffer.getvalue()


def _md(value: str) -> str:
    """A Markdown table cell: pipes escaped, newlines flattened."""
    return value.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report, *, title: str = "orgsync report") -> str:
    """The report as Markdown: summary counts, then one section per group with its action."""
    lines = [f"# {title}", ""]
    for key in ("executionName", "executionArn", "mode", "startedAt", "finishedAt", "location"):
        if key in report.raw and report.raw[key] not in (None, ""):
            lines.append(f"- **{key}**: `{report.raw[key]}`")
    lines.append(f"- **summary**: {summary_line(report.summary)}")
    lines += [f"- **note**: {_md(note)}" for note in report_notes(report)]
    lines += ["", "| status | count |", "| --- | ---: |"]
    lines += [f"| {status} | {count} |" for status, count in _ordered_counts(report.summary.byStatus)]
    for group in group_outcomes(report.outcomes):
        lines += ["", f"## {group.title} ({len(group.outcomes)})", ""]
        if group.needs_attention:
            lines += [f"**Action:** {_md(group.action)}", ""]
        lines += ["| account | name | OU | region | marker | detail |", "| --- | --- | --- | --- | --- | --- |"]
        for o in group.outcomes:
            detail = o.detail or _existing(o)
            cells = [o.accountId, o.accountName, o.ouPath, o.region, str(o.verification), detail]
            lines.append("| " + " | ".join(_md(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


FORMATS = ("table", "json", "csv", "markdown")


def render(report: Report, fmt: str, *, width: int = 120) -> str:
    """The report in ``fmt`` (one of :data:`FORMATS`) as text."""
    if fmt == "json":
        return render_json(report)
    if fmt == "csv":
        return render_csv(report)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "table":
        return render_text(report, width=width)
    raise CliError(f"unknown report format {fmt!r}: use one of {', '.join(FORMATS)}")
