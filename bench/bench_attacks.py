"""Shadow-model attacks on digits: LiRA and U-LiRA with 16 shadow models (wall time on this
machine), and shadow-training throughput per executor (serial, local process pool, Ray with 1
and 2 workers).

    python bench/bench_attacks.py [--shadows 16]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from unlearn_core import AuditConfig, MethodSpec, run_audit
from unlearn_core.attacks.shadows import make_jobs, run_jobs
from unlearn_core.attacks.stage import run_attacks
from unlearn_core.report.table import format_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shadows", type=int, default=16)
    args = parser.parse_args()
    run = run_audit(AuditConfig(dataset="digits", model="cnn", forget="random:0.1",
                                methods=[MethodSpec("finetune")]))
    rows = []
    for attack in ("lira", "ulira"):
        t0 = time.perf_counter()
        summaries, ul = run_attacks(run, [attack], args.shadows, "local")
        seconds = time.perf_counter() - t0
        if attack == "lira":
            figs = ", ".join(f"{s.model} AUC {s.auc:.3f}" for s in summaries
                             if s.attack == "lira-online")
        else:
            figs = ", ".join(f"{u.method} AUC {u.auc:.3f}" for u in ul)
        rows.append([attack, args.shadows, f"{seconds:.1f}", figs])
    print(format_table(["attack (digits, cnn, random 10%)", "shadows", "seconds", "result"],
                       rows))

    data, spec, recipe = run.data, run.context.spec, run.result.train_config
    pool = data.train
    jobs, _ = make_jobs(spec, recipe, pool.X, pool.y, np.arange(100), 8, seed=0)
    rows = []
    setups = [("serial", {}), ("local", {"workers": 1}), ("local", {"workers": 2})]
    try:
        import ray

        setups += [("ray", {"workers": 1}), ("ray", {"workers": 2})]
    except ImportError:
        ray = None
    for executor, kw in setups:
        if executor == "ray":
            ray.init(num_cpus=kw["workers"], include_dashboard=False, log_to_driver=False)
        t0 = time.perf_counter()
        run_jobs(jobs, executor, workers=kw.get("workers", 1))
        seconds = time.perf_counter() - t0
        if executor == "ray":
            ray.shutdown()
        rows.append([executor, kw.get("workers", 1), f"{seconds:.1f}",
                     f"{60 * len(jobs) / seconds:.1f}"])
    print()
    print(format_table(["executor", "workers", "seconds for 8 shadows", "shadows per minute"],
                       rows))


if __name__ == "__main__":
    main()
