"""How many fine-tuning steps the relearning check should take: retrains against suppression.

Per setting and seed, the models are trained once (K retrains, the original, blind genuine
retrains with seeds the ensemble does not use, and the four adaptive forgeries), then the
``relearn`` check measures every model at each step count. A good count leaves the retrains
near zero (a model that never saw the class cannot learn it from ten samples in that many
steps) while suppression that a few steps undo comes back (a re-fitted head does not: the
probe is the check that sees it). Choose on the verdict
benchmark's tuning half (``bench_verdict.TUNING``), confirm on the other.

    python bench/bench_relearn_steps.py                               # digits cnn class 3, wine
    python bench/bench_relearn_steps.py --settings digits/mlp/class:1,7 --seeds 0 --steps 10 30
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_verdict as bv
import numpy as np
import torch

from unlearn_core.audit.run import AuditConfig, MethodSpec, run_audit
from unlearn_core.checks.base import CheckContext
from unlearn_core.checks.relearn import RelearnCheck
from unlearn_core.methods import register
from unlearn_core.report.table import format_table

FORGERIES = ["forge_forget_distill", "forge_calibrated_bias", "forge_calibrated_head",
             "forge_exact_suppression"]


def measure_setting(setting: str, seed: int, k: int, steps: list[int], genuine: int) -> list:
    """Rows (setting, seed, steps, retrains, genuine, original, each forgery) of relearn AUCs."""
    data_name, arch, forget = setting.split("/")
    name, dataset, recipe = bv.setting_data(data_name, seed)
    methods = [MethodSpec(bv.GENUINE[1], {"seed": 950_001 + 1000 * seed + i})
               for i in range(genuine)] + [MethodSpec(f) for f in FORGERIES]
    cfg = AuditConfig(dataset=name, model=arch, forget=forget, seed=seed, methods=methods,
                      executor="serial", train=recipe, extend_references=0, reference_seeds=k)
    run = run_audit(cfg, dataset=dataset, progress=None)
    models = run.models
    refs = [models[n] for n in models if n.startswith("retrain")]
    ctx = CheckContext(run.data, models["baseline"], refs, seed)
    rows = []
    for n_steps in steps:
        check = RelearnCheck()
        check.steps = n_steps
        ctx.cache.clear()
        t0 = time.process_time()
        fig = {n: check.measure(m, ctx).figure for n, m in models.items()
               if n in ("baseline", *FORGERIES) or n.startswith(("retrain", bv.GENUINE[1]))}
        per_model = (time.process_time() - t0) / len(fig)
        r = np.array([fig[n] for n in fig if n.startswith("retrain")])
        g = [fig[n] for n in fig if n.startswith(bv.GENUINE[1])]
        rows.append([setting, str(seed), str(n_steps),
                     f"{r.mean():.3f} ± {r.std(ddof=1):.3f} (max {r.max():.3f})",
                     " ".join(f"{v:.3f}" for v in g), f"{fig['baseline']:.3f}",
                     *(f"{fig[f]:.3f}" for f in FORGERIES), f"{per_model:.2f}"])
        print(" | ".join(rows[-1]), flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--settings", default="digits/cnn/class:3,wine/mlp/class:1",
                   help="comma-separated settings of bench_verdict (data[@n]/architecture/"
                   "forget; digits/mlp/class:1,7 is one)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--steps", type=int, nargs="+", default=[5, 10, 20, 30])
    p.add_argument("--reference-seeds", type=int, default=10)
    p.add_argument("--genuine", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(1)
    register(bv.BenchBlindRetrain)
    rows = []
    for setting in bv.split_settings(args.settings):
        for seed in args.seeds:
            rows += measure_setting(setting, seed, args.reference_seeds, args.steps,
                                    args.genuine)
    head = ["setting", "seed", "steps", f"retrains (K={args.reference_seeds})", "genuine",
            "original", *(f.replace("forge_", "") for f in FORGERIES), "CPU s/model"]
    print()
    print(format_table(head, rows))


if __name__ == "__main__":
    main()
