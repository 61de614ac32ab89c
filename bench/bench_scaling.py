"""Does a method's cost follow the forget set or the training set? (issue 15, item 4.)

A fixed-size forget set (500 samples) is unlearned from a model trained on a small and on a large
training set (generated digits28; by default 12,500 and then 50,000 training samples, the
dataset generated large enough for its training split to hold that many). Per method: the
unlearning step's CPU time and the samples it runs through the network (counted with a forward
hook) on each size, and their ratio large / small, as mean ± sample standard deviation over
seeds. Sample-level methods forget 500 random training samples; class-only methods
(boundary_shrink, unsir, lrp_path) forget 500 training samples of class 3 told as a class
request (a timing setting: the rest of class 3 stays in the retain set). The baseline is
trained for one epoch by default (--baseline-epochs): only the methods are timed.

    python bench/bench_scaling.py --seeds 0 1 2 --threads 1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from bench.machine import machine
from unlearn_core.audit.data import AuditData, recipe_for, train_baseline
from unlearn_core.data import load_builtin, make_splits
from unlearn_core.data.forget import ForgetSet
from unlearn_core.methods import UnlearnContext, available_methods, make_method
from unlearn_core.models import ModelSpec
from unlearn_core.report.table import format_table

# Training-based: their work is minibatch training (the 1.5x bound applies to them).
TRAINING = ("finetune", "l1_sparse", "neggrad_plus", "random_label", "salun", "scrub",
            "mia_guided", "bad_teacher", "gradient_ascent", "boundary_shrink", "unsir")
NOT_MEASURED = ("retrain", "sisa", "forged", "forge_features", "forge_head_only",
                "forge_logit_bias")  # exact methods retrain by design; forgeries are attacks
TEST_FRACTION, POPULATION_FRACTION = 0.2, 0.2


def _forget_set(data_y: np.ndarray, train: np.ndarray, size: int, seed: int,
                cls: int | None) -> ForgetSet:
    rng = np.random.default_rng(seed + 7919)
    pool = train if cls is None else train[data_y[train] == cls]
    forget = np.sort(rng.choice(pool, size, replace=False))
    return ForgetSet(forget, np.setdiff1d(train, forget), forget, () if cls is None else (cls,),
                     f"{size} {'random' if cls is None else f'class-{cls}'} samples")


def _run(name: str, model, data: AuditData, ctx: UnlearnContext) -> tuple[float, int]:
    """CPU seconds of the unlearning step and samples run through any copy of the model."""
    seen: list[int] = []
    kind = type(model)

    def hook(module, inputs, output):
        if type(module) is kind and inputs and isinstance(inputs[0], torch.Tensor):
            seen.append(len(inputs[0]))

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        out = make_method(name).unlearn(model, data.forget, data.retain, ctx)
    finally:
        handle.remove()
    return out.cpu_seconds, sum(seen)


def bench_size(n_train: int, forget_size: int, methods: list[str], seed: int,
               baseline_epochs: int) -> tuple[int, dict[str, tuple[float, int]]]:
    """Train the baseline on ``n_train`` samples and unlearn the fixed-size forget set."""
    n_samples = math.ceil(n_train / (1 - TEST_FRACTION - POPULATION_FRACTION)) + 2
    dataset = load_builtin("digits28", seed=seed, n_samples=n_samples)
    splits = make_splits(dataset, seed, TEST_FRACTION, POPULATION_FRACTION)
    spec = ModelSpec("cnn", dataset.sample_shape, dataset.n_classes)
    recipe = recipe_for(None, "cnn", dataset, splits)
    if baseline_epochs:  # the baseline only has to exist; the methods keep the recipe
        recipe_b = dataclasses.replace(recipe, epochs=baseline_epochs)
    else:
        recipe_b = recipe
    baseline = train_baseline(dataset, splits, "cnn", recipe_b, seed)
    out = {}
    for name in methods:
        cls = 3 if make_method(name).class_level_only else None
        fs = _forget_set(dataset.y, splits.train, forget_size, seed, cls)
        data = AuditData(dataset, splits, fs)
        ctx = UnlearnContext(dataset.n_classes, seed, spec, recipe, fs.classes,
                             data.method_pool)
        try:
            out[name] = _run(name, baseline, data, ctx)
        except Exception as err:  # report and go on
            print(f"  {name} failed: {str(err).splitlines()[0][:80]}", file=sys.stderr)
    return len(splits.train), out


def _cell(values: list[float], digits: int, suffix: str = "") -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}{suffix}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}{suffix}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-sizes", type=int, nargs=2, default=[12500, 50000])
    parser.add_argument("--forget-size", type=int, default=500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", default="", help="comma list; default: every approximate "
                                                      "method")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--baseline-epochs", type=int, default=1,
                        help="epochs of the baseline's training (0: the full recipe); the "
                             "methods' cost does not depend on it, and the methods still get "
                             "the recipe (its optimizer)")
    parser.add_argument("--bound", type=float, default=1.5,
                        help="the largest time ratio a training-based method may show")
    parser.add_argument("--json", default=None, help="also write the measurements here")
    parser.add_argument("--from-json", nargs="+", default=None,
                        help="print the table from --json files (e.g. one process per seed)")
    args = parser.parse_args()
    if args.from_json:
        saved = [json.loads(Path(f).read_text()) for f in args.from_json]
        for m in dict.fromkeys(s["machine"] for s in saved):
            print(f"machine: {m}")
        per_seed = [tuple(run) for s in saved for run in s["per_seed"]]
        first = saved[0]
        report(first["methods"], per_seed, first["sizes"], first["forget_size"],
               sum((s["seeds"] for s in saved), []), first["baseline_epochs"], args.bound)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = (args.methods.split(",") if args.methods else
               [m for m in available_methods() if m not in NOT_MEASURED])
    print(f"machine: {machine()}")
    small, large = args.train_sizes
    per_seed = []
    for seed in args.seeds:
        t0 = time.perf_counter()
        n_s, res_s = bench_size(small, args.forget_size, methods, seed, args.baseline_epochs)
        n_l, res_l = bench_size(large, args.forget_size, methods, seed, args.baseline_epochs)
        per_seed.append((res_s, res_l))
        print(f"  seed {seed}: {n_s} and {n_l} training samples, "
              f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps({
                "machine": machine(), "methods": methods, "sizes": [n_s, n_l],
                "forget_size": args.forget_size, "seeds": args.seeds[:len(per_seed)],
                "baseline_epochs": args.baseline_epochs, "per_seed": per_seed}))
    report(methods, per_seed, [n_s, n_l], args.forget_size, args.seeds, args.baseline_epochs,
           args.bound)


def report(methods: list[str], per_seed: list, sizes: list[int], forget_size: int,
           seeds: list[int], baseline_epochs: int, bound: float) -> None:
    """The table: per method, CPU time and samples on each size and their ratios."""
    n_s, n_l = sizes
    trained = f"{baseline_epochs} epoch(s)" if baseline_epochs else "the recipe"
    print(f"\ndigits28 cnn (baseline trained {trained}), forget set of {forget_size}, "
          f"training set {n_s} then {n_l}; "
          f"{len(seeds)} seeds (mean ± sample std); CPU s = the unlearning step's process "
          "CPU time; samples = inputs run through the network (teachers and copies included)")
    headers = ["method", "kind", f"CPU s ({n_s})", f"CPU s ({n_l})", "time ratio",
               f"samples ({n_s})", f"samples ({n_l})", "samples ratio", f"<= {bound:g}x"]
    rows, over = [], []
    for name in methods:
        runs = [(a[name], b[name]) for a, b in per_seed if name in a and name in b]
        if not runs:
            rows.append([name, "", *(["failed"] * 7)])
            continue
        ratio = [b[0] / max(a[0], 1e-9) for a, b in runs]
        kind = "training" if name in TRAINING else "other"
        ok = np.mean(ratio) <= bound
        if kind == "training" and not ok:
            over.append(name)
        rows.append([name, kind, _cell([a[0] for a, _ in runs], 2),
                     _cell([b[0] for _, b in runs], 2), _cell(ratio, 2, "x"),
                     _cell([a[1] for a, _ in runs], 0), _cell([b[1] for _, b in runs], 0),
                     _cell([b[1] / max(a[1], 1) for a, b in runs], 2, "x"),
                     "yes" if ok else "no"])
    print(format_table(headers, rows))
    print(f"training-based methods over {bound:g}x (mean time ratio): "
          f"{', '.join(over) if over else 'none'}")


if __name__ == "__main__":
    main()
