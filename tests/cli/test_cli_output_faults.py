"""The command line when its output is refused (issue 22): a closed pipe (``ids ... | head``)
ends the printing quietly, and a file-size limit (``ulimit -f``) during ``--report`` is one
line, exit 2, with no truncated report left behind."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

from unlearn_core.cli.streams import QuietStdout, guarded_output

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_ids_into_a_closed_pipe_ends_quietly():
    """As ``ids | head -0``: the reader is gone before the first line, so every write fails
    with EPIPE; no traceback, no "Exception ignored", exit 0."""
    proc = subprocess.Popen([sys.executable, "-m", "unlearn_core", "ids", "--dataset", "digits"],
                            cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert err == ""


def test_the_guard_drops_output_after_epipe_and_restores_the_stream():
    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    guard = QuietStdout(Closed())
    assert guard.write("12345\n") == 6 and guard.broken
    guard.flush()  # nothing raised once the reader is gone
    before, handler = sys.stdout, signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    try:
        with guarded_output():
            assert isinstance(sys.stdout, QuietStdout)
            assert signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN  # a limit: an OSError
        assert sys.stdout is before and signal.getsignal(signal.SIGXFSZ) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGXFSZ, handler)


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write past the limit raises instead


def test_a_file_size_limit_during_report_is_one_line_and_leaves_no_truncated_file(tmp_path):
    report = tmp_path / "rep"
    report.mkdir()
    (report / "report.json").write_text('{"earlier": "report"}')  # it stays whole
    done = subprocess.run(
        [sys.executable, "-m", "unlearn_core", "audit", "--dataset", "wine", "--model", "logreg",
         "--forget", "class:1", "--method", "finetune", "--epochs", "2", "--no-store",
         "--no-pdf", "--quiet", "--reference-seeds", "2", "--report", str(report)],
        cwd=tmp_path, env=_env(), preexec_fn=_limit_file_size, capture_output=True, text=True,
        timeout=600)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: cannot write the reports in '{report}': File too large "
                      "(nothing was written)"]
    assert json.loads((report / "report.json").read_text()) == {"earlier": "report"}
    assert sorted(p.name for p in report.iterdir()) == ["report.json"]  # no .part left
