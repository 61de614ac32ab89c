"""Benchmark the text unlearning methods against retraining on the built-in fact set, TOFU-style
(Maini et al., arXiv 2401.06121): forget quality (KS p-value of truth ratios against the
retrained model), model utility, answer accuracy on forgotten and retained facts, Min-k% AUC
(forget vs never-trained people; 0.5 = like retrain, 1 = remembered), PrivLeak (MUSE: the
Min-k% AUC's gap to the retrain's, relative, x 100; 0 = like retrain), time and speed-up over
retraining, each as mean ± sample standard deviation over seeds (every seed draws its own fact
set, model and forget set), and the verdict of each method per seed (the shared judge against
``--retrain-seeds`` retrains, with the untouched original as the do-nothing control, which is
judged as a method too: it must never pass; and a known-genuine model, a retrain with a seed
outside the ensemble judged blind as a method: it should not fail).

    python bench/bench_text.py                       # 200 people, forget 2 (1%), seeds 0 1 2
    python bench/bench_text.py --people 40 --seeds 0 --method npo:lr=5e-4
    python bench/bench_text.py --people 40 --retrain-seeds 5   # the verdict counts
    python bench/bench_text.py --people 40 --restor            # RESTOR knowledge recovery
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from unlearn_core.cli.text import _parse_method
from unlearn_core.report.table import format_table
from unlearn_core.text.audit import TextAuditConfig, TextMethodSpec, run_text_audit
from unlearn_core.text.checks import judge_text
from unlearn_core.text.facts import FactSetConfig
from unlearn_core.text.lm import train_lm
from unlearn_core.text.methods import TextMethod, register

METHODS = ["gradient_ascent", "gradient_difference", "npo", "simnpo", "icu"]


@dataclasses.dataclass
class GenuineRetrain(TextMethod):
    """The known-genuine control: retrained from scratch on retain with seed + 1000 (outside
    the reference ensemble's seeds), judged blind like a method."""

    name = "genuine_retrain"
    paper = "control"

    def _unlearn(self, lm, forget, retain, ctx, log):
        fresh = lm.fresh(ctx.seed + 1000)
        train_lm(fresh, retain, dataclasses.replace(ctx.train_config, seed=ctx.seed + 1000))
        return fresh


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=200)
    ap.add_argument("--holdout", type=int, default=40)
    ap.add_argument("--forget", default="random:2")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--retrain-seeds", type=int, default=5,
                    help="reference retrains per seed (the verdict's ensemble; cached)")
    ap.add_argument("--method", action="append", default=None,
                    help="name or name:key=value,... (repeatable); default: all five")
    ap.add_argument("--no-genuine", action="store_true",
                    help="leave out the known-genuine control (a retrain with another seed)")
    ap.add_argument("--restor", action="store_true",
                    help="RESTOR instead: corrupt the --forget people's facts, unlearn the "
                         "corruption, report the recovered share of the clean accuracy")
    args = ap.parse_args()
    specs = [_parse_method(m) for m in (args.method or METHODS)]
    if args.restor:
        restor(args, specs)
        return
    if not args.no_genuine:
        register(GenuineRetrain)
        specs.append(TextMethodSpec(GenuineRetrain.name))
    rows: dict[str, list[dict]] = {}
    verdicts: dict[str, list[str]] = {}
    load0, start = os.getloadavg()[0], time.perf_counter()
    timed_by: list[str] = []
    extended: list[str] = []  # the sequential rule's added retrains, per seed: why
    for seed in args.seeds:
        cfg = TextAuditConfig(forget=args.forget, seed=seed, methods=specs,
                              retrain_seeds=args.retrain_seeds,
                              facts=FactSetConfig(n_people=args.people, n_holdout=args.holdout))
        result = run_text_audit(cfg).result
        if result.extended:
            extended.append(f"seed {seed}: {result.extended_because}")
        refs = [r.name for r in result.retrains]
        judged = judge_text(result.measurements, result.check_specs,
                            ["original", *[m.name for m in result.methods]], refs, "original",
                            cfg.alpha)
        for v in judged:
            verdicts.setdefault(v.method, []).append(v.status)
        # speed-up over a retrain from scratch timed in this very run: the blind control when
        # it ran (the reference retrains may come from the model cache with another run's time)
        fresh = next((m for m in result.methods if m.name == GenuineRetrain.name), None)
        clock = fresh.seconds if fresh is not None else result.retrain.seconds
        timed_by.append("the blind genuine retrain of this run" if fresh is not None else
                        "the reference retrain" + (" (from the cache: another run's time)"
                                                   if result.retrain.cached else ""))
        for ev in [result.original, result.retrain, *result.methods]:
            s = ev.summary()
            s["speedup"] = (clock / max(ev.seconds, 1e-9)
                            if ev.name not in ("original", "retrain") or fresh is None
                            else np.nan)
            rows.setdefault(ev.name, []).append(s)
        print(f"seed {seed} done ({time.perf_counter() - start:.0f}s)", file=sys.stderr,
              flush=True)
    cols = [("forget_accuracy", "forget acc", 2), ("retain_accuracy", "retain acc", 2),
            ("forget_quality", "forget quality", 3), ("model_utility", "model utility", 3),
            ("mia_auc_min_k", "Min-k% AUC", 2), ("privleak", "PrivLeak", 1),
            ("seconds", "time (s)", 1),
            ("speedup", "speed-up", 0)]
    table = []
    for name, runs in rows.items():
        cells = [name]
        for key, _, digits in cols:
            vals = np.array([r[key] for r in runs], dtype=float)
            vals = vals[~np.isnan(vals)]
            v = float(vals.mean()) if len(vals) else np.nan
            sd = float(vals.std(ddof=1)) if len(vals) > 1 else np.nan
            if name == "original" and key in ("seconds", "speedup"):
                cells.append("")
            elif np.isnan(v):
                cells.append("ref." if name == "retrain" else "n/a")
            elif key == "forget_quality":
                cells.append(f"{v:.2g} ± {sd:.2g}" if not np.isnan(sd) else f"{v:.2g}")
            elif key == "speedup":
                cells.append(f"{v:.0f}x ± {sd:.0f}" if not np.isnan(sd) else f"{v:.0f}x")
            else:
                cells.append(f"{v:.{digits}f} ± {sd:.{digits}f}" if not np.isnan(sd) else
                             f"{v:.{digits}f}")
        status = verdicts.get(name)
        cells.append(", ".join(f"{s} {status.count(s)}" for s in dict.fromkeys(status))
                     if status else "")
        table.append(cells)
    cols.append(("verdict", "verdicts over seeds", 0))
    print(f"fact set: {args.people} people x 6 facts, forget {args.forget}, "
          f"{args.retrain_seeds} reference retrains, seeds "
          f"{' '.join(map(str, args.seeds))}; means over seeds; {platform.machine()}, "
          f"{os.cpu_count()} cores, load average {load0:.1f} -> {os.getloadavg()[0]:.1f}")
    print("speed-up over " + "; ".join(dict.fromkeys(timed_by)) + " (same seed)")
    print(f"more retrains (the sequential rule) in {len(extended)} of {len(args.seeds)} seeds"
          + "".join(f"\n  {line}" for line in extended))
    print(format_table(["method", *[c[1] for c in cols]], table))
    print("\n| " + " | ".join(["method", *[c[1] for c in cols]]) + " |")
    print("|" + "---|" * (len(cols) + 1))
    for cells in table:
        print("| " + " | ".join(cells) + " |")


def restor(args, specs) -> None:
    """Recovery (share of the accuracy lost to the corruption that comes back) per method and
    for the exact answer (the corruption stage without the corrupted items), over seeds."""
    from unlearn_core.text.restor import restor_text_methods

    rows: dict[str, list[float]] = {}
    lost: list[tuple[float, float]] = []
    for seed in args.seeds:
        cfg = TextAuditConfig(seed=seed, facts=FactSetConfig(n_people=args.people,
                                                             n_holdout=args.holdout))
        results = restor_text_methods(cfg, [(s.name, s.params) for s in specs], args.forget)
        rows.setdefault("retrain (exact)", []).append(results[0].recovery_retrain)
        for r in results:
            rows.setdefault(r.method, []).append(r.recovery)
        lost.append((results[0].acc_clean, results[0].acc_corrupted))
        print(f"seed {seed} done", file=sys.stderr, flush=True)
    clean, corrupted = np.mean(lost, axis=0)
    print(f"RESTOR on text: {args.people} people x 6 facts, corrupt {args.forget}, seeds "
          f"{' '.join(map(str, args.seeds))}; true-answer accuracy {clean:.2f} clean, "
          f"{corrupted:.2f} corrupted (means); recovery mean ± sd over seeds")
    table = [[name, f"{np.mean(v):.2f} ± {np.std(v, ddof=1) if len(v) > 1 else 0:.2f}"]
             for name, v in rows.items()]
    print(format_table(["method", "recovery"], table))
    print("\n| method | recovery |\n|---|---|")
    for name, cell in table:
        print(f"| {name} | {cell} |")


if __name__ == "__main__":
    main()
