"""The audit's optional attack stage: the threshold family on every model, LiRA and RMIA with
shadow / reference models scoring every model, and U-LiRA per method. Targets are the forget
samples (capped) against the same number of unseen test samples; shadows train on the
population split and a share of the retain set, with the audit's recipe."""

from __future__ import annotations

from typing import Optional

import numpy as np

from unlearn_core.attacks.lira import check_variance, lira, train_shadows
from unlearn_core.attacks.summary import AttackSummary, summarize
from unlearn_core.attacks.threshold import threshold_suite
from unlearn_core.attacks.ulira import ULiRAResult, ulira
from unlearn_core.data.dataset import Samples
from unlearn_core.errors import ConfigError
from unlearn_core.progress import ProgressFn

ATTACKS = ("threshold", "lira", "ulira", "rmia")


def run_attacks(run, attacks: list[str], n_shadows: int = 8, executor: str = "local",
                ray_address: Optional[str] = None, max_targets: int = 200,
                progress: Optional[ProgressFn] = None, lira_variance: Optional[str] = None,
                cache=None) -> tuple[list[AttackSummary], list[ULiRAResult]]:
    """Summaries for each model (threshold, LiRA) and U-LiRA results for each method.
    ``lira_variance`` ("global" or "per_example", Carlini et al. S&P 2022) defaults to the
    audit config's ``lira_variance``, else global. ``cache`` (an ``EnsembleCache``) reuses
    shadow sets trained before on the same data, recipe and seed."""
    unknown = sorted(set(attacks) - set(ATTACKS))
    if unknown:
        raise ConfigError(f"unknown attack '{unknown[0]}': use {', '.join(ATTACKS)}")
    res, data = run.result, run.data
    variance = check_variance(lira_variance or getattr(res.config, "lira_variance", "global"))
    rng = np.random.default_rng(res.config.seed + 31)
    forget, test = data.forget, data.test
    n = min(len(forget), len(test), max_targets)
    members = forget.take(np.sort(rng.choice(len(forget), n, replace=False)))
    controls = test.take(np.sort(rng.choice(len(test), n, replace=False)))
    summaries: list[AttackSummary] = []
    names = [e.name for e in res.evaluations()]
    if "threshold" in attacks:
        for name in names:
            summaries += threshold_suite(run.models[name], members, controls, name)
    ulira_results: list[ULiRAResult] = []
    if "lira" in attacks or "ulira" in attacks or "rmia" in attacks:
        spec = run.context.spec
        if spec is None:
            raise ConfigError("shadow attacks need the model's architecture spec")
        retain = data.retain
        share = retain.take(np.sort(rng.choice(len(retain), min(len(retain), 1000),
                                               replace=False)))
        pool = Samples.concat([data.population, share])
        targets = Samples.concat([members, controls])
        if "lira" in attacks:
            shadows = train_shadows(targets, pool, spec, res.train_config, n_shadows,
                                    res.config.seed, executor, ray_address=ray_address,
                                    progress=progress, variance=variance, cache=cache)
            for name in names:
                r = lira(run.models[name], targets, shadows)
                summaries.append(summarize("lira-online", name, r.online[:n], r.online[n:]))
                summaries.append(summarize("lira-offline", name, r.offline[:n], r.offline[n:]))
        if "rmia" in attacks:
            from unlearn_core.attacks.rmia import train_references

            n_z = min(200, len(data.population) // 2)
            z = data.population.take(np.arange(n_z))
            ref_pool = Samples.concat([data.population.take(np.arange(n_z,
                                                                      len(data.population))),
                                       share])
            refs = train_references(targets, z, ref_pool, spec, res.train_config,
                                    max(2, n_shadows // 4), res.config.seed, executor,
                                    ray_address=ray_address, progress=progress, cache=cache)
            for name in names:
                s = refs.score(run.models[name], targets)
                summaries.append(summarize("rmia", name, s[:n], s[n:]))
        if "ulira" in attacks:
            for e in res.methods:
                u = ulira(e.method or e.name, e.params, members, pool, spec, res.train_config,
                          n_shadows, res.config.seed, executor, ray_address=ray_address,
                          progress=progress, cache=cache, method_pool=data.method_pool)
                u.method = e.name  # the run label, unique in the audit
                ulira_results.append(u)
    return summaries, ulira_results
