"""A terminal progress display for image scans (rich, on stderr, only on a TTY).

Two kinds of lines: layers read per image, and what octolint is waiting for
(a registry's answer, a retry's backoff). A wait is shown only once it has lasted
WAIT_SHOWN seconds: most answers come sooner, and a line that flashes for a few
milliseconds is noise. Code that waits says so with :func:`waiting`, which costs
nothing when no display is active (not a terminal, ``--quiet``, a library caller).

An image's reference is input, and so is a registry's host name: both are escaped
(octolint.escape) and not read as rich markup, so ``[link=...]`` or an escape
sequence in them is shown as text.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING

from octolint.escape import escape_line

if TYPE_CHECKING:
    from rich.progress import TaskID

WAIT_SHOWN = 1.0  # seconds a wait lasts before it is shown

# The active display's wait reporter: called with what is awaited, returns the
# function that ends the wait. None when nothing is displayed.
_display: Callable[[str], Callable[[], None]] | None = None


@contextmanager
def waiting(what: str) -> Iterator[None]:
    """Meanwhile, the display (if any) shows ``what`` once WAIT_SHOWN seconds passed."""
    display = _display
    if display is None:
        yield
        return
    done = display(what)
    try:
        yield
    finally:
        done()


class LayerProgress:
    """Counts layers per image as they are read or found in the cache, and shows waits."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TextColumn("{task.fields[detail]}", markup=False),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> LayerProgress:
        global _display
        self._progress.__enter__()
        _display = self.wait_started
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        global _display
        _display = None
        self._progress.__exit__(kind, value, traceback)

    def update(self, reference: str, total: int, event: str) -> None:
        """One of reference's total layers was read ("read") or found in the cache ("cached")."""
        with self._lock:
            if reference not in self._tasks:
                self._tasks[reference] = self._progress.add_task(
                    escape_line(reference), total=total, detail=f"0/{total} layers"
                )
                self._counts[reference] = 0
            self._counts[reference] += 1
            self._progress.update(self._tasks[reference], advance=1,
                                  detail=f"{self._counts[reference]}/{total} layers")  # fmt: skip

    def wait_started(self, what: str) -> Callable[[], None]:
        """Show ``what`` (a line with a pulsing bar) if the wait lasts WAIT_SHOWN seconds;
        the returned function ends the wait (and removes the line)."""
        wait = _Wait(self, what)
        wait.timer.start()
        return wait.over


class _Wait:
    """One wait: a timer that shows it, and its line once shown."""

    def __init__(self, owner: LayerProgress, what: str):
        self.owner = owner
        self.what = escape_line(what)
        self.task: TaskID | None = None
        self.ended = False
        self.timer = threading.Timer(WAIT_SHOWN, self.show)
        self.timer.daemon = True

    def show(self) -> None:
        with self.owner._lock:
            if not self.ended:
                self.task = self.owner._progress.add_task(self.what, total=None, detail="")

    def over(self) -> None:
        self.timer.cancel()
        with self.owner._lock:  # a show() under way either ran already or sees ``ended``
            self.ended = True
            if self.task is not None:
                self.owner._progress.remove_task(self.task)
