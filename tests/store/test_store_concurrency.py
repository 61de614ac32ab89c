"""Four processes audit into one fresh database at the same moment (SQLite and PostgreSQL):
the schema is created once despite the race, and every record is present and complete.

Each process runs the real ``audit`` command (store opened before the audit, the run recorded
after it); the computation itself is the session's small audit, handed over pickled, so that the
test measures the store and not the training (which on a loaded machine takes minutes)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

from tests.store.test_store_pg_server import pg_server, store_url  # noqa: F401
from unlearn_core.store.db import RunStore
from unlearn_core.store.schema import schema_history

ROOT = Path(__file__).resolve().parents[2]
N_PROCESSES, AUDITS_EACH = 4, 2

WORKER = """
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
import pickle
from unlearn_core.cli import main as cli  # imports done before the barrier
run = pickle.loads(Path({run_pickle!r}).read_bytes())
cli.run_audit = lambda cfg, progress=None, **kw: run  # the computation, precomputed
barrier, me, n = Path({barrier!r}), int(sys.argv[1]), int(sys.argv[2])
(barrier / f"ready-{{me}}").touch()
deadline = time.time() + 120
while len(list(barrier.glob("ready-*"))) < n and time.time() < deadline:
    time.sleep(0.01)
codes = []
for k in range({audits}):
    codes.append(cli.main(["audit", "--dataset", "wine", "--model", "logreg", "--forget", "class:2",
                       "--method", "finetune", "--epochs", "2", "--seed", str(10 * me + k),
                       "--quiet", "--db", {url!r}, "--data-dir", {data!r},
                       "--project", "race"]))
sys.exit(max(codes))
"""


def test_four_processes_audit_into_one_database_at_once(store_url, tmp_path,  # noqa: F811
                                                       small_run):
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    data = tmp_path / "data"
    run_pickle = tmp_path / "run.pickle"
    run_pickle.write_bytes(pickle.dumps(small_run))
    code = WORKER.format(root=str(ROOT), barrier=str(barrier), audits=AUDITS_EACH,
                         url=store_url, data=str(data), run_pickle=str(run_pickle))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(i), str(N_PROCESSES)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(N_PROCESSES)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
        assert out.count("recorded run") == AUDITS_EACH
    store = RunStore(store_url, data, project="race")
    assert [v for v, _, _ in schema_history(store.engine)] == [2]  # created exactly once
    runs = store.list_runs()
    assert len(runs) == N_PROCESSES * AUDITS_EACH
    assert len({r.id for r in runs}) == N_PROCESSES * AUDITS_EACH
    for r in runs:  # none half-written: result, metrics and every artifact intact
        assert store.load(r.id).data["dataset_name"] == "wine"
        assert {m for _, m, _, _ in store.metrics([r.id])} >= {"baseline", "retrain", "finetune"}
        check = store.check(r.id)
        assert check.ok, check.differences
        assert len(store.artifacts(r.id)) == len(small_run.models) * 2 + 1  # + scores
    assert not [p for p in store.artifact_root.iterdir() if p.name.startswith(".tmp-")]
