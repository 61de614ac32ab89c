"""Orphan artifact folders are swept by liveness, not age: a writer killed at any point (SIGKILL)
leaves nothing after the next start, and a live concurrent writer's folder survives the sweep,
however old it looks (``unlearn_core/artifact_lock.py``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from unlearn_core.store.db import RunStore
from unlearn_core.store.lock import lock_path, read_owner

ROOT = Path(__file__).resolve().parents[2]

# a writer that stops in the middle of writing its artifacts (one file on disk) and waits
WRITER = """
import sys, time
from types import SimpleNamespace
from unlearn_core.store.db import RunStore

class Run:
    result = SimpleNamespace(to_dict=lambda: {})

def writing(self, run, folder):
    folder.mkdir(parents=True)
    (folder / "baseline.safetensors").write_bytes(b"x" * 100)
    print(folder.name, flush=True)
    time.sleep(600)

RunStore._write_artifacts = writing
RunStore(data_dir=sys.argv[1]).record(Run())
"""

# a writer that holds its lock but dies before its folder exists
EARLY = """
import sys, time
from pathlib import Path
from unlearn_core.store.lock import WriterLock

with WriterLock(Path(sys.argv[1]), "0" * 32):
    print("locked", flush=True)
    time.sleep(600)
"""


def _start(code: str, arg: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code, str(arg)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline().strip()
    if not line:
        proc.kill()
        pytest.fail(f"the writer did not start: {proc.stderr.read()}")
    return proc, line


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_killed_writer_is_swept_and_live_writer_survives(tmp_path):
    RunStore(data_dir=tmp_path)  # the database exists before the writer starts
    proc, name = _start(WRITER, tmp_path)
    try:
        root = tmp_path / "artifacts"
        folder = root / name
        run_id = name.removeprefix(".tmp-")
        assert name.startswith(".tmp-") and folder.is_dir()
        owner = read_owner(lock_path(root, run_id))
        assert owner["host"] == socket.gethostname() and owner["pid"] == proc.pid
        assert abs(owner["started"] - time.time()) < 600
        hour_ago = time.time() - 3600  # old by any age rule: only liveness keeps it
        os.utime(folder, (hour_ago, hour_ago))
        store = RunStore(data_dir=tmp_path)  # a concurrent start sweeps
        assert folder.is_dir() and (folder / "baseline.safetensors").exists()
        assert store.cleanup_orphans(min_age_s=0) == []
        assert folder.is_dir()
    finally:
        _kill(proc)
    assert folder.is_dir()  # killed mid-write: the folder is left behind ...
    RunStore(data_dir=tmp_path)  # ... until the next start
    assert not folder.exists()
    assert not lock_path(root, run_id).exists()
    assert sorted(p.name for p in root.iterdir()) == []


# a writer that has renamed its folder into place and not yet committed (the real record path)
RENAMED = """
import os, pickle, sys, time
from pathlib import Path
from unlearn_core.store import db as st

run = pickle.loads(Path(sys.argv[1]).joinpath("run.pickle").read_bytes())
real = os.replace

def replace_then_wait(src, dst):
    real(src, dst)
    print(Path(dst).name, flush=True)
    time.sleep(600)

st.os.replace = replace_then_wait
st.RunStore(data_dir=sys.argv[1]).record(run)
"""


def test_writer_killed_between_rename_and_commit_is_swept(tmp_path, small_run):
    import pickle

    (tmp_path / "run.pickle").write_bytes(pickle.dumps(small_run))
    RunStore(data_dir=tmp_path)
    proc, name = _start(RENAMED, tmp_path)
    folder = tmp_path / "artifacts" / name
    try:
        assert len(name) == 32 and (folder / "finetune.safetensors").exists()
        store = RunStore(data_dir=tmp_path)  # a live writer: its renamed folder stays
        assert folder.is_dir() and store.list_runs() == []
    finally:
        _kill(proc)
    store = RunStore(data_dir=tmp_path)
    assert store.list_runs() == [] and not folder.exists()
    assert list(store.artifact_root.iterdir()) == []


def test_writer_killed_before_its_folder_leaves_no_lock(tmp_path):
    root = RunStore(data_dir=tmp_path).artifact_root
    proc, _ = _start(EARLY, root)
    try:
        RunStore(data_dir=tmp_path)
        assert lock_path(root, "0" * 32).exists()  # held: kept
    finally:
        _kill(proc)
    RunStore(data_dir=tmp_path)
    assert list(root.iterdir()) == []


def test_a_finished_record_keeps_its_folder_and_leaves_no_lock(tmp_path, small_run):
    store = RunStore(data_dir=tmp_path)
    run_id = store.record(small_run)
    assert not lock_path(store.artifact_root, run_id).exists()
    hour_ago = time.time() - 3600
    os.utime(store.artifact_root / run_id, (hour_ago, hour_ago))
    assert store.cleanup_orphans(min_age_s=0) == []
    assert store.check(run_id).ok


def test_an_unlocked_folder_of_an_earlier_release_keeps_the_age_rule(tmp_path):
    store = RunStore(data_dir=tmp_path)
    old = store.artifact_root / f".tmp-{'a' * 32}"
    young = store.artifact_root / f".tmp-{'b' * 32}"
    for folder in (old, young):
        folder.mkdir()
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    assert store.cleanup_orphans() == [old.name]
    assert young.is_dir()


def test_a_lock_written_by_another_host_falls_back_to_age(tmp_path):
    store = RunStore(data_dir=tmp_path)
    run_id = "c" * 32
    folder = store.artifact_root / f".tmp-{run_id}"
    folder.mkdir()
    lock_path(store.artifact_root, run_id).write_text(
        '{"host": "another-host.invalid", "pid": 1, "started": 0}')
    assert store.cleanup_orphans() == []  # young, liveness unknown here: kept
    hour_ago = time.time() - 3600
    os.utime(folder, (hour_ago, hour_ago))
    assert store.cleanup_orphans() == [folder.name]
