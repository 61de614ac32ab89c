"""The run store with a damaged file, without a file, and with results an earlier failure kept
(issue 22): a damaged SQLite file is one line naming it, before any audit; listing never
creates a database; a kept result is recorded at the next open, once."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

import unlearn_core.cli.main as cli
from unlearn_core.cli.main import main
from unlearn_core.errors import ConfigError
from unlearn_core.store import unrecorded
from unlearn_core.store.db import RunStore

PAGE = 4096  # SQLite's default page size


def _junk(path: Path, start: float, stop: float) -> None:
    """Overwrite the pages between the fractions ``start`` and ``stop`` of the file with junk
    (page 0, the header, is never touched unless ``start`` is 0)."""
    data = bytearray(path.read_bytes())
    pages = len(data) // PAGE
    for page in range(int(start * pages), max(int(stop * pages), int(start * pages) + 1)):
        data[page * PAGE:(page + 1) * PAGE] = bytes((page * 7 + i) % 251 for i in range(PAGE))
    path.write_bytes(bytes(data))


@pytest.fixture
def recorded(tmp_path, small_run) -> Path:
    RunStore(data_dir=tmp_path).record(small_run)
    return tmp_path


def _no_audit(monkeypatch) -> None:
    def refused(*a, **k):
        raise AssertionError("the audit started although the store is damaged")

    monkeypatch.setattr(cli, "run_audit", refused)


@pytest.mark.parametrize("start,stop", [(0.0, 0.01), (0.3, 0.6), (0.8, 1.0)],
                         ids=["header", "middle", "tail"])
def test_a_damaged_store_is_one_line_naming_its_file(recorded, capsys, monkeypatch, start,
                                                     stop):
    db = recorded / "runs.sqlite"
    _junk(db, start, stop)
    assert main(["runs", "list", "--data-dir", str(recorded)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: '{db.resolve()}' is not a run database, or it is damaged (")
    assert "\n" not in err
    _no_audit(monkeypatch)  # an audit into it is refused before any work: nothing to lose
    assert main(["audit", "--dataset", "wine", "--model", "logreg", "--forget", "class:1",
                 "--quiet", "--data-dir", str(recorded)]) == 2
    assert "is not a run database, or it is damaged" in capsys.readouterr().err


def test_an_intact_store_still_opens_and_lists(recorded, capsys):
    assert main(["runs", "list", "--data-dir", str(recorded)]) == 0
    assert "wine" in capsys.readouterr().out


def test_listing_never_creates_a_database(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("UNLEARN_DATA_DIR", raising=False)
    monkeypatch.delenv("UNLEARN_DB_URL", raising=False)
    for action in (["list"], ["projects"]):
        assert main(["runs", *action]) == 0
        out = capsys.readouterr().out.strip()
        assert out == f"no runs recorded in {tmp_path.resolve() / 'runs' / 'runs.sqlite'}"
    assert main(["runs", "show", "abc"]) == 2
    assert "no run database at" in capsys.readouterr().err
    other = tmp_path / "elsewhere" / "runs.sqlite"
    assert main(["runs", "list", "--db", f"sqlite:///{other}"]) == 0
    assert list(tmp_path.iterdir()) == []  # no ./runs, no folder for --db either


def _fail_once(monkeypatch) -> list:
    """``RunStore.record`` raises a full disk once, then records as usual."""
    real, calls = RunStore.record, []

    def record(self, run, project=None, **kw):
        calls.append(project)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real(self, run, project=project, **kw)

    monkeypatch.setattr(RunStore, "record", record)
    return calls


def test_a_kept_result_is_recorded_at_the_next_open(tmp_path, capsys, monkeypatch, small_run):
    monkeypatch.setattr(cli, "run_audit", lambda *a, **k: small_run)
    _fail_once(monkeypatch)
    args = ["audit", "--dataset", "wine", "--model", "mlp", "--forget", "class:1", "--quiet",
            "--data-dir", str(tmp_path), "--project", "team a"]
    assert main(args) == 1
    err = capsys.readouterr().err
    kept = Path(err.split("its result is kept in ", 1)[1].split()[0])
    assert kept.parent == tmp_path / "unrecorded" and kept.exists()
    assert main(["runs", "list", "--data-dir", str(tmp_path), "--project", "team a"]) == 0
    captured = capsys.readouterr()
    assert f"note: recorded the result kept in {kept}" in captured.err
    assert "wine" in captured.out  # listed in the project it was meant for
    assert list((tmp_path / "unrecorded").iterdir()) == []  # swept: nothing left behind
    store = RunStore(data_dir=tmp_path, project="team a")
    [run] = store.list_runs()
    assert store.get(run.id).forget_fingerprint == small_run.result.forget_fingerprint
    assert store.recovered == []  # recorded once


def test_kept_results_for_another_database_or_unreadable_stay(tmp_path, small_run):
    for_other = unrecorded.keep(small_run.result, tmp_path, "postgresql://u@h/x", "default")
    broken = tmp_path / "unrecorded" / "result-20250101T000000Z-abcdef.json"
    broken.write_text('{"config": {"dataset": "wi')  # truncated by an earlier release
    store = RunStore(data_dir=tmp_path)
    assert store.recovered == [] and store.list_runs() == []
    assert for_other.exists() and broken.exists()
    assert RunStore(data_dir=tmp_path, cleanup=False).recovered == []


def test_two_stores_opening_at_once_record_a_kept_result_once(tmp_path, small_run):
    url = RunStore(data_dir=tmp_path).url
    unrecorded.keep(small_run.result, tmp_path, url, "default")
    stores: list = []
    threads = [threading.Thread(target=lambda: stores.append(RunStore(data_dir=tmp_path)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(s.recovered) for s in stores) == 1
    assert len(RunStore(data_dir=tmp_path).list_runs()) == 1


def test_keep_leaves_no_partial_file_when_the_disk_is_full(tmp_path, small_run, monkeypatch):
    import unlearn_core.serialize as serialize

    real_open = open

    def full(path, mode="r", *a, **k):
        fh = real_open(path, mode, *a, **k)
        if "x" in mode and str(path).endswith(".part") and "target" not in str(path):
            fh.write(b"{")  # a first block lands, then the disk is full
            fh.close()
            raise OSError(28, "No space left on device")
        return fh

    monkeypatch.setattr(serialize, "open", full, raising=False)
    with pytest.raises(OSError):
        unrecorded.keep(small_run.result, tmp_path, "sqlite:///x", "default")
    assert list((tmp_path / "unrecorded").iterdir()) == []


def test_the_damage_message_is_a_config_error(recorded):
    _junk(recorded / "runs.sqlite", 0.3, 0.6)
    with pytest.raises(ConfigError, match="is not a run database, or it is damaged"):
        RunStore(data_dir=recorded)
    assert os.path.exists(recorded / "runs.sqlite")  # left where it is, for the user


def test_kept_result_sidecar_names_its_target(tmp_path, small_run):
    path = unrecorded.keep(small_run.result, tmp_path, "sqlite:////a/b.sqlite", "p1")
    assert json.loads(path.with_name(path.name + ".target").read_text()) == {
        "url": "sqlite:////a/b.sqlite", "project": "p1"}
