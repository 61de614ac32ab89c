"""Training cost of the CIFAR-scale architectures on the generated 32x32 set (shapes32).

    python bench/bench_architectures.py --threads 1           # resnet18, vit, cnn; seeds 0 1 2
    python bench/bench_architectures.py --archs resnet18 --full-epoch   # time whole epochs
    python bench/bench_architectures.py --accuracy --archs cnn          # + test accuracy

One epoch is the default recipe (``default_train_config``: Adam, batch 128) over the training
split of shapes32 (50,000 samples, seed 0: 30,000 training samples). By default each seed
builds the model with that seed, runs 2 untimed warm-up steps, then times ``--batches``
optimizer steps and extrapolates to the epoch's number of batches (the steps of an epoch all
cost the same: one batch shape, one graph); ``--full-epoch`` times the whole epoch instead.
Wall time and the process's CPU time are both reported, with the load average: on a shared
machine other processes inflate wall time, not a single-threaded process's CPU time, which is
then what the epoch costs one dedicated core (``--threads 1``). With more threads on a busy
machine CPU time also counts OpenMP's spinning while threads wait for a core, so neither
figure is the multi-core epoch; on N idle cores it lies between the one-thread CPU time / N and
the one-thread CPU time. Figures are mean ± sample standard deviation over the seeds.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine  # noqa: E402
from unlearn_core.data import load_builtin, make_splits  # noqa: E402
from unlearn_core.models import (  # noqa: E402
    ModelSpec,
    accuracy,
    build_model,
    default_train_config,
    train_epochs,
)
from unlearn_core.models.training import make_optimizer  # noqa: E402
from unlearn_core.report.table import format_table  # noqa: E402


def _cell(values: list[float], digits: int = 2) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def _minutes(seconds: list[float]) -> str:
    return _cell([s / 60 for s in seconds], 1) + " min"


def time_steps(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, batch: int,
               steps: int, lr: float, optimizer: str, seed: int) -> tuple[float, float]:
    """(wall, CPU) seconds per optimizer step on seeded random batches, after 2 warm-ups."""
    rng = np.random.default_rng(seed)
    opt = make_optimizer(model.parameters(), optimizer, lr)
    model.train()

    def step() -> None:
        idx = torch.as_tensor(rng.choice(len(X), batch, replace=False))
        opt.zero_grad()
        F.cross_entropy(model(X[idx]), y[idx]).backward()
        opt.step()

    for _ in range(2):
        step()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", nargs="+", default=["resnet18", "vit", "cnn"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--batches", type=int, default=10, help="timed steps per seed")
    parser.add_argument("--full-epoch", action="store_true", help="time whole epochs")
    parser.add_argument("--accuracy", action="store_true",
                        help="train the recipe's epochs and report test accuracy (slow)")
    parser.add_argument("--n-samples", type=int, default=None, help="shapes32 size (50,000)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's, the machine's cores)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    data = load_builtin("shapes32", seed=0, n_samples=args.n_samples)
    splits = make_splits(data, seed=0)
    train, test = data.subset(splits.train), data.subset(splits.test)
    print(f"machine: {machine()}")
    print(f"shapes32: {len(data)} samples ({len(train)} training), loaded or generated in "
          f"{time.perf_counter() - t0:.0f} s; load average at start "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    X, y = torch.as_tensor(train.X), torch.as_tensor(train.y)
    rows = []
    for arch in args.archs:
        spec = ModelSpec(arch, data.sample_shape, data.n_classes)
        recipe = default_train_config(arch, data.name, len(train))
        n_batches = math.ceil(len(train) / recipe.batch_size)
        walls, cpus, accs = [], [], []
        weights = 0
        for seed in args.seeds:
            model = build_model(spec, seed=seed)
            weights = sum(p.numel() for p in model.parameters())
            if args.full_epoch or args.accuracy:
                epochs = recipe.epochs if args.accuracy else 1
                run = type(recipe)(epochs=epochs, lr=recipe.lr, batch_size=recipe.batch_size,
                                   weight_decay=recipe.weight_decay, optimizer=recipe.optimizer)
                wall, cpu = time.perf_counter(), time.process_time()
                train_epochs(model, train, run, seed=seed)
                walls.append((time.perf_counter() - wall) / epochs)
                cpus.append((time.process_time() - cpu) / epochs)
                if args.accuracy:
                    accs.append(100 * accuracy(model, test))
            else:
                wall, cpu = time_steps(model, X, y, recipe.batch_size, args.batches, recipe.lr,
                                       recipe.optimizer, seed)
                walls.append(wall * n_batches)
                cpus.append(cpu * n_batches)
            print(f"  {arch} seed {seed}: epoch {walls[-1]:.0f} s wall, {cpus[-1]:.0f} s CPU"
                  + (f", test accuracy {accs[-1]:.1f}%" if accs else ""), flush=True)
        how = "whole epochs" if args.full_epoch or args.accuracy else \
            f"{args.batches} steps x {n_batches}"
        row = [arch, f"{weights:,}", str(recipe.batch_size), how, _minutes(walls),
               _minutes(cpus)]
        if args.accuracy:
            row.append(_cell(accs, 1) + f"% after {recipe.epochs} epochs")
        rows.append(row)
    head = ["arch", "weights", "batch", "timed", "epoch wall", "epoch CPU"]
    if args.accuracy:
        head.append("test accuracy")
    print(f"one epoch of the default recipe on shapes32 ({len(train)} training samples), "
          f"mean ± sd over seeds {', '.join(map(str, args.seeds))}; load average at end "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(format_table(head, rows))


if __name__ == "__main__":
    main()
