"""The command line's output when its reader or the file system says no: ``ids ... | head``
closes the pipe, ``ulimit -f`` caps file sizes.

A closed pipe ends the printing quietly and the command goes on with its work (an audit whose
table nobody reads is still recorded and reported); a file-size limit makes a write fail with
an ``OSError`` (which the writers turn into one line) instead of killing the process with
``SIGXFSZ`` halfway through a file.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
from pathlib import Path
from typing import Callable, Iterator, TextIO

from unlearn_core.errors import ConfigError, UnlearnError


class QuietStdout:
    """A text stream that forwards to ``stream`` until its reader goes away (``EPIPE``), then
    drops what is written; the descriptor is pointed at ``/dev/null`` so that the
    interpreter's last flush at exit does not complain either."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._divert()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._divert()

    def _divert(self) -> None:
        self.broken = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._stream.fileno())
            finally:
                os.close(devnull)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass  # not a real descriptor (captured output): nothing will flush it at exit

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def guarded_output() -> Iterator[QuietStdout]:
    """For one command: ``sys.stdout`` that a closed pipe cannot stop, and ``SIGXFSZ``
    ignored (a write past ``ulimit -f`` then raises ``OSError`` "File too large")."""
    previous = None
    if hasattr(signal, "SIGXFSZ"):
        try:
            previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        except ValueError:  # not the main thread: signals stay as they are
            previous = None
    stdout = sys.stdout
    guard = QuietStdout(stdout)
    sys.stdout = guard
    try:
        yield guard
    finally:
        guard.flush()
        sys.stdout = stdout
        if previous is not None:
            signal.signal(signal.SIGXFSZ, previous)


def reports_or_warn(write: Callable[[], dict], folder: str | Path) -> dict[str, Path]:
    """The report files ``write`` wrote; when only the PDF could not be printed (chromium
    missing or failing), one warning line on stderr and the JSON and HTML, which were written.
    A ``ConfigError`` (JSON and HTML not written: a full disk, ``ulimit -f``) passes through."""
    try:
        return write()
    except ConfigError:
        raise
    except UnlearnError as err:
        print(f"warning: {err}", file=sys.stderr)
        return {k: Path(folder) / f"report.{k}" for k in ("json", "html")}
