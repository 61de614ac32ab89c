"""Progress reporting without a UI dependency.

Long steps call ``progress(task, done, total)``; the command line turns that into a tqdm bar,
the app into ``st.progress``. ``None`` means "report nowhere".
"""

from __future__ import annotations

import sys
from typing import Callable, Optional

ProgressFn = Callable[[str, int, int], None]


def report(progress: Optional[ProgressFn], task: str, done: int, total: int) -> None:
    """Call ``progress`` if there is one."""
    if progress is not None:
        progress(task, done, total)


class TqdmProgress:
    """One tqdm bar per task on stderr, for the command line."""

    def __init__(self, disable: bool = False) -> None:
        self.disable = disable
        self._bar = None
        self._task: str | None = None

    def __call__(self, task: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if task != self._task:
            self.close()
            self._task = task
            self._bar = tqdm(total=total, desc=task, file=sys.stderr, leave=False,
                             disable=self.disable, dynamic_ncols=True)
        if self._bar is not None:
            self._bar.n = done
            self._bar.refresh()
            if done >= total:
                self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar = None
        self._task = None
