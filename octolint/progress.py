"""A terminal progress display for image scans (rich, on stderr, only on a TTY).

An image's reference is input: it is escaped (octolint.escape) and not read as
rich markup, so ``[link=...]`` or an escape sequence in it is shown as text.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING

from octolint.escape import escape_line

if TYPE_CHECKING:
    from rich.progress import TaskID


class LayerProgress:
    """Counts layers per image as they are read or found in the cache."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("layers"),
            console=Console(stderr=True),
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> LayerProgress:
        self._progress.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.__exit__(kind, value, traceback)

    def update(self, reference: str, total: int, event: str) -> None:
        """One of reference's total layers was read ("read") or found in the cache ("cached")."""
        with self._lock:
            if reference not in self._tasks:
                self._tasks[reference] = self._progress.add_task(
                    escape_line(reference), total=total
                )
            self._progress.advance(self._tasks[reference])
