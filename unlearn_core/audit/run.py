"""The audit as stages, each from plain data to plain data and importing only downward:

data (``audit.data``) -> baseline -> reference ensemble (``reference.retrains``: K retrains, cached)
-> method runs (each under a unique run label) -> measurements (``checks``: check x model)
-> judged checks (``checks.judge``) -> verdicts (``checks.verdict``) -> report / store.

Everything the app and the command line show comes from the ``AuditResult`` returned here.
"""

from __future__ import annotations

import math
import platform
import time
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np
from torch import nn

from unlearn_core.attacks import AttackSummary, ULiRAResult
from unlearn_core.audit import data as audit_data
from unlearn_core.audit.claim import (
    ClaimInputs,
    ClaimRecord,
    ClaimSpec,
    SubmittedRetrainCheck,
    check_learned,
    claim_warnings,
    fit_stage,
    judge_claims,
    load_claim,
    resolved,
    submitted_trust,
    validate_claim,
)
from unlearn_core.audit.data import AuditData, train_baseline
from unlearn_core.audit.evidence import EvidenceSet
from unlearn_core.audit.evidence import collect as collect_evidence
from unlearn_core.checks import (
    CHECKS,
    CheckContext,
    Measurement,
    available_checks,
    default_checks,
)
from unlearn_core.checks.judge import CheckResult, CheckSpec
from unlearn_core.checks.levels import grade
from unlearn_core.checks.loop import ReferenceGroup, measure_groups
from unlearn_core.checks.sequential import DEFAULT_EXTRA, borderline, extension_note
from unlearn_core.checks.verdict import (
    Verdict,
    VerdictThresholds,
    VerificationCheck,
    check_families,
    judge_models,
    judge_result,
)
from unlearn_core.data import Dataset, Samples, Splits
from unlearn_core.data.forget import resolve_forget
from unlearn_core.device import check_device, use_device
from unlearn_core.errors import ConfigError, UnlearnError
from unlearn_core.methods import UnlearnContext, make_method
from unlearn_core.metrics import (
    AccuracyReport,
    Closeness,
    ThresholdAttack,
    ThresholdMIAResult,
    accuracy_report,
    closeness,
    mia_efficacy,
)
from unlearn_core.models import (
    ModelSpec,
    TrainConfig,
    check_compatible,
    model_hash,
    predict_logits,
)
from unlearn_core.progress import ProgressFn, report
from unlearn_core.reference.cache import default_cache
from unlearn_core.reference.retrains import (
    DEFAULT_REFERENCE_SEEDS,
    ReferenceInfo,
    reference_ensemble,
    reference_seeds,
)
from unlearn_core.serialize import from_jsonable, to_jsonable

# verification scenarios (scenarios/)
SCENARIOS = ("inversion", "backdoor", "restor", "confusion")
OPT_IN_STAGES = ("klom",)  # checks computed by their own stage (many models)
RESERVED_LABELS = ("baseline", "retrain")
# stages that apply the method again to models of their own (a claim has no method to apply)
RERUN_METHOD = ("ulira", "klom", "backdoor", "restor", "confusion")


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
    id_column: Optional[str] = None  # a CSV's sample-id column (``data.id_columns``)
    drop_columns: list[str] = field(default_factory=list)  # CSV columns that are not features
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
    checks: list[str] = field(default_factory=list)  # opt-in checks and scenarios
    reference_seeds: int = DEFAULT_REFERENCE_SEEDS  # K retrains the verdict is calibrated on
    # retrains added once when a pass is borderline (``checks.sequential``); 0: never
    extend_references: int = DEFAULT_EXTRA
    device: str = "auto"  # auto ($UNLEARN_DEVICE, else CUDA when present, else cpu), cpu, cuda
    mixed_precision: bool = False  # bfloat16 autocast in training, CUDA only (opt-in)
    claim: Optional[ClaimSpec] = None  # a third-party claim to audit (``audit.claim``)


@dataclass
class ModelEvaluation:
    """One model measured: accuracies, membership inference, time and provenance.

    ``name`` is the model's unique run label (``finetune``, ``finetune:epochs=10``,
    ``retrain#2``); ``method`` the registry name; ``reference_group`` the ensemble a reference
    model belongs to; ``reference`` and ``control`` name the ensemble and the do-nothing model a
    method is judged against."""

    name: str
    role: str  # "baseline", "retrain" (a member of a reference ensemble), "control" or "method"
    accuracy: AccuracyReport
    mia: ThresholdMIAResult
    mia_efficacy: float  # share of forget samples an SVC calls non-members (Jia et al. 2023)
    seconds: float
    model_hash: str
    params: dict = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    method: str = ""
    reference_group: str = ""
    reference: str = "retrain"
    control: str = "baseline"


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
    n_population: int  # the audit's known non-members (half of the population split)
    train_config: TrainConfig
    baseline: ModelEvaluation
    retrain: ModelEvaluation  # the first model of the retrain ensemble
    methods: list[ModelEvaluation]
    failures: list[MethodFailure]
    versions: dict[str, str]
    seconds: float
    closeness: list[Closeness] = field(default_factory=list)  # each method vs retrain
    verdicts: list[Verdict] = field(default_factory=list)
    attack_summaries: list[AttackSummary] = field(default_factory=list)
    ulira: list[ULiRAResult] = field(default_factory=list)
    checks: list[VerificationCheck] = field(default_factory=list)  # verification scenarios
    references: list[ModelEvaluation] = field(default_factory=list)  # every ensemble member
    controls: list[ModelEvaluation] = field(default_factory=list)  # exact methods' originals
    ensembles: list[ReferenceInfo] = field(default_factory=list)
    check_specs: list[CheckSpec] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    extra_results: list[CheckResult] = field(default_factory=list)  # exactness, U-LiRA, KLOM
    skipped_checks: dict[str, str] = field(default_factory=dict)  # check -> why not run
    n_method_pool: int = 0  # unseen samples methods may use, disjoint from the audit's
    warnings: list[str] = field(default_factory=list)
    evidence: Optional[EvidenceSet] = None  # per-sample evidence of the figures
    claim: Optional[ClaimRecord] = None  # a third-party claim: files, recipe, fit check

    def evaluations(self) -> list[ModelEvaluation]:
        """Baseline, retrain, then each method, in the order a table shows them."""
        return [self.baseline, self.retrain, *self.methods]

    def verdict_for(self, label: str) -> Optional[Verdict]:
        return next((v for v in self.verdicts if v.method == label), None)

    def to_dict(self) -> dict:
        return to_jsonable(self)

    @staticmethod
    def from_dict(data: dict) -> "AuditResult":
        return from_jsonable(AuditResult, upgrade_record(data))


LEGACY = "legacy"


def upgrade_record(data: dict) -> dict:
    """A result written by an earlier release opens: its verdict checks (fixed thresholds,
    pass/fail only, no bands, intervals or power) become judged checks marked ``legacy``, and
    the verdict keeps the recorded outcome with a reason saying what it lacks."""
    verdicts = data.get("verdicts") or []
    if not verdicts or all("status" in v for v in verdicts):
        return data
    data = dict(data)
    nan = "NaN"
    upgraded = []
    for v in verdicts:
        checks = []
        for c in v.get("checks", []):
            passed = bool(c.get("passed"))
            checks.append({
                "check": c.get("name", ""), "title": c.get("name", ""), "model": v.get("method"),
                "kind": LEGACY, "status": "pass" if passed else "fail",
                "figure": c.get("figure", nan), "se": nan, "n": 0,
                "ci_low": c.get("figure", nan), "ci_high": c.get("figure", nan),
                "band_low": nan, "band_high": nan,
                "band_source": f"fixed threshold {c.get('threshold')} (earlier release)",
                "reference_mean": nan, "reference_sd": nan, "k": 1, "control": nan,
                "powered": None, "power_margin": nan, "over_forgetting": False,
                "low_resolution": False, "reason": c.get("reason", "")})
        ok = all(c["status"] == "pass" for c in checks)
        upgraded.append({
            "method": v.get("method", ""), "status": "pass" if ok else "fail",
            "checks": checks,
            "reason": "recorded by an earlier release with fixed thresholds: no retrain band, "
                      "no intervals and no do-nothing control, so it cannot be re-judged"})
    data["verdicts"] = upgraded
    return data


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

    from unlearn_core.version import JUDGE_RULES, __version__

    return {"unlearn_core": __version__, "judge_rules": str(JUDGE_RULES),
            "python": platform.python_version(), "torch": torch.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def load_data(config: AuditConfig, dataset: Optional[Dataset] = None) -> tuple[Dataset, Splits]:
    """The dataset named in the config (or the one given) and its seeded splits."""
    return audit_data.load_data(config.dataset, config.seed, config.test_fraction,
                                config.population_fraction, config.label_column, dataset,
                                config.id_column, config.drop_columns)


def recipe_for(config: AuditConfig, dataset: Dataset, splits: Splits) -> TrainConfig:
    return audit_data.recipe_for(config.train, config.model, dataset, splits)


def evaluate(model: nn.Module, name: str, role: str, data: AuditData, seconds: float,
             seed: int, mia_score: str = "loss", params: Optional[dict] = None,
             log: Optional[list[str]] = None, **provenance: str) -> ModelEvaluation:
    """Measure one model on the audit's splits with the same attack as every other model."""
    forget, retain, test = data.forget, data.retain, data.test
    acc = accuracy_report(model, forget, retain, test, data.dataset.n_classes,
                          data.forget_set.classes)
    mia = ThresholdAttack(score=mia_score).run(model, forget, retain, test, data.population, seed,
                                               data.forget_set.classes)
    efficacy = mia_efficacy(model, forget, retain, test, seed=seed)
    return ModelEvaluation(name, role, acc, mia, efficacy, seconds, model_hash(model),
                           params or {}, log or [], **provenance)


def run_label(spec: MethodSpec, taken: set[str]) -> str:
    """A unique label for one run of a method: its name plus the hyperparameters it changed
    (``finetune:epochs=10``), with ``#2``, ``#3`` when the same settings run twice."""
    label = spec.name
    if spec.params:
        label += ":" + ",".join(f"{k}={v}" for k, v in spec.params.items())
    if label in RESERVED_LABELS or label.startswith("retrain#"):
        label += " (method)"  # the reference models and the original own these labels
    unique, i = label, 2
    while unique in taken:
        unique, i = f"{label}#{i}", i + 1
    taken.add(unique)
    return unique


def _reference_labels(group: str, k: int) -> list[str]:
    if group == "retrain":
        return ["retrain"] + [f"retrain#{i}" for i in range(2, k + 1)]
    return [f"{group}/scratch#{i}" for i in range(1, k + 1)]


def validate_config(config: AuditConfig) -> list:
    """Refuse a config that cannot run before any work: no method, unknown methods, attacks,
    checks, too few retrains. Returns the method objects."""
    if config.claim is not None:
        validate_claim(config.claim)
    elif not config.methods:
        raise ConfigError("no method to run: name at least one unlearning method")
    methods = [make_method(m.name, **m.params) for m in config.methods]  # fail fast on typos
    from unlearn_core.attacks.stage import ATTACKS

    unknown = sorted(set(config.attacks) - set(ATTACKS))
    if unknown:
        raise ConfigError(f"unknown attack '{unknown[0]}': use {', '.join(ATTACKS)}")
    known = set(SCENARIOS) | set(OPT_IN_STAGES) | set(available_checks())
    unknown = sorted(set(config.checks) - known)
    if unknown:
        raise ConfigError(f"unknown check '{unknown[0]}': use {', '.join(sorted(known))}")
    rerun = sorted((set(config.attacks) | set(config.checks)) & set(RERUN_METHOD))
    if config.claim is not None and rerun:
        raise ConfigError(f"{rerun[0]} re-runs the unlearning method on models of its own, and "
                          "a claimed model comes without one: in a claim audit use the other "
                          "attacks (threshold, lira, rmia), the inversion scenario and the "
                          "looking-inside checks")
    check_device(config.device)
    if not isinstance(config.reference_seeds, int) or not 2 <= config.reference_seeds <= 200:
        raise ConfigError("reference_seeds must be a whole number from 2 to 200: the verdict "
                          "needs at least two retrains to see their spread")
    extend = config.extend_references
    if isinstance(extend, bool) or not isinstance(extend, int) or not 0 <= extend <= 200:
        raise ConfigError("extend_references must be a whole number from 0 to 200: the "
                          "retrains added when a pass is borderline (0: never)")
    return methods


_Group = ReferenceGroup  # a reference group: an ensemble, its control, the methods judged on it


def measure_checks(check_names: list[str], models: dict[str, nn.Module], groups: list[_Group],
                   ctx_base: CheckContext, progress: Optional[ProgressFn] = None
                   ) -> tuple[list[Measurement], list[CheckSpec], dict[str, str]]:
    """Every applicable check on every model: the ensemble members (closeness checks
    leave-one-out), the controls and the methods of each group (the shared loop,
    ``checks.loop.measure_groups``)."""
    measurements: list[Measurement] = []
    specs: list[CheckSpec] = []
    skipped: dict[str, str] = {}
    for i, name in enumerate(check_names):
        report(progress, f"checks: {name}", i, len(check_names))
        check = CHECKS[name]()
        why = check.applicable(ctx_base)
        if why:
            skipped[name] = why
            continue
        specs.append(check.spec())
        contexts: dict[int, CheckContext] = {}  # per group: its control and references

        def measure(g: _Group, label: str, against: Optional[list[str]]) -> Measurement:
            ctx = contexts.get(id(g))
            if ctx is None:
                ctx = contexts[id(g)] = CheckContext(
                    ctx_base.data, models[g.control], [models[r] for r in g.refs],
                    ctx_base.seed, ctx_base.spec, ctx_base.recipe, ctx_base.cache,
                    ctx_base.max_eval)
            if against is None:
                return check.measure(models[label], ctx)
            return check.measure(models[label], ctx, [models[r] for r in against])

        measurements += measure_groups(groups, measure, check.closeness)
    report(progress, "checks", len(check_names), len(check_names))
    return measurements, specs, skipped


def exactness_result(label: str, counterpart_of: str, model: nn.Module, counterpart: nn.Module,
                     original: nn.Module, X: np.ndarray) -> CheckResult:
    """Exact methods against their exact counterpart (same method, same seed, trained from
    scratch without the samples): identical outputs mean the deletion is exact."""
    a, b = predict_logits(model, X), predict_logits(counterpart, X)
    diff = float(np.max(np.abs(a - b))) if len(X) else math.nan
    gap_orig = float(np.max(np.abs(predict_logits(original, X) - b))) if len(X) else math.nan
    identical = diff == 0.0
    status = "pass" if identical else "fail"
    reason = (f"outputs identical bit for bit to {counterpart_of} trained from scratch without "
              f"the samples ({len(X)} inputs compared); the original differs by up to "
              f"{gap_orig:.3g}" if identical else
              f"outputs differ from {counterpart_of} trained from scratch without the samples by "
              f"up to {diff:.3g}: the deletion is not exact")
    return CheckResult(
        check="exact", title="exact counterpart", model=label, kind="forgetting", status=status,
        figure=diff, se=0.0, n=len(X), ci_low=diff, ci_high=diff, band_low=0.0, band_high=0.0,
        band_source=f"{counterpart_of} from scratch on the retain set, same seed", k=1,
        reference_mean=0.0, reference_sd=0.0, control=gap_orig, powered=gap_orig > 0,
        power_margin=math.inf if gap_orig > 0 else 0.0, over_forgetting=False,
        low_resolution=False, reason=reason)


def small_set_warning(n_forget: int, verdicts: list[Verdict]) -> list[str]:
    """Name the checks too few samples cannot decide, each with the n it measures (the forget
    set's for a forgetting check, the retain or test set's for a utility one)."""
    weak: dict[str, int] = {}
    for v in verdicts:
        for c in v.checks:
            if c.low_resolution:
                weak.setdefault(c.title, c.n)
    if not weak:
        return []
    shown = ", ".join(f"{title} (n={n})" for title, n in sorted(weak.items()))
    return [f"these checks cannot decide reliably on the samples they measure (too few for "
            f"their intervals, or intervals wider than the retrain band; with {n_forget} "
            f"forget sample(s), one moves a share by {100 / max(n_forget, 1):.0f} points): "
            f"{shown}"]


def run_audit(config: AuditConfig, progress: Optional[ProgressFn] = None,
              dataset: Optional[Dataset] = None, baseline: Optional[nn.Module] = None,
              baseline_seconds: float = 0.0, cache=None) -> AuditRun:
    """Baseline, retrain ensemble and every requested method, measured and judged alike
    (``_run_audit``), on the config's device (``unlearn_core.device``: training, prediction
    and the executors' workers run there; models are handed back on the CPU)."""
    validate_config(config)
    with use_device(config.device, config.mixed_precision):
        return _run_audit(config, progress, dataset, baseline, baseline_seconds, cache)


def _run_audit(config: AuditConfig, progress: Optional[ProgressFn] = None,
               dataset: Optional[Dataset] = None, baseline: Optional[nn.Module] = None,
               baseline_seconds: float = 0.0, cache=None) -> AuditRun:
    """Baseline, retrain ensemble and every requested method, measured and judged alike.

    A method that fails with a user-facing error is recorded in ``failures`` and the others
    still run. ``baseline`` may be a model the user brought (checked for compatibility).
    ``cache`` (an ``EnsembleCache``, e.g. ``RunStore.ensemble_cache()``) keeps the reference
    ensemble and shadow sets for later audits (default: ``$UNLEARN_CACHE_DIR``).
    """
    methods = validate_config(config)
    start = time.perf_counter()
    # stage: data
    dataset, splits = load_data(config, dataset)
    forget_set = resolve_forget(dataset, splits, config.forget, config.seed)
    data = AuditData(dataset, splits, forget_set)
    recipe = recipe_for(config, dataset, splits)
    spec = ModelSpec(config.model, dataset.sample_shape, dataset.n_classes)
    claim: Optional[ClaimInputs] = None
    if config.claim is not None:  # stage: a third-party claim's files, read and checked
        if baseline is not None:
            raise ConfigError("a claim audit takes its original from the claim: pass no "
                              "baseline model besides it")
        config = replace(config, claim=resolved(config.claim))  # recorded with full paths
        claim = load_claim(config.claim, config.train, data)
        recipe, spec, baseline = claim.recipe.train, claim.spec, claim.original
        chance = check_learned(baseline, data, next(f.file for f in claim.files
                                                     if f.role == "original"))
        if config.model != spec.arch:
            config = replace(config, model=spec.arch)
    # stage: baseline
    if baseline is None:
        t0 = time.perf_counter()
        baseline = train_baseline(dataset, splits, config.model, recipe, config.seed, progress)
        baseline_seconds = time.perf_counter() - t0
    else:
        check_compatible(baseline, dataset.sample_shape, dataset.n_classes,  # every sample
                         probe=dataset.X, probe_ids=dataset.ids)
        # A TorchScript model has no registry spec: the retrain ensemble is trained on the
        # architecture named in the config, with the same recipe.
        spec = getattr(baseline, "spec", None) or spec
    ctx = UnlearnContext(n_classes=dataset.n_classes, seed=config.seed, spec=spec,
                         train_config=recipe, forget_classes=forget_set.classes,
                         population=data.method_pool, progress=progress)
    if np.intersect1d(data.method_pool.ids, data.population.ids).size:  # by construction never
        raise ConfigError("the methods' unseen pool overlaps the audit's calibration data")
    models: dict[str, nn.Module] = {"baseline": baseline}
    report(progress, "measuring baseline", 0, 1)
    base_eval = evaluate(baseline, "baseline", "baseline", data, baseline_seconds, config.seed,
                         config.mia_score, method="original")
    forget, retain = data.forget, data.retain
    cache = cache or default_cache()
    # stage: reference ensemble (a claimant's own retrains once they look like ours)
    avoid = () if claim is None or claim.recipe.seed is None else (claim.recipe.seed,)
    seeds = _seeds_avoiding(config.seed, config.reference_seeds, avoid)
    submitted, own = None, []
    if claim is not None and claim.submitted:
        submitted, own = _check_submitted(claim, data, spec, recipe, config, avoid, progress,
                                          cache)
    if submitted is not None and submitted.trusted:
        refs = list(claim.submitted.values())
        files = [f for f in claim.files if f.role == "submitted_retrain"]
        info = ReferenceInfo("retrain", submitted=[f.file for f in files])
        logs = [f"submitted by the claimant: {f.file} (SHA-256 {f.sha256[:16]}...)"
                for f in files]
    else:
        refs, info = reference_ensemble(data, spec, recipe, seeds, config.executor,
                                        config.ray_address, progress, cache=cache)
        logs = [f"retrained from scratch, seed {s}" for s in seeds]
        own = refs
    record: Optional[ClaimRecord] = None
    if claim is not None:  # stage: does the declared recipe reproduce the original?
        record = fit_stage(claim, data, spec, config.seed, config.claim.fit_originals, own,
                           chance, config.thresholds.alpha, config.executor,
                           config.ray_address, progress, cache)
        record.submitted = submitted
        record.reference = "submitted" if submitted is not None and submitted.trusted else \
            "trained here"
    ensembles = [info]
    per_model = info.seconds / max(1, info.k)
    ref_labels = _reference_labels("retrain", info.k)
    references = []
    for label, model, log in zip(ref_labels, refs, logs):
        models[label] = model
        references.append(evaluate(model, label, "retrain", data, per_model, config.seed,
                                   config.mia_score, log=[log],
                                   method="retrain", reference_group="retrain"))
    groups = [_Group("retrain", ref_labels, "baseline")]
    # stage: method runs, and the claimed models judged blind beside them
    evaluations, failures, controls, extra = [], [], [], []
    exact_methods: dict[str, tuple[str, dict]] = {}  # an exact method's group: its training
    taken: set[str] = set()
    for rec in (claim.files if claim is not None else []):
        if rec.role == "claimed":
            taken.add(rec.label)
            models[rec.label] = claim.claimed[rec.label]
            groups[0].members.append(rec.label)
            evaluations.append(evaluate(
                claim.claimed[rec.label], rec.label, "claim", data, 0.0, config.seed,
                config.mia_score, log=[f"submitted by the claimant: {rec.file} (SHA-256 "
                                       f"{rec.sha256[:16]}...)"], method="claim"))
    for spec_m, method in zip(config.methods, methods):
        label = run_label(spec_m, taken)
        try:
            out = method.unlearn(baseline, forget, retain, ctx)
        except UnlearnError as err:
            failures.append(MethodFailure(label, str(err)))
            continue
        models[label] = out.model
        group = groups[0]
        if method.exact and method.name != "retrain" and spec is not None:
            exact_methods[label] = (method.name, dict(spec_m.params))
            group = _exact_group(label, spec_m, method, data, spec, recipe, seeds, config,
                                 models, controls, ensembles, references, ctx, progress)
            groups.append(group)
        group.members.append(label)
        evaluations.append(evaluate(out.model, label, "method", data, out.seconds, config.seed,
                                    config.mia_score, method.get_params(), out.log,
                                    method=method.name, reference=group.name,
                                    control=group.control))
        if method.exact:
            counterpart = method.from_scratch(retain, ctx)
            probe_X = np.concatenate([forget.X, data.test.X])
            original = models[group.control]
            extra.append(exactness_result(label, method.name, out.model, counterpart, original,
                                          probe_X))
    # stage: measurements (check x model)
    check_names = default_checks() + [c for c in config.checks if c in CHECKS
                                      and c not in default_checks()]
    check_ctx = CheckContext(data, baseline, refs, config.seed, spec, recipe)
    measurements, specs, skipped = measure_checks(check_names, models, groups, check_ctx,
                                                  progress)
    # stage: more retrains where a verdict is borderline (``checks.sequential``), in each
    # reference group; never for a claimant's own retrains, which ours cannot extend
    if config.extend_references:
        grew = False
        for i, g in enumerate(groups):
            if i == 0 and submitted is not None and submitted.trusted:
                continue
            found = borderline(_judge_members(measurements, specs, evaluations, g, extra,
                                              config.thresholds))
            if found:
                at = next(j for j, e in enumerate(ensembles)
                          if e.kind == ("retrain" if i == 0 else g.name))
                ensembles[at] = _extend_group(g, i == 0, ensembles[at], found,
                                              exact_methods.get(g.name), data, spec, recipe,
                                              config, avoid, models, references, progress,
                                              cache)
                grew = True
        if grew:  # every check measured again on every model, against the larger ensembles
            refs = [models[r] for r in groups[0].refs]
            report(progress, "checks again, against the larger ensemble", 0, 1)
            check_ctx = CheckContext(data, baseline, refs, config.seed, spec, recipe,
                                     cache=check_ctx.cache)
            measurements, specs, skipped = measure_checks(check_names, models, groups,
                                                          check_ctx, progress)
    result = AuditResult(
        config=config, dataset_name=dataset.name, class_names=list(dataset.class_names),
        dataset_fingerprint=dataset.fingerprint(), splits_fingerprint=splits.fingerprint(),
        forget_fingerprint=forget_set.fingerprint(), forget_description=forget_set.description,
        forget_ids=forget_set.forget_ids, forget_classes=list(forget_set.classes),
        n_train=len(splits.train), n_forget=len(forget_set.forget),
        n_retain=len(forget_set.retain), n_test=len(splits.test),
        n_population=len(data.population), n_method_pool=len(data.method_pool),
        train_config=recipe, baseline=base_eval,
        retrain=references[0], methods=evaluations, failures=failures, versions=versions(),
        seconds=0.0,
        closeness=[closeness(e.name, models[e.name], models["retrain"], forget, data.test)
                   for e in evaluations],
        references=references, controls=controls, ensembles=ensembles, check_specs=specs,
        measurements=measurements, extra_results=extra, skipped_checks=skipped,
        claim=record,
    )
    run = AuditRun(result, data, models, ctx)
    result.evidence = collect_evidence(result, models, data, check_ctx)
    # optional stages: attacks, verification scenarios, KLOM
    if config.attacks:
        from unlearn_core.attacks.stage import run_attacks

        result.attack_summaries, result.ulira = run_attacks(
            run, config.attacks, config.shadows, config.executor, config.ray_address,
            progress=progress, cache=cache)
        result.extra_results += [ulira_result(u, config.thresholds, len(specs))
                                 for u in result.ulira]
    scenarios = [c for c in config.checks if c in SCENARIOS]
    if scenarios:
        from unlearn_core.scenarios.checks import run_checks

        result.checks = run_checks(run, scenarios, config.thresholds, progress)
    if "klom" in config.checks:
        from unlearn_core.checks.klom import klom_results

        result.extra_results += klom_results(run, progress)
    # stage: verdicts
    result.verdicts = judge_audit(result, config.thresholds)
    result.warnings = small_set_warning(result.n_forget, result.verdicts)
    result.warnings += claim_warnings(record)
    result.seconds = time.perf_counter() - start
    return run


def judge_audit(result: AuditResult,
                thresholds: Optional[VerdictThresholds] = None) -> list[Verdict]:
    """The verdicts of an audit from its recorded figures: every audited model judged
    (``checks.verdict.judge_result``), then a claim audit's own rules (the original's weights
    fail; a recipe that does not fit makes them inconclusive: ``audit.claim.judge_claims``).
    Each final verdict is then graded: its level of assurance and ranking figure
    (``checks.levels``). What the audit does, and what ``verify`` repeats."""
    t = thresholds or VerdictThresholds()
    verdicts = judge_claims(result, judge_result(result, t), t.alpha)
    families = check_families()
    for v in verdicts:
        v.grade = grade(v.checks, v.status, families)
    return verdicts


def run_claim_audit(claim: ClaimSpec, dataset: str = "digits", forget: str = "class:3",
                    progress: Optional[ProgressFn] = None, cache=None,
                    loaded: Optional[Dataset] = None, **settings) -> AuditRun:
    """Audit a third-party claim (``audit.claim``): the claimed models judged blind, like a
    method's output by every default check, against retrains of the declared recipe, once the
    recipe is shown to reproduce the original. ``settings``: other ``AuditConfig`` fields
    (``methods`` defaults to none: only the claim is judged). ``loaded``: the data set already
    in memory (the app's upload), named ``dataset`` in the record, instead of loading it."""
    settings.setdefault("methods", [])
    unknown = sorted(set(settings) - set(AuditConfig.__dataclass_fields__))
    if unknown:
        raise ConfigError(f"unknown audit setting '{unknown[0]}': use "
                          f"{', '.join(sorted(AuditConfig.__dataclass_fields__))}")
    return run_audit(AuditConfig(dataset=dataset, forget=forget, claim=claim, **settings),
                     progress, dataset=loaded, cache=cache)


def _judge_members(measurements: list[Measurement], specs: list[CheckSpec],
                   evaluations: list[ModelEvaluation], group: _Group,
                   extra: list[CheckResult], thresholds: VerdictThresholds) -> list[Verdict]:
    """The provisional verdicts of the models judged on ``group`` (the retrain ensemble), with
    their exact proofs: what the sequential rule reads before the other stages run."""
    by_key: dict[tuple[str, str], Measurement] = {}
    for m in measurements:
        by_key.setdefault((m.check, m.model), m)
    audited = [(e.name, group.refs, e.control) for e in evaluations if e.reference == group.name]
    return judge_models(by_key, specs, audited, thresholds.alpha, thresholds.overrides,
                        lambda label: [x for x in extra if x.model == label])


def _extend_group(group: _Group, main: bool, info: ReferenceInfo, found: list,
                  method: Optional[tuple[str, dict]], data: AuditData, spec: ModelSpec,
                  recipe: TrainConfig, config: AuditConfig, avoid: tuple[int, ...],
                  models: dict[str, nn.Module], references: list[ModelEvaluation], progress,
                  cache) -> ReferenceInfo:
    """``config.extend_references`` more models in ``group`` (the retrain ensemble, ``main``,
    or an exact method's from-scratch ensemble, ``method``) with the next seeds of the same
    sequence: trained, measured like every reference, added to the group; returns its
    ensemble's record, saying why (``checks.sequential.extension_note``)."""
    k0, more = info.k, config.extend_references
    new_seeds = _seeds_avoiding(config.seed, k0 + more, avoid)[k0:]
    added, added_info = reference_ensemble(data, spec, recipe, new_seeds, config.executor,
                                           config.ray_address, progress, method=method,
                                           cache=cache if main else None)
    labels = _reference_labels("retrain" if main else group.name, k0 + more)[k0:]
    what = "retrained from scratch" if main else f"{method[0]} from scratch on retain"
    for label, model, s in zip(labels, added, new_seeds):
        models[label] = model
        references.append(evaluate(model, label, "retrain", data, added_info.seconds / more,
                                   config.seed, config.mia_score,
                                   log=[f"{what}, seed {s} (added: a borderline verdict)"],
                                   method=method[0] if method else "retrain",
                                   reference_group=group.name))
    group.refs += labels
    return replace(info, seeds=info.seeds + new_seeds, seconds=info.seconds + added_info.seconds,
                   cached=info.cached and added_info.cached, extended=more,
                   extended_because=extension_note(found, k0, more))


def _seeds_avoiding(seed: int, k: int, avoid: tuple[int, ...]) -> list[int]:
    """The reference seeds, without a claimant's declared seed (the next one instead)."""
    return [s for s in reference_seeds(seed, k + len(avoid)) if s not in avoid][:k]


def _check_submitted(claim: ClaimInputs, data: AuditData, spec: ModelSpec, recipe: TrainConfig,
                     config: AuditConfig, avoid: tuple[int, ...], progress, cache
                     ) -> tuple[SubmittedRetrainCheck, list[nn.Module]]:
    """A claimant's own retrains judged like methods' outputs, by every default check, against
    a few retrains trained here with the declared recipe (``ClaimSpec.own_retrains``): trusted
    as the reference only when none fails or is uncertain (``audit.claim.submitted_trust``).
    Returns the check and the retrains trained here."""
    k = config.claim.own_retrains
    own_seeds = _seeds_avoiding(config.seed, k, avoid)
    own, _ = reference_ensemble(data, spec, recipe, own_seeds, config.executor,
                                config.ray_address, progress, cache=cache)
    labels = [f"own/retrain#{i}" for i in range(1, k + 1)]
    models = {"baseline": claim.original, **dict(zip(labels, own)), **claim.submitted}
    group = _Group("own", labels, "baseline", list(claim.submitted))
    ctx = CheckContext(data, claim.original, own, config.seed, spec, recipe)
    ms, specs, _ = measure_checks(default_checks(), models, [group], ctx, progress)
    by_key = {(m.check, m.model): m for m in ms}
    verdicts = judge_models(by_key, specs, [(label, labels, "baseline")
                                            for label in claim.submitted],
                            config.thresholds.alpha, config.thresholds.overrides)
    files = {f.label: f.file for f in claim.files if f.role == "submitted_retrain"}
    trusted, reason = submitted_trust(verdicts, files, k)
    return SubmittedRetrainCheck(k, own_seeds, verdicts, trusted, reason), own


def _exact_group(label, spec_m, method, data, spec, recipe, seeds, config, models, controls,
                 ensembles, references, ctx, progress) -> _Group:
    """An exact method's own reference: its from-scratch training with the ensemble's seeds on
    the retain set, and as control its from-scratch training on the whole training split."""
    params = dict(spec_m.params)
    refs, info = reference_ensemble(data, spec, recipe, seeds, config.executor,
                                     config.ray_address, progress, method=(method.name, params))
    info.kind = label
    ensembles.append(info)
    labels = _reference_labels(label, info.k)
    for ref_label, model, s in zip(labels, refs, seeds):
        models[ref_label] = model
        references.append(evaluate(model, ref_label, "retrain", data,
                                   info.seconds / max(1, info.k), config.seed, config.mia_score,
                                   log=[f"{method.name} from scratch on retain, seed {s}"],
                                   method=method.name, reference_group=label))
    control_label = f"{label}/original"
    original = method.from_scratch(Samples.concat([data.forget, data.retain]), ctx)
    models[control_label] = original
    controls.append(evaluate(original, control_label, "control", data, 0.0, config.seed,
                             config.mia_score, method=method.name))
    return _Group(label, labels, control_label)


def ulira_result(u: ULiRAResult, thresholds: VerdictThresholds, n_checks: int) -> CheckResult:
    """U-LiRA (Hayes et al. 2024) judged against its own null: unlearned samples that cannot be
    told from never-seen ones give AUC 0.5, within the sampling error of its trials."""
    from scipy import stats

    from unlearn_core.checks import auc_se
    from unlearn_core.checks.judge import critical_level, fmt

    n_pos, n_neg = len(u.scores_unlearned), len(u.scores_never_seen)
    q = critical_level(n_checks + 1, thresholds.alpha)
    z = float(stats.norm.ppf(q))
    limit = thresholds.overrides.get("ulira")
    half = limit if limit is not None else z * auc_se(0.5, n_pos, n_neg)
    se = auc_se(u.auc, n_pos, n_neg)
    lo, hi = 0.5 - half, 0.5 + half
    ci_lo, ci_hi = u.auc - z * se, u.auc + z * se
    if lo <= u.auc <= hi:
        status = "pass"
    elif ci_hi < lo or ci_lo > hi:
        status = "fail"
    else:
        status = "uncertain"
    source = (f"user limit +/-{limit:g} around 0.5" if limit is not None else
              "AUC 0.5 (unlearned cannot be told from never seen) within sampling error")
    reason = (f"U-LiRA AUC {fmt(u.auc)} (interval {fmt(ci_lo)} to {fmt(ci_hi)}, {n_pos} + "
              f"{n_neg} trials) against [{fmt(lo)}, {fmt(hi)}]: unlearned "
              f"{'cannot' if status == 'pass' else 'can' if status == 'fail' else 'may'} be "
              "told from never seen")
    return CheckResult(
        check="ulira", title="U-LiRA", model=u.method, kind="scenario", status=status,
        figure=u.auc, se=se, n=n_pos, ci_low=ci_lo, ci_high=ci_hi, band_low=lo, band_high=hi,
        band_source=source, reference_mean=0.5, reference_sd=math.nan, k=0, control=math.nan,
        powered=None, power_margin=math.nan, over_forgetting=u.auc < lo, low_resolution=False,
        reason=reason)
