"""The run store records complete runs atomically and lists, shows and compares them."""

import json
import subprocess
import sys

import pytest

from unlearn_core.cli.main import main
from unlearn_core.store.db import RunStore, sha256_file


def test_record_and_read_back(tmp_path, small_run):
    store = RunStore(data_dir=tmp_path)
    run_id = store.record(small_run)
    back = store.get(run_id[:8])
    assert back.forget_fingerprint == small_run.result.forget_fingerprint
    assert back.methods[0].accuracy.forget == small_run.result.methods[0].accuracy.forget
    arts = {a.name: a for a in store.artifacts(run_id)}
    assert {"baseline.safetensors", "retrain.safetensors", "finetune.safetensors",
            "scores.npz"} <= set(arts)
    for a in arts.values():
        assert sha256_file(__import__("pathlib").Path(a.path)) == a.sha256
    [summary] = store.list_runs()
    assert summary.dataset == "wine" and summary.methods == "finetune,random_label"
    assert store.list_runs(method="finetune") and not store.list_runs(method="scrub")
    assert not store.list_runs(dataset="digits")
    rows = store.metrics([run_id])
    assert ("finetune", "forget_acc") in {(m, k) for _, m, k, _ in rows}


def test_crash_before_commit_leaves_nothing(tmp_path, small_run):
    store = RunStore(data_dir=tmp_path)
    with pytest.raises(RuntimeError):
        store.record(small_run, _fail_before_commit=True)
    assert store.list_runs() == []
    assert [p for p in store.artifact_root.iterdir()] == []


def test_killed_process_leaves_database_consistent(tmp_path):
    """A process killed in the middle of writing artifacts leaves no record; the orphan folder
    is swept."""
    code = f"""
import os, sys
sys.path.insert(0, {str(__import__('pathlib').Path(__file__).resolve().parents[2])!r})
from unlearn_core import AuditConfig, MethodSpec, run_audit
from unlearn_core.models import TrainConfig
from unlearn_core.store import db as st
run = run_audit(AuditConfig(dataset="wine", model="logreg", forget="random:0.1",
                train=TrainConfig(epochs=2), methods=[MethodSpec("finetune")]))
real = st.save_model
def dying(model, path):
    out = real(model, path)
    os._exit(9)  # killed after the first artifact is on disk
st.save_model = dying
st.RunStore(data_dir={str(tmp_path)!r}).record(run)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    store = RunStore(data_dir=tmp_path)  # opening sweeps: the writer is gone (no age wait)
    assert store.list_runs() == []
    assert list(store.artifact_root.iterdir()) == []


def test_cli_records_lists_shows_compares(tmp_path, capsys):
    common = ["--data-dir", str(tmp_path)]
    for seed in ("0", "1"):
        assert main(["audit", "--dataset", "wine", "--model", "logreg", "--forget", "class:2",
                     "--method", "finetune", "--epochs", "5", "--seed", seed, "--quiet",
                     *common]) == 0
    out = capsys.readouterr().out
    assert out.count("recorded run") == 2
    assert main(["runs", "list", *common]) == 0
    listing = capsys.readouterr().out
    ids = [line.split()[0] for line in listing.splitlines()[2:]]
    assert len(ids) == 2
    assert main(["runs", "show", ids[0], *common]) == 0
    assert "finetune" in capsys.readouterr().out
    assert main(["runs", "compare", *ids, *common]) == 0
    assert capsys.readouterr().out.count("finetune") == 2
    assert main(["runs", "show", "zzz", *common]) == 2
    assert "no run with id" in capsys.readouterr().err
    assert main(["audit", "--dataset", "wine", "--model", "logreg", "--no-store", "--epochs",
                 "2", "--forget", "class:2", "--quiet", *common]) == 0
    assert "recorded" not in capsys.readouterr().out
    assert json.loads(json.dumps(RunStore(data_dir=tmp_path).get(ids[0]).to_dict()))


def _audit_args(tmp_path, *extra):
    return ["audit", "--dataset", "wine", "--model", "logreg", "--forget", "class:2", "--method",
            "finetune", "--epochs", "2", "--quiet", "--data-dir", str(tmp_path), *extra]


def test_bad_database_fails_before_the_audit_in_one_line(tmp_path, capsys, monkeypatch):
    import unlearn_core.cli.main as cli

    def no_audit(*a, **k):
        raise AssertionError("the audit started although the store cannot be opened")

    monkeypatch.setattr(cli, "run_audit", no_audit)
    assert main(_audit_args(tmp_path, "--db", "notaurl")) == 2
    err = capsys.readouterr().err.strip()
    assert "'notaurl' is not a database URL" in err and "\n" not in err
    monkeypatch.setitem(sys.modules, "psycopg", None)  # the driver missing
    assert main(_audit_args(tmp_path, "--db", "postgresql://u:pw@127.0.0.1:1/x")) == 2
    err = capsys.readouterr().err.strip()
    assert "driver" in err and "not installed" in err and "pw" not in err and "\n" not in err


def test_storage_failure_after_the_audit_keeps_the_result(tmp_path, capsys, monkeypatch,
                                                          small_run):
    import unlearn_core.cli.main as cli
    from unlearn_core.audit.run import AuditResult

    monkeypatch.setattr(cli, "run_audit", lambda cfg, progress=None, **kw: small_run)

    def broken(self, run, project=None):
        raise OSError("disk full")

    monkeypatch.setattr(RunStore, "record", broken)
    assert main(_audit_args(tmp_path)) == 1
    err = capsys.readouterr().err
    assert "could not be recorded" in err and "disk full" in err
    [line] = [x for x in err.splitlines() if "could not be recorded" in x]
    kept = line.rsplit("kept in ", 1)[1]
    assert kept.startswith(str(tmp_path / "unrecorded"))
    data = json.loads(__import__("pathlib").Path(kept).read_text())
    assert AuditResult.from_dict(data).forget_fingerprint == small_run.result.forget_fingerprint
    out = tmp_path / "r.json"  # with --out, the result is already there: it says so
    assert main(_audit_args(tmp_path, "--out", str(out))) == 1
    assert f"kept in {out}" in capsys.readouterr().err and out.exists()


def test_runs_commands_scope_to_a_project(tmp_path, capsys, small_run):
    RunStore(data_dir=tmp_path, project="team a").record(small_run)
    other = RunStore(data_dir=tmp_path).record(small_run)
    assert main(["runs", "list", "--data-dir", str(tmp_path), "--project", "team a"]) == 0
    listing = capsys.readouterr().out
    assert "team a" in listing and other[:12] not in listing
    assert main(["runs", "show", other[:12], "--data-dir", str(tmp_path), "--project",
                 "team a"]) == 2
    assert "in project 'default'" in capsys.readouterr().err
    assert main(["runs", "projects", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "team a" in out and "default" in out
    assert main(["runs", "list", "--all-projects", "--data-dir", str(tmp_path)]) == 0
    assert other[:12] in capsys.readouterr().out
