"""What each looking-inside check costs per model, on digits and on digits28 (class 3 forgotten).

Per dataset, architecture and seed: the original is trained with the project's recipe, two
retrains from scratch on the retain set (the reference models the checks compare with), and
two forgeries (a -1e4 logit bias and a head-only fine-tune); then each check measures every one
of those five models in turn, timed. The first model of a check also pays its one-time setup
(the probe's plan and the original's features, the relearning plan, CKA's reference features;
the probe scores every retrain once for its paired error); "per model" is the total over the
five divided by five (what each model of an audit costs, setup amortised), "first" the first.
Printed as mean +- sd over the seeds, in CPU seconds of this process on one torch thread
(``time.process_time``: on a shared machine wall time measures the neighbours; ``--wall`` for
wall seconds):

    python bench/bench_inside_costs.py                        # digits and digits28, seeds 0 1 2
    python bench/bench_inside_costs.py --datasets digits --archs cnn mlp --seeds 0
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from unlearn_core.audit.data import AuditData, train_baseline
from unlearn_core.checks import CHECKS, CheckContext, available_checks
from unlearn_core.checks.weight_space import weight_space_evidence
from unlearn_core.data import load_builtin, make_splits
from unlearn_core.data.forget import resolve_forget
from unlearn_core.methods import UnlearnContext
from unlearn_core.methods.forgeries import forge
from unlearn_core.models import ModelSpec, build_model, default_train_config, train_epochs
from unlearn_core.report.table import format_table

INSIDE = ["probe", "relearn", "cka", "compression"]


def measure_costs(dataset: str, arch: str, seed: int, retrains: int = 2,
                  clock=time.process_time) -> dict[str, list]:
    """Seconds per model of each inside check (and the weight-space evidence) for one seed:
    {name: [first model, other models...]}, plus "train" (the original's training time)."""
    ds = load_builtin(dataset)
    splits = make_splits(ds, seed)
    fs = resolve_forget(ds, splits, "class:3", seed)
    data = AuditData(ds, splits, fs)
    recipe = default_train_config(arch, ds.name, len(splits.train))
    spec = ModelSpec(arch, ds.sample_shape, ds.n_classes)
    t0 = clock()
    original = train_baseline(ds, splits, arch, recipe, seed)
    train_s = clock() - t0
    refs = [train_epochs(build_model(spec, seed=seed * 100 + i + 1), data.retain, recipe,
                         seed * 100 + i + 1) for i in range(retrains)]
    uctx = UnlearnContext(ds.n_classes, seed, spec, recipe, fs.classes, data.method_pool)
    models = [original, *refs, forge("logit_bias", original, data.forget, data.retain, uctx),
              forge("head_only", original, data.forget, data.retain, uctx)]
    out: dict[str, list] = {"train": [train_s]}
    for name in INSIDE:
        check = CHECKS[name]()
        ctx = CheckContext(data, original, refs, seed, spec, recipe)
        if check.applicable(ctx):
            continue
        times = []
        for m in models:
            t = clock()
            check.measure(m, ctx)
            times.append(clock() - t)
        out[name] = times
    ctx = CheckContext(data, original, refs, seed, spec, recipe)
    times = []
    for m in models[1:]:
        t = clock()
        weight_space_evidence(m, ctx)
        times.append(clock() - t)
    out["weight_space"] = times
    return out


def _ms(values: list[float]) -> str:
    a = np.asarray(values, dtype=np.float64)
    if len(a) == 0:
        return "-"
    return f"{a.mean():.2f} ± {a.std(ddof=1):.2f}" if len(a) > 1 else f"{a.mean():.2f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["digits", "digits28"])
    p.add_argument("--archs", nargs="+", default=["cnn"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--wall", action="store_true", help="wall seconds instead of CPU seconds")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    available_checks()  # registers every check
    rows = []
    for dataset in args.datasets:
        for arch in args.archs:
            per = defaultdict(lambda: ([], []))  # name -> (first, per model)
            for seed in args.seeds:
                r = measure_costs(dataset, arch, seed,
                                  clock=time.perf_counter if args.wall else time.process_time)
                for name, times in r.items():
                    per[name][0].append(times[0])
                    per[name][1].append(float(np.mean(times)))
                print(f"  {dataset} {arch} seed {seed}: " + ", ".join(
                    f"{k} {np.mean(v):.2f}s" for k, v in r.items()), flush=True)
            for name in [*INSIDE, "weight_space"]:
                if name in per:
                    rows.append([dataset, arch, name, _ms(per[name][1]), _ms(per[name][0])])
                else:
                    rows.append([dataset, arch, name, "not applicable", "-"])
            rows.append([dataset, arch, "(training the original)", _ms(per["train"][0]), "-"])
    print(f"\n{'wall' if args.wall else 'CPU'} seconds; machine: {platform.machine()}, "
          f"{os.cpu_count()} cores, torch {torch.__version__} "
          f"with {args.threads} thread(s), seeds {' '.join(map(str, args.seeds))}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(format_table(["dataset", "arch", "check", "per model (mean ± sd over seeds)",
                        "first model (setup)"], rows))


if __name__ == "__main__":
    main()
