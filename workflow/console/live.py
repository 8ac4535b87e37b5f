"""The live progress view: a bar over account-regions and counts by status, redrawn as items finish.

The view knows nothing about where progress comes from: :func:`follow` calls a ``poll`` function that returns
a :class:`Snapshot` (built from outcome records on the local engine, or from an execution's history and map
run on AWS) until the snapshot says the execution finished. It draws on stderr so ``--json`` keeps stdout to
the report alone; on a console that is not a terminal rich draws only the final state, once.

Example::

    >>> import io
    >>> from rich.console import Console
    >>> snaps = iter([Snapshot(total=4, done=1, by_status={"CREATED": 1}),
    ...               Snapshot(total=4, done=4, by_status={"CREATED": 3, "CONFLICT": 1}, finished=True)])
    >>> console = Console(file=io.StringIO(), width=100, force_terminal=False)
    >>> last = follow(lambda: next(snaps), console, interval=0)
    >>> last.done, "CONFLICT 1" in console.file.getvalue()
    (4, True)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from lambdas.errors import InvalidInput
from lambdas.models import Mode, Status
from lambdas.modes import spec_of
from lambdas.statuses import STATUS_ORDER
from workflow.console.report import STATUS_STYLE


@dataclass(frozen=True)
class Snapshot:
    """Where an execution stands."""

    total: int | None
    done: int
    by_status: dict[str, int] = field(default_factory=dict)
    pending: int = 0
    retries: int = 0
    phase: str = ""
    finished: bool = False
    recent_errors: tuple[str, ...] = ()
    mode: Mode = Mode.ROLLOUT
    #: The execution's error once it failed (``InvalidInput``, ``RolloutIncomplete``, ...).
    error: str | None = None

    @property
    def rejected(self) -> bool:
        """The execution refused its input: the CLI says so in one line, so the view leaves no trace."""
        return self.error == InvalidInput.__name__

    @property
    def needs_attention(self) -> int:
        attention = {str(s) for s in spec_of(self.mode).attention}
        return sum(count for status, count in self.by_status.items() if status in attention) + self.pending


def counts_text(snapshot: Snapshot) -> Text:
    """``CREATED 9  CONFLICT 2  FAILED 1 · 3 need attention · 2 retries``, coloured by status."""
    text = Text()
    order = {str(status): index for index, status in enumerate(STATUS_ORDER)}
    for status, count in sorted(snapshot.by_status.items(), key=lambda kv: order.get(kv[0], 99)):
        style = STATUS_STYLE.get(Status(status), "") if status in Status.__members__ else ""
        text.append(f"{status} {count}", style=style)
        text.append("  ")
    if not snapshot.by_status:
        text.append("no account-region finished yet  ", style="dim")
    attention = snapshot.needs_attention
    text.append(f"· {attention} need{'s' if attention == 1 else ''} attention", style="red" if attention else "green")
    if snapshot.pending:
        text.append(f" · {snapshot.pending} marker pending", style="yellow")
    if snapshot.retries:
        text.append(f" · {snapshot.retries} retr{'y' if snapshot.retries == 1 else 'ies'}", style="cyan")
    return text


class _View(Progress):
    """A progress bar with the status counts and the latest errors under it."""

    snapshot: Snapshot | None = None

    def stop(self) -> None:
        # rich ends a non-interactive run with an empty line, even when the view was made transient.
        if self.live.transient:
            self.live.stop()
            return
        super().stop()

    def get_renderables(self) -> Iterable[RenderableType]:
        renderables: list[RenderableType] = [self.make_tasks_table(self.tasks)]
        if self.snapshot is not None:
            renderables.append(counts_text(self.snapshot))
            for line in self.snapshot.recent_errors[-3:]:
                renderables.append(Text(f"  {line}", style="dim red", overflow="ellipsis", no_wrap=True))
        yield Group(*renderables)


def follow(
    poll: Callable[[], Snapshot],
    console: Console,
    *,
    interval: float = 0.25,
    description: str = "account-regions",
    sleep: Callable[[float], None] = time.sleep,
) -> Snapshot:
    """Redraw the view from ``poll()`` every ``interval`` seconds until a snapshot is finished; returns it."""
    view = _View(
        SpinnerColumn(finished_text="[green]done"),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[dim]{task.fields[phase]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        auto_refresh=False,
        # Not redirecting: nothing prints during the view (the report follows it), and the local engine's Lambdas
        # capture their own output on worker threads (workflow.local.lambda_runtime.captured_stdout).
        redirect_stdout=False,
        redirect_stderr=False,
    )
    task = view.add_task(description, total=None, phase="starting")
    with view:
        while True:
            snapshot = poll()
            view.snapshot = snapshot
            view.update(task, total=snapshot.total, completed=snapshot.done, phase=snapshot.phase)
            if snapshot.finished:
                if snapshot.rejected:
                    view.live.transient = True  # erased on a terminal, never printed elsewhere
                if snapshot.total is None:
                    view.update(task, total=snapshot.done, completed=snapshot.done)
                view.stop_task(task)
                view.refresh()
                return snapshot
            view.refresh()
            sleep(interval)
