"""The audit: train (or take) a baseline, forget, run the retrain reference and the methods,
and measure every model the same way. Everything the app and the command line show comes from
the ``AuditResult`` this module returns."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from torch import nn

from . import audit_data
from .attacks import AttackSummary, ULiRAResult
from .audit_data import AuditData, train_baseline
from .data import Dataset, Splits
from .errors import ConfigError, UnlearnError
from .forget import resolve_forget
from .methods import UnlearnContext, make_method
from .metrics import (
    AccuracyReport,
    Closeness,
    ThresholdAttack,
    ThresholdMIAResult,
    accuracy_report,
    closeness,
    mia_efficacy,
)
from .models import (
    ModelSpec,
    TrainConfig,
    check_compatible,
    model_hash,
)
from .progress import ProgressFn, report
from .serialize import from_jsonable, to_jsonable
from .verdict import Verdict, VerdictThresholds, VerificationCheck, judge


@dataclass
class MethodSpec:
    """A method by name with its hyperparameters (defaults where not given)."""

    name: str
    params: dict = field(default_factory=dict)


@dataclass
class AuditConfig:
    """Everything that determines an audit; the same config and seed give the same numbers."""

    dataset: str = "digits"
    model: str = "cnn"
    forget: str = "class:3"
    methods: list[MethodSpec] = field(default_factory=lambda: [MethodSpec("finetune")])
    seed: int = 0
    label_column: Optional[str] = None
    test_fraction: float = 0.2
    population_fraction: float = 0.2
    train: Optional[TrainConfig] = None  # None: the default recipe for the model and data
    mia_score: str = "loss"
    thresholds: VerdictThresholds = field(default_factory=VerdictThresholds)
    attacks: list[str] = field(default_factory=list)  # threshold, lira, ulira (opt-in, slower)
    shadows: int = 8
    lira_variance: str = "global"  # or "per_example" (many shadows; Carlini et al. 2022)
    executor: str = "local"  # serial, local (process pool) or ray
    ray_address: Optional[str] = None
    checks: list[str] = field(default_factory=list)  # inversion, backdoor, restor (opt-in)


@dataclass
class ModelEvaluation:
    """One model measured: accuracies, membership inference, time and provenance."""

    name: str
    role: str  # "baseline", "retrain" or "method"
    accuracy: AccuracyReport
    mia: ThresholdMIAResult
    mia_efficacy: float  # share of forget samples an SVC calls non-members (Jia et al. 2023)
    seconds: float
    model_hash: str
    params: dict = field(default_factory=dict)
    log: list[str] = field(default_factory=list)


@dataclass
class MethodFailure:
    """A method that could not run, with the reason shown to the user."""

    name: str
    message: str


@dataclass
class AuditResult:
    """The plain-data record of an audit, serialisable to JSON and back."""

    config: AuditConfig
    dataset_name: str
    class_names: list[str]
    dataset_fingerprint: str
    splits_fingerprint: str
    forget_fingerprint: str
    forget_description: str
    forget_ids: np.ndarray
    forget_classes: list[int]
    n_train: int
    n_forget: int
    n_retain: int
    n_test: int
    n_population: int
    train_config: TrainConfig
    baseline: ModelEvaluation
    retrain: ModelEvaluation
    methods: list[ModelEvaluation]
    failures: list[MethodFailure]
    versions: dict[str, str]
    seconds: float
    closeness: list[Closeness] = field(default_factory=list)  # each method vs retrain
    verdicts: list[Verdict] = field(default_factory=list)
    attack_summaries: list[AttackSummary] = field(default_factory=list)
    ulira: list[ULiRAResult] = field(default_factory=list)
    checks: list[VerificationCheck] = field(default_factory=list)  # verification scenarios

    def evaluations(self) -> list[ModelEvaluation]:
        """Baseline, retrain, then each method, in the order a table shows them."""
        return [self.baseline, self.retrain, *self.methods]

    def to_dict(self) -> dict:
        return to_jsonable(self)

    @staticmethod
    def from_dict(data: dict) -> "AuditResult":
        return from_jsonable(AuditResult, data)


@dataclass
class AuditRun:
    """An audit's result plus the live objects (models, data) later analyses need."""

    result: AuditResult
    data: AuditData
    models: dict[str, nn.Module]
    context: UnlearnContext


def versions() -> dict[str, str]:
    """Library versions recorded with every result, for reproducibility."""
    import sklearn
    import torch

    from . import __version__

    return {"unlearn_core": __version__, "python": platform.python_version(),
            "torch": torch.__version__, "numpy": np.__version__,
            "scikit-learn": sklearn.__version__}


def load_data(config: AuditConfig, dataset: Optional[Dataset] = None) -> tuple[Dataset, Splits]:
    """The dataset named in the config (or the one given) and its seeded splits."""
    return audit_data.load_data(config.dataset, config.seed, config.test_fraction,
                                config.population_fraction, config.label_column, dataset)


def recipe_for(config: AuditConfig, dataset: Dataset, splits: Splits) -> TrainConfig:
    return audit_data.recipe_for(config.train, config.model, dataset, splits)


def evaluate(model: nn.Module, name: str, role: str, data: AuditData, seconds: float,
             seed: int, mia_score: str = "loss", params: Optional[dict] = None,
             log: Optional[list[str]] = None) -> ModelEvaluation:
    """Measure one model on the audit's splits with the same attack as every other model."""
    forget, retain, test = data.forget, data.retain, data.test
    acc = accuracy_report(model, forget, retain, test, data.dataset.n_classes,
                          data.forget_set.classes)
    mia = ThresholdAttack(score=mia_score).run(model, forget, retain, test, data.population, seed,
                                               data.forget_set.classes)
    efficacy = mia_efficacy(model, forget, retain, test, seed=seed)
    return ModelEvaluation(name, role, acc, mia, efficacy, seconds, model_hash(model),
                           params or {}, log or [])


def run_audit(config: AuditConfig, progress: Optional[ProgressFn] = None,
              dataset: Optional[Dataset] = None, baseline: Optional[nn.Module] = None,
              baseline_seconds: float = 0.0) -> AuditRun:
    """Baseline, retrain reference and every requested method, measured alike.

    A method that fails with a user-facing error is recorded in ``failures`` and the others
    still run. ``baseline`` may be a model the user brought (checked for compatibility).
    """
    if not config.methods:
        raise ConfigError("no method to run: name at least one unlearning method")
    methods = [make_method(m.name, **m.params) for m in config.methods]  # fail fast on typos
    from .deep_attacks import ATTACKS

    unknown = sorted(set(config.attacks) - set(ATTACKS))
    if unknown:
        raise ConfigError(f"unknown attack '{unknown[0]}': use {', '.join(ATTACKS)}")
    from .verification.checks import run_checks, validate_checks

    validate_checks(config.checks)
    start = time.perf_counter()
    dataset, splits = load_data(config, dataset)
    forget_set = resolve_forget(dataset, splits, config.forget, config.seed)
    data = AuditData(dataset, splits, forget_set)
    recipe = recipe_for(config, dataset, splits)
    spec = ModelSpec(config.model, dataset.sample_shape, dataset.n_classes)
    if baseline is None:
        t0 = time.perf_counter()
        baseline = train_baseline(dataset, splits, config.model, recipe, config.seed, progress)
        baseline_seconds = time.perf_counter() - t0
    else:
        check_compatible(baseline, dataset.sample_shape, dataset.n_classes)
        # A TorchScript model has no registry spec: the retrain reference is trained on the
        # architecture named in the config, with the same recipe.
        spec = getattr(baseline, "spec", None) or spec
    ctx = UnlearnContext(n_classes=dataset.n_classes, seed=config.seed, spec=spec,
                         train_config=recipe, forget_classes=forget_set.classes,
                         population=data.population, progress=progress)
    models: dict[str, nn.Module] = {"baseline": baseline}
    report(progress, "measuring baseline", 0, 1)
    base_eval = evaluate(baseline, "baseline", "baseline", data, baseline_seconds, config.seed,
                         config.mia_score)
    forget, retain = data.forget, data.retain
    out = make_method("retrain").unlearn(baseline, forget, retain, ctx)
    models["retrain"] = out.model
    retrain_eval = evaluate(out.model, "retrain", "retrain", data, out.seconds, config.seed,
                            config.mia_score, log=out.log)
    evaluations, failures = [], []
    for spec_m, method in zip(config.methods, methods):
        if method.name == "retrain":
            continue
        try:
            out = method.unlearn(baseline, forget, retain, ctx)
        except UnlearnError as err:
            failures.append(MethodFailure(method.name, str(err)))
            continue
        models[method.name] = out.model
        evaluations.append(evaluate(out.model, method.name, "method", data, out.seconds,
                                    config.seed, config.mia_score, method.get_params(), out.log))
    result = AuditResult(
        config=config, dataset_name=dataset.name, class_names=list(dataset.class_names),
        dataset_fingerprint=dataset.fingerprint(), splits_fingerprint=splits.fingerprint(),
        forget_fingerprint=forget_set.fingerprint(), forget_description=forget_set.description,
        forget_ids=forget_set.forget_ids, forget_classes=list(forget_set.classes),
        n_train=len(splits.train), n_forget=len(forget_set.forget),
        n_retain=len(forget_set.retain), n_test=len(splits.test),
        n_population=len(splits.population), train_config=recipe, baseline=base_eval,
        retrain=retrain_eval, methods=evaluations, failures=failures, versions=versions(),
        seconds=time.perf_counter() - start,
        closeness=[closeness(e.name, models[e.name], models["retrain"], forget, data.test)
                   for e in evaluations],
    )
    run = AuditRun(result, data, models, ctx)
    if config.attacks:
        from .deep_attacks import run_attacks

        result.attack_summaries, result.ulira = run_attacks(
            run, config.attacks, config.shadows, config.executor, config.ray_address,
            progress=progress)
    if config.checks:
        result.checks = run_checks(run, config.checks, config.thresholds, progress)
    result.verdicts = judge(result, config.thresholds)
    return run
