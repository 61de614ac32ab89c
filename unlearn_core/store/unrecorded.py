"""Results kept when recording failed (a full data folder, a database gone away), recorded at
the next store open: nothing a finished audit computed stays behind as a stray file.

``keep`` writes ``<data dir>/unrecorded/result-<time>-<hex>.json`` (the result JSON, written
whole or not at all) and beside it ``....json.target``, the database and project it was meant
for. ``record_kept`` (called when a store opens) records each kept result meant for that
database, in its project, and removes both files; a result meant for another database is left
for it. Each file is claimed with an ``flock`` first, so two processes opening the store at
once record it once. A kept result has no weights (they were in the failed process's memory):
its record holds the result and the per-sample scores, and ``runs show`` says what it lacks.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

from unlearn_core.audit.run import AuditResult
from unlearn_core.serialize import write_atomic

FOLDER = "unrecorded"
TARGET = ".target"  # suffix of the sidecar naming the database and project
PART_GRACE_S = 600.0  # a temporary file older than this is a killed writer's leftover


def keep(result: Any, data_dir: Path, url: str, project: str) -> Path:
    """Write the result JSON (and its target) under ``data_dir/unrecorded``; ``OSError`` when
    that folder cannot take it (the caller tries elsewhere)."""
    folder = Path(data_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"result-{stamp}-{uuid.uuid4().hex[:6]}.json"
    write_atomic(path.with_name(path.name + TARGET), json.dumps({"url": url,
                                                                  "project": project}))
    try:
        write_atomic(path, json.dumps(result.to_dict(), indent=1))
    except BaseException:
        path.with_name(path.name + TARGET).unlink(missing_ok=True)
        raise
    return path


@contextlib.contextmanager
def _claimed(path: Path) -> Iterator[bool]:
    """True while this process holds ``path``'s lock and the file is still the one at
    ``path`` (another process may have recorded and removed it meanwhile)."""
    try:
        fh = open(path, "rb")
    except OSError:
        yield False
        return
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False  # another process is recording it
            return
        try:
            same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
        except OSError:
            same = False
        yield same


def _target(path: Path) -> dict:
    try:
        data = json.loads(path.with_name(path.name + TARGET).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record_kept(store: Any) -> list[tuple[str, str]]:
    """Record every kept result meant for ``store`` (a ``RunStore``: its ``data_dir``, ``url``,
    ``project`` and ``record``) and remove its files; returns (file, run id) pairs. A file
    that cannot be read back as a result is left where it is; a killed writer's temporary
    files are swept. A store that cannot record (the failure that kept them) leaves them all
    for a later open."""
    folder = Path(store.data_dir) / FOLDER
    if not folder.is_dir():
        return []
    done = []
    now = time.time()
    for part in folder.glob(".result-*.part"):
        with contextlib.suppress(OSError):
            if now - part.stat().st_mtime > PART_GRACE_S:
                part.unlink()
    for path in sorted(folder.glob("result-*.json")):
        target = _target(path)
        if target.get("url") not in (None, store.url):
            continue  # meant for another database: left for it
        with _claimed(path) as mine:
            if not mine:
                continue
            try:
                result = AuditResult.from_dict(json.loads(path.read_text()))
            except Exception:  # truncated (an earlier release) or not a result: left alone
                continue
            try:
                run_id = store.record(SimpleNamespace(result=result, models={}),
                                      project=target.get("project") or None)
            except Exception:  # still cannot record: kept for the next open
                break
            path.with_name(path.name + TARGET).unlink(missing_ok=True)
            path.unlink(missing_ok=True)
        done.append((str(path), run_id))
    return done
