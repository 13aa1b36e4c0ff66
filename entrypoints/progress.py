"""Signs of life for long runs (apply, replay, project, the demo): a progress bar with
the rate and the time left, on standard error, only when it is a terminal. Piped or
redirected output, and ``--quiet``, get nothing extra."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

Advance = Callable[[int], None]


class _Rate(ProgressColumn):
    """Items per second (rich's own speed column counts bytes)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None and task.elapsed:  # too few samples yet (one big batch): the average so far
            speed = task.completed / task.elapsed
        return Text("" if speed is None else f"{speed:,.0f} {self.unit}/s", style="progress.data.speed")


def wanted(quiet: bool = False, stream: IO[str] | None = None) -> bool:
    stream = stream or sys.stderr
    return not quiet and stream.isatty()


@contextmanager
def progress(description: str, total: int | None, *, unit: str, enabled: bool) -> Iterator[Advance]:
    """Yields ``advance(n)``; shows nothing unless ``enabled`` (see ``wanted``)."""
    if not enabled:
        yield lambda n: None
        return
    bar = Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), MofNCompleteColumn(), _Rate(unit),
        TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
        console=Console(file=sys.stderr), transient=False,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
