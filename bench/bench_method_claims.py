"""The figures the README's method section quotes for defaults that depart from the papers,
re-measured: digits, CNN (the default recipe), class 3 forgotten, mean ± sample standard
deviation over seeds.

- boundary_shrink: the share of forget samples whose one FGSM step crosses to another class at
  the paper's eps 0.1 and at the default 0.2 (inside the data range), and forget accuracy after
  the paper's lr 1e-5 against the default;
- ssd: forget accuracy at the paper's alpha 10 against the default;
- influence on the CNN's head: forget accuracy with the recipe's weight decay (0) and with 1e-4.

    python bench/bench_method_claims.py --seeds 0 1 2 --threads 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

from bench.machine import machine
from unlearn_core.audit.data import AuditData, recipe_for, train_baseline
from unlearn_core.data import load_builtin, make_splits
from unlearn_core.data.forget import resolve_forget
from unlearn_core.methods import UnlearnContext, make_method
from unlearn_core.methods.boundary_shrink import nearest_wrong_labels
from unlearn_core.models import ModelSpec, accuracy
from unlearn_core.models.training import to_tensors
from unlearn_core.report.table import format_table


def measure(seed: int) -> dict[str, float]:
    dataset = load_builtin("digits")
    splits = make_splits(dataset, seed)
    recipe = recipe_for(None, "cnn", dataset, splits)
    model = train_baseline(dataset, splits, "cnn", recipe, seed)
    fs = resolve_forget(dataset, splits, "class:3", seed)
    data = AuditData(dataset, splits, fs)
    ctx = UnlearnContext(dataset.n_classes, seed,
                         ModelSpec("cnn", dataset.sample_shape, dataset.n_classes), recipe,
                         fs.classes, data.method_pool)
    forget, retain = data.forget, data.retain
    X, y = to_tensors(forget)
    data_range = (float(X.min()), float(X.max()))
    out = {}
    for eps in (0.1, 0.2):
        labels = nearest_wrong_labels(model, X, y, eps, data_range, "argmax")
        out[f"boundary_shrink: FGSM crosses at eps {eps:g}"] = float((labels != y)
                                                                     .float().mean())

    def forget_acc(name: str, **params) -> float:
        res = make_method(name, **params).unlearn(model, forget, retain, ctx)
        return accuracy(res.model, forget)

    out["boundary_shrink: forget accuracy, lr 1e-5 (paper)"] = forget_acc("boundary_shrink",
                                                                          lr=1e-5)
    out["boundary_shrink: forget accuracy, default lr"] = forget_acc("boundary_shrink")
    out["ssd: forget accuracy, alpha 10 (paper)"] = forget_acc("ssd", alpha=10.0)
    out["ssd: forget accuracy, default alpha"] = forget_acc("ssd")
    out["influence (CNN head): forget accuracy, recipe weight decay"] = forget_acc("influence")
    out["influence (CNN head): forget accuracy, weight_decay=1e-4"] = forget_acc(
        "influence", weight_decay=1e-4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"machine: {machine()}")
    runs = [measure(s) for s in args.seeds]
    rows = []
    for key in runs[0]:
        vals = [r[key] for r in runs]
        spread = f" ± {np.std(vals, ddof=1):.2f}" if len(vals) > 1 else ""
        rows.append([key, f"{np.mean(vals):.2f}{spread}", " ".join(f"{v:.2f}" for v in vals)])
    print(f"\ndigits, cnn, class 3 forgotten; seeds {' '.join(map(str, args.seeds))} "
          "(mean ± sample std, then each seed)")
    print(format_table(["figure", "mean", "per seed"], rows))


if __name__ == "__main__":
    main()
