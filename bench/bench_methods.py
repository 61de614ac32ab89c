"""Compare every registered unlearning method with the retrain reference, as the field's papers
do (SalUn, Fan et al. ICLR 2024, Table 1): UA = 1 - forget accuracy, MIA-efficacy, RA (retain),
TA (test), run time, speed-up over retrain, and Avg. Gap = mean |method - retrain| over the four
quality columns, in points.

    python bench/bench_methods.py --datasets digits --forgets class:3,random:0.1
    python bench/bench_methods.py --datasets digits28 --methods finetune,neggrad_plus
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from unlearn_core.audit import (
    AuditConfig,
    AuditData,
    MethodSpec,
    evaluate,
    load_data,
    recipe_for,
    train_baseline,
)
from unlearn_core.cli import parse_method
from unlearn_core.forget import resolve_forget
from unlearn_core.methods import UnlearnContext, available_methods, make_method
from unlearn_core.models import ModelSpec
from unlearn_core.table import format_table


def quality(ev) -> dict[str, float]:
    """The four columns of the Avg. Gap, in points."""
    return {"UA": 100 * (1 - ev.accuracy.forget), "MIA-eff": 100 * ev.mia_efficacy,
            "RA": 100 * ev.accuracy.retain, "TA": 100 * ev.accuracy.test}


def bench_setting(dataset_name: str, model: str, forget: str, methods: list[MethodSpec],
                  seed: int,
                  n_samples: int | None) -> tuple[str, list[list[str]]]:
    cfg = AuditConfig(dataset=dataset_name, model=model, forget=forget, seed=seed)
    dataset = None
    if n_samples:
        from unlearn_core.data import load_builtin

        dataset = load_builtin(dataset_name, seed=seed, n_samples=n_samples)
    dataset, splits = load_data(cfg, dataset)
    recipe = recipe_for(cfg, dataset, splits)
    t0 = time.perf_counter()
    baseline = train_baseline(dataset, splits, model, recipe, seed)
    base_s = time.perf_counter() - t0
    fs = resolve_forget(dataset, splits, forget, seed)
    data = AuditData(dataset, splits, fs)
    ctx = UnlearnContext(n_classes=dataset.n_classes, seed=seed,
                         spec=ModelSpec(model, dataset.sample_shape, dataset.n_classes),
                         train_config=recipe, forget_classes=fs.classes,
                         population=data.population)
    forget_s, retain_s = data.forget, data.retain
    rows = []
    base_ev = evaluate(baseline, "baseline", "baseline", data, base_s, seed)
    ref = make_method("retrain").unlearn(baseline, forget_s, retain_s, ctx)
    ref_ev = evaluate(ref.model, "retrain", "retrain", data, ref.seconds, seed)
    ref_q = quality(ref_ev)
    setting = f"{dataset_name} n={len(dataset)} {model} {forget} ({len(forget_s)} forget)"
    for name, ev in (("original", base_ev), ("retrain", ref_ev)):
        rows.append(_row(name, quality(ev), ref_q, ev.seconds, ref.seconds, name == "retrain"))
    for spec in methods:
        name = spec.name + "".join(f" {k}={v}" for k, v in spec.params.items())
        try:
            out = make_method(spec.name, **spec.params).unlearn(baseline, forget_s, retain_s,
                                                                 ctx)
        except Exception as err:  # a benchmark reports a failure and goes on
            msg = str(err).splitlines()[0][:60] if str(err) else type(err).__name__
            rows.append([name, *(["-"] * 7), f"failed: {msg}"])
            continue
        ev = evaluate(out.model, name, "method", data, out.seconds, seed)
        rows.append(_row(name, quality(ev), ref_q, out.seconds, ref.seconds, True))
    return setting, rows


def _row(name, q, ref_q, seconds, ref_seconds, show_speed) -> list[str]:
    gap = np.mean([abs(q[k] - ref_q[k]) for k in q])
    speed = f"{ref_seconds / max(seconds, 1e-9):.1f}x" if show_speed else "-"
    return [name, *(f"{q[k]:.2f}" for k in ("UA", "MIA-eff", "RA", "TA")),
            f"{gap:.2f}", f"{seconds:.2f}", speed, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits")
    parser.add_argument("--forgets", default="class:3,random:0.1")
    parser.add_argument("--methods", default="", help="comma list; default: every method")
    parser.add_argument("--method", action="append", default=[],
                        help="one method with hyperparameters, e.g. l1_sparse:budget=0.3,"
                             "gamma=1e-4 (repeatable; added to --methods)")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-samples", type=int, default=None,
                        help="size of the generated digits28 set (default 50,000)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.methods.split(",") if args.methods else ([] if args.method else
                                                          available_methods())
    methods = [MethodSpec(m) for m in names if m and m != "retrain"]
    methods += [parse_method(m) for m in args.method]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__} with {torch.get_num_threads()} threads, seed {args.seed}")
    headers = ["method", "UA", "MIA-eff", "RA", "TA", "Avg.Gap", "seconds",
               "speed-up", "note"]
    for dataset in args.datasets.split(","):
        for forget in args.forgets.split(","):
            setting, rows = bench_setting(dataset, args.model, forget, methods, args.seed,
                                          args.n_samples)
            print(f"\n{setting}")
            print(format_table(headers, rows))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
