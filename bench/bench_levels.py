"""Levels of assurance on dumped measurements: which level each known-genuine and known-bad
model reaches, per setting, without training (``checks.levels``, issue 26).

Reads the dumps of ``bench/bench_verdict.py --dump`` (its loading and blind judging, by import),
grades every verdict, and prints per setting and kind of model how many cases reach each level,
then the goals: no known-bad model (the original ``no_op``, every forgery) at level 1 or 2 (the
levels whose words say the data's influence is gone), and the known-genuine ones (blind
retrains, SISA) at the strictest level where the checks have power (level 1 where a check of
the model's inside had power, else level 3 where some forgetting check had power, else none).
With ``--gaps`` it also prints the ranking figure (largest distance from a retrain band, in
band half-widths) per kind of model.

    python bench/bench_levels.py bench/results/verdict_2026-12-01.jsonl.gz
    python bench/bench_levels.py bench/results/verdict_*_2026-11-25.jsonl.gz --gaps
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from bench_verdict import BAD, GENUINE, judge_dumped, load_dump  # noqa: E402

from unlearn_core.checks.levels import LEVELS, grade  # noqa: E402
from unlearn_core.checks.verdict import check_families  # noqa: E402
from unlearn_core.report.table import format_table  # noqa: E402

INFLUENCE_GONE = (1, 2)  # the levels whose words say the data's influence is gone


def _results(path: str, extended: bool = False):
    """(setting, seed, the dumped result, its verdicts) per line of a dump, judged as
    ``bench_verdict.py --rejudge`` judges them (``--simulate-extension``: ``extended``)."""
    for setting, seed, _, result, ran_rule in load_dump(path):
        yield setting, seed, result, judge_dumped(result, ran_rule, extended=extended)


def kind_of(method: str) -> str:
    """genuine (a blind retrain), sisa, or the known-bad model's method."""
    return "genuine" if method in GENUINE else method


def inside_powered(v, families) -> bool:
    """A check that sees output suppression has halfway power on this model's request (its
    control lands a band half-width or more beyond the band, ``judge.HALFWAY_MARGIN``), so
    level 1 is within reach of a genuine model."""
    return any(c.halfway_powered and "suppression" in families.get(c.check, ())
               for c in v.checks)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dumps", nargs="+", help="files written by bench_verdict.py --dump")
    p.add_argument("--gaps", action="store_true", help="also print the ranking figure")
    p.add_argument("--simulate-extension", action="store_true", help="dumps made before the "
                   "sequential rule: simulate it as bench_verdict.py --rejudge does")
    args = p.parse_args()
    families = check_families()
    per = defaultdict(Counter)  # (setting, kind) -> level -> count
    gaps = defaultdict(list)  # kind -> gaps
    settings: list[str] = []
    bad_high, genuine_short, n_bad, n_gen = [], [], 0, 0
    for path in args.dumps:
        for setting, seed, result, verdicts in _results(path, args.simulate_extension):
            if setting not in settings:
                settings.append(setting)
            for v, e in zip(verdicts, result.methods):
                g = grade(v.checks, v.status, families)
                strictest = 1 if inside_powered(v, families) else 3 if any(
                    c.powered for c in v.checks) else 0
                kind = kind_of(e.method)
                per[(setting, kind)][g.level] += 1
                if math.isfinite(g.gap):
                    gaps[kind].append(g.gap)
                if kind in ("genuine", "sisa"):
                    n_gen += 1
                    if g.level != strictest:
                        genuine_short.append(f"{setting} seed {seed} {e.name}: level {g.level} "
                                             f"(strictest with power {strictest}): "
                                             f"{'; '.join(g.blockers)}")
                elif kind in BAD:
                    n_bad += 1
                    if g.level in INFLUENCE_GONE:
                        bad_high.append(f"{setting} seed {seed} {e.name}: level {g.level}")
    levels = [*LEVELS, 0]
    head = ["setting", "model", *[f"L{lv}" if lv else "none" for lv in levels]]
    rows = [[s, kind, *[str(per[(s, kind)].get(lv, 0)) for lv in levels]]
            for s in settings for kind in dict.fromkeys(k for ss, k in per if ss == s)]
    print("levels: " + "; ".join(f"L{k} {w}" for k, (_, w) in LEVELS.items()))
    print(format_table(head, rows))
    print(f"\nknown-bad models at level 1 or 2: {len(bad_high)} of {n_bad}")
    for line in bad_high:
        print("  " + line)
    print(f"known-genuine models below the strictest level with power: {len(genuine_short)} "
          f"of {n_gen}")
    for line in genuine_short:
        print("  " + line)
    if args.gaps:
        print("\n" + format_table(["model", "n", "gap median", "gap min", "gap max"], [
            [k, str(len(v)), f"{np.median(v):.2f}", f"{min(v):.2f}", f"{max(v):.2f}"]
            for k, v in gaps.items()]))


if __name__ == "__main__":
    main()
