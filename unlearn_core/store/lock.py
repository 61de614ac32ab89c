"""Liveness of a run's artifact writer: an orphan folder is swept when its writer is gone, never
while its writer lives (no age guess).

A writer holds an exclusive ``fcntl.flock`` on ``<artifact root>/.lock-<run id>`` from before it
creates the run's folder until its record is committed (or its folder removed); the file says
who holds it (host, pid, start time), for people and for other hosts. The kernel drops the lock
when the process dies, however it dies (SIGKILL included), so the start-up sweep can tell:

- lock file present and held: a live writer on this host; its folder is left alone;
- lock file present and free (we take it without waiting): the writer is gone; holding the lock
  we look the run up again (a writer commits before it lets go, so a committed run is seen) and
  remove its folder and the lock file when there is no record;
- lock file written by another host: ``flock`` may not reach across a network file system, so
  that folder falls back to the age rule (``legacy_grace_s``);
- no lock file: a folder of an earlier release (or of a writer that finished): the age rule too.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import IO, Iterator, Optional

LOCK_PREFIX = ".lock-"


def lock_path(root: Path, run_id: str) -> Path:
    return root / f"{LOCK_PREFIX}{run_id}"


class WriterLock:
    """Held by the process writing a run's artifacts (a context manager)."""

    def __init__(self, root: Path, run_id: str) -> None:
        self.path = lock_path(root, run_id)
        self._f: Optional[IO[str]] = None

    def __enter__(self) -> "WriterLock":
        f = open(self.path, "a+")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            f.truncate(0)
            f.write(json.dumps({"host": socket.gethostname(), "pid": os.getpid(),
                                "started": time.time()}))
            f.flush()
        except BaseException:
            f.close()
            raise
        self._f = f
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # removed while held: a sweeper never sees a free, stale lock
        if self._f is not None:
            self._f.close()  # releases the lock
            self._f = None


def read_owner(path: Path) -> dict:
    """What a lock file says of its writer ({} when unreadable or empty)."""
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextlib.contextmanager
def claim(root: Path, run_id: str) -> Iterator[Optional[str]]:
    """Take a run's lock if its writer is gone. Yields ``"gone"`` (the lock is ours until the
    block ends: the writer is dead or finished), ``"alive"`` (held by a live writer on this
    host), ``"elsewhere"`` (written by another host: liveness unknown here) or ``None`` (no
    lock file)."""
    path = lock_path(root, run_id)
    try:
        f = open(path, "r+")
    except FileNotFoundError:
        yield None
        return
    try:
        owner = read_owner(path)
        if owner.get("host") not in (None, socket.gethostname()):
            yield "elsewhere"
            return
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                yield "alive"
                return
            raise
        yield "gone"
    finally:
        f.close()


def lock_files(root: Path) -> list[tuple[Path, str]]:
    """Every lock file under ``root`` with its run id."""
    return [(p, p.name[len(LOCK_PREFIX):]) for p in root.glob(f"{LOCK_PREFIX}*") if p.is_file()]
