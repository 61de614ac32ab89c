"""The text audit: train (or load) a causal LM, retrain it without the forget set K times
(the reference ensemble), run the unlearning methods, measure everything per sample and judge
each method against the ensemble.

Results are plain dataclasses of numpy arrays and floats (``to_dict`` for JSON). The metrics
follow TOFU (Maini et al., arXiv 2401.06121) and OpenUnlearning: forget quality is the KS
p-value of truth ratios against the retrain models (pooled over the retrain seeds), PrivLeak
(MUSE, Shi et al., arXiv 2407.06460) is taken against the retrain models' Min-k% AUC. The
verdict is the classifiers' (``checks/judge.py``, ``checks/verdict.py``): every text check
(``text/checks.py``) is measured once per model, each method's figure is placed against the
retrain ensemble's band and the untouched original is the do-nothing control that gives a check
its power. Trained models are cached by fingerprint (``text/cache.py``): a rerun trains nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from unlearn_core.audit.claim import SubmittedFile
from unlearn_core.audit.estimate import duration
from unlearn_core.checks.base import Measurement
from unlearn_core.checks.judge import CheckSpec
from unlearn_core.checks.sequential import DEFAULT_EXTRA, borderline, extension_note
from unlearn_core.checks.verdict import Verdict
from unlearn_core.errors import ConfigError
from unlearn_core.methods.params import unique_label
from unlearn_core.progress import ProgressFn, report
from unlearn_core.text.cache import ModelCache, config_dict, default_cache, model_hash
from unlearn_core.text.cache import fingerprint as model_fingerprint
from unlearn_core.text.checks import judge_text, measure_text_checks
from unlearn_core.text.claim import (
    CHANCE_Z,
    LearnedCheck,
    TextClaimRecord,
    TextClaimSpec,
    apply_text_claim_rules,
    check_text_learned,
    claim_config,
    input_files,
    load_text_claim,
    reference_seeds,
    text_fit_stage,
)
from unlearn_core.text.evaluation import ModelEvaluation
from unlearn_core.text.facts import (
    FactSetConfig,
    QAItem,
    generate_facts,
    partition,
    select_forget,
)
from unlearn_core.text.lm import (
    Encoded,
    LanguageModel,
    LMTrainConfig,
    TinyGPTConfig,
    build_tiny_gpt,
    encode_items,
    item_texts,
    load_lm,
    train_lm,
)
from unlearn_core.text.methods import TextContext, TextUnlearnOutput, make_text_method
from unlearn_core.text.metrics import (
    MIA_NAMES,
    TRUTH_SIDES,
    forget_quality,
    mia_auc,
    model_utility,
    privleak,
    score_items,
)
from unlearn_core.text.recipe import TextRecipe, read_text_recipe
from unlearn_core.text.userdata import load_text_data


@dataclass
class TextMethodSpec:
    """A method name and its hyperparameters (strings are converted to the field types)."""

    name: str
    params: dict = field(default_factory=dict)


RESERVED_LABELS = ("original", "retrain")  # the audit's own models: original, retrain#k


def run_labels(specs: list[TextMethodSpec]) -> list[str]:
    """Each method run's unique label, in order: its name, ``name#2``, ``name#3``... for more
    runs of one method (two learning rates of NPO: ``npo``, ``npo#2``); a name the original or
    a reference retrain owns gets `` (method)``. Results, measurements, verdicts, reports and
    the live models are keyed by it."""
    taken: set[str] = set()
    return [unique_label(s.name, taken, RESERVED_LABELS) for s in specs]


@dataclass
class TextAuditConfig:
    """Everything a text audit depends on; the same config and seed give the same numbers."""

    forget: str = "random:1"
    methods: list[TextMethodSpec] = field(
        default_factory=lambda: [TextMethodSpec("gradient_difference")])
    seed: int = 0
    facts: FactSetConfig = field(default_factory=FactSetConfig)
    model: TinyGPTConfig = field(default_factory=TinyGPTConfig)
    train: LMTrainConfig = field(default_factory=LMTrainConfig)
    retrain_seeds: int = 5
    data_path: Optional[str] = None
    model_path: Optional[str] = None
    max_eval: int = 300
    alpha: float = 0.05
    # the truth ratio's true side: "answer" (the trained phrasing; a model trained from scratch
    # on one phrasing does not carry a fact to another) or TOFU's "paraphrase"
    truth_side: str = "answer"
    # a third-party claim (``text.claim``): the original and claimed model folders and the
    # recipe file; the retrains then follow the recipe and the claims are judged blind
    claim: Optional[TextClaimSpec] = None
    # a text recipe file (``text.recipe``) of how the model was trained: the retrains (and the
    # built-in model) train with it instead of ``train``; its seed, if declared, is no retrain's
    recipe: Optional[str] = None
    # retrains added once when a pass is borderline or a verdict uncertain (the classifier's
    # sequential rule, ``checks.sequential``); 0: never
    extend_references: int = DEFAULT_EXTRA




TextVerdict = Verdict  # the shared verdict (status, judged checks, reason)


@dataclass
class TextAuditResult:
    """Everything measured and judged. ``measurements`` and ``check_specs`` are what the
    verdicts were judged from (``verify`` judges them again); ``control_powered`` says whether
    any check could tell the untouched original from retraining."""

    forget_ids: list[str]
    original: ModelEvaluation
    retrains: list[ModelEvaluation]
    methods: list[ModelEvaluation]
    verdicts: list[Verdict]
    control_powered: bool
    fingerprint: str
    measurements: list[Measurement] = field(default_factory=list)
    check_specs: list[CheckSpec] = field(default_factory=list)
    alpha: float = 0.05
    config: Optional["TextAuditConfig"] = None
    kind: str = "text"
    claim: Optional[TextClaimRecord] = None  # a third-party claim's files, recipe and fit
    # a user's or claimant's model folder: the check that it learned the facts (None for the
    # built-in model, which the audit trains itself)
    learned: Optional[LearnedCheck] = None
    # the user's own model folder's files and recipe file, by SHA-256, as read for the audit
    # (``reproducibility.inputs``; a claim's are in ``claim``)
    inputs: list[SubmittedFile] = field(default_factory=list)
    # the reference retrains' seeds, in order (a claim's skip its declared seed)
    retrain_seeds: list[int] = field(default_factory=list)
    # retrains the sequential rule added, and why (``checks.sequential.extension_note``)
    extended: int = 0
    extended_because: str = ""
    seconds: float = 0.0  # the whole audit's wall time
    # one line each, said in the report and on the command line (a retrain recipe that does
    # not reach the user's model, ...)
    warnings: list[str] = field(default_factory=list)

    @property
    def reference_names(self) -> list[str]:
        return [r.name for r in self.retrains]

    # what the run store's list shows (``store.db.summary_values`` reads these by name)
    @property
    def dataset_name(self) -> str:
        path = getattr(self.config, "data_path", None)
        return Path(path).name if path else "facts"

    @property
    def model_name(self) -> str:
        cfg = self.config
        folder = (cfg.claim.original if cfg is not None and cfg.claim is not None else
                  getattr(cfg, "model_path", None))
        return Path(folder).name if folder else "tiny-gpt"

    @property
    def forget_description(self) -> str:
        return str(getattr(self.config, "forget", ""))

    @property
    def n_forget(self) -> int:
        return len(self.forget_ids)

    def evaluations(self) -> list[ModelEvaluation]:
        """The original, every reference retrain, then each method, as the tables show them."""
        return [self.original, *self.retrains, *self.methods]

    @property
    def retrain(self) -> ModelEvaluation:
        return self.retrains[0]

    def speedup(self, method: ModelEvaluation) -> float:
        return self.retrain.seconds / max(method.seconds, 1e-9)

    def to_dict(self) -> dict:
        def conv(x):
            if isinstance(x, np.ndarray):
                return [None if isinstance(v, float) and np.isnan(v) else v for v in x.tolist()]
            if isinstance(x, float) and np.isnan(x):
                return None
            if isinstance(x, dict):
                return {k: conv(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [conv(v) for v in x]
            if dataclasses.is_dataclass(x):
                return {f.name: conv(getattr(x, f.name)) for f in dataclasses.fields(x)
                        if f.name != "token_logprobs"}
            if isinstance(x, np.generic):
                return x.item()
            return x
        out = conv(self)
        for v, d in zip(self.verdicts, out["verdicts"]):
            d["passed"] = v.passed
            d["headline"] = v.headline
        return out


@dataclass
class TextRun:
    """The result and the live models (for the app's per-token views)."""

    result: TextAuditResult
    models: dict[str, LanguageModel]
    items: list[QAItem]


def load_items(cfg: TextAuditConfig) -> list[QAItem]:
    if cfg.data_path:
        return load_text_data(cfg.data_path)
    return generate_facts(dataclasses.replace(cfg.facts, seed=cfg.seed)).items


def fingerprint(cfg: TextAuditConfig) -> str:
    d = dataclasses.asdict(cfg)
    for key in ("claim", "recipe"):  # an audit without them keeps the fingerprint it had
        if d.get(key) is None:
            d.pop(key, None)
    if not d.get("extend_references"):  # nor one without the sequential rule
        d.pop("extend_references", None)
    blob = json.dumps(d, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def base_model(cfg: TextAuditConfig, items: list[QAItem], train_items: list[QAItem],
               progress: Optional[ProgressFn] = None,
               cache: Optional[ModelCache] = None) -> LanguageModel:
    """The user's model folder, or the built-in tiny GPT trained on ``train_items`` (from the
    model cache when the same data, size, recipe and seed were trained before)."""
    return trained_base(cfg, items, train_items, progress, cache)[0]


def trained_base(cfg: TextAuditConfig, items: list[QAItem], train_items: list[QAItem],
                 progress: Optional[ProgressFn] = None, cache: Optional[ModelCache] = None
                 ) -> tuple[LanguageModel, bool]:
    """``base_model`` and whether its weights came from the cache."""
    if cfg.model_path:
        return load_lm(cfg.model_path), False
    cache = cache if cache is not None else default_cache()
    lm, enc, recipe, key = _base_plan(cfg, items, train_items)
    _, cached = cache.train(key, lm, lambda: train_lm(lm, enc, recipe, progress, task="train"))
    if cached:
        report(progress, "train (cached)", 1, 1)
    return lm, cached


def _base_plan(cfg: TextAuditConfig, items: list[QAItem], train_items: list[QAItem]):
    """The built-in model before training, its encoded training items, recipe and cache key."""
    lm = build_tiny_gpt(item_texts(items), cfg.model, seed=cfg.seed)
    recipe = dataclasses.replace(cfg.train, seed=cfg.seed)
    enc = encode_items(lm, train_items)
    key = model_fingerprint("original", item_texts(items), enc, config_dict(lm),
                            dataclasses.asdict(recipe), cfg.seed)
    return lm, enc, recipe, key


def base_train_seconds(cfg: TextAuditConfig, items: list[QAItem],
                       cache: Optional[ModelCache] = None) -> Optional[float]:
    """How long training the built-in model took, as the model cache recorded it (None for
    the user's own folder, or before it was trained): what ``estimate_text_audit`` scales."""
    if cfg.model_path:
        return None
    cache = cache if cache is not None else default_cache()
    lm, _, _, key = _base_plan(cfg, items, trained_items(items))
    return cache.fetch(key, lm)


def estimate_text_audit(train_seconds: float, n_trained: int, n_retain: int, k: int,
                        extend: int = 0) -> tuple[float, str]:
    """A text audit's training time from the original's (``base_train_seconds``): each
    retrain trains the same recipe on the retained items only, so it takes the original's time
    scaled by their share; the methods' seconds come on top. Returns (seconds, the sentence
    the page shows), which says what the sequential rule may add."""
    each = train_seconds * n_retain / max(n_trained, 1)
    text = (f"About {duration(k * each)} to train {k} retrains (about {duration(each)} "
            f"each: the original took {duration(train_seconds)} on {n_trained} items, a retrain "
            f"trains on the {n_retain} kept), plus the methods; retrains in the model cache cost "
            "nothing")
    if extend:
        text += (f"; up to {duration(extend * each)} more when a verdict is borderline "
                 f"({extend} more retrains)")
    return k * each, text + "."



def cached_retrain(lm: LanguageModel, forget: Encoded, retain: Encoded, ctx: TextContext,
                   cache: Optional[ModelCache] = None) -> tuple[TextUnlearnOutput, bool]:
    """Retrain from scratch on ``retain`` with ``ctx.seed`` (the reference), from the model
    cache when this architecture, retain set, recipe and seed were trained before."""
    cache = cache if cache is not None else default_cache()
    recipe = dataclasses.replace(ctx.train_config, seed=ctx.seed)
    key = model_fingerprint("retrain", config_dict(lm), retain, dataclasses.asdict(recipe),
                            ctx.seed)
    fresh = lm.fresh(ctx.seed)
    seconds = cache.fetch(key, fresh)
    if seconds is not None:
        report(ctx.progress, "retrain (cached)", 1, 1)
        return TextUnlearnOutput(fresh, seconds, [
            f"from the model cache (trained {recipe.epochs} epochs on {len(retain)} sequences "
            f"in {seconds:.1f}s)"]), True
    out = make_text_method("retrain").unlearn(lm, forget, retain, ctx)
    cache.trained += 1
    cache.store(key, out.lm, out.seconds)
    return out, False


def trained_items(items: list[QAItem]) -> list[QAItem]:
    """What the original model is trained on: every ``train`` and ``world`` item, in order."""
    return [it for it in items if it.split in ("train", "world")]


def _sample(items: list[QAItem], n: int, seed: int) -> list[QAItem]:
    if len(items) <= n:
        return items
    idx = np.sort(np.random.default_rng(seed).choice(len(items), n, replace=False))
    return [items[i] for i in idx]


def retrain_label(k: int) -> str:
    """The run label of the k-th reference retrain (0-based): retrain, retrain#2, ..."""
    return "retrain" if k == 0 else f"retrain#{k + 1}"


def run_text_audit(cfg: TextAuditConfig, progress: Optional[ProgressFn] = None,
                   cache: Optional[ModelCache] = None) -> TextRun:
    """Run the whole audit for ``cfg``. ``cache``: where trained models are kept (default:
    the process-wide cache under ``$UNLEARN_CACHE_DIR``; ``ModelCache(enabled=False)`` always
    trains)."""
    started = time.perf_counter()
    if cfg.retrain_seeds < 1:
        raise ConfigError("retrain_seeds must be at least 1")
    extend = cfg.extend_references
    if isinstance(extend, bool) or not isinstance(extend, int) or not 0 <= extend <= 50:
        raise ConfigError("extend_references must be a whole number from 0 to 50: the "
                          f"retrains added when a verdict is borderline, got {extend!r}")
    if not 0 < cfg.alpha < 1:
        raise ConfigError(f"alpha must lie between 0 and 1, got {cfg.alpha}")
    if cfg.truth_side not in TRUTH_SIDES:
        raise ConfigError(f"truth_side must be one of {', '.join(TRUTH_SIDES)}, not "
                          f"'{cfg.truth_side}'")
    if any(m.name == "retrain" for m in cfg.methods):
        raise ConfigError("retrain always runs as the reference; set retrain_seeds "
                          "(--retrain-seeds) for more than one")
    methods = [make_text_method(m.name, **m.params) for m in cfg.methods]
    claim = load_text_claim(cfg.claim) if cfg.claim is not None else None
    if claim is not None:  # the declared recipe trains the retrains; paths recorded absolute
        cfg = claim_config(cfg, claim)
    recipe = None
    if cfg.recipe and claim is None:  # the user's declared recipe trains the retrains
        cfg, recipe = recipe_config(cfg)
    cache = cache if cache is not None else default_cache()
    items = load_items(cfg)
    forget_ids = select_forget(items, cfg.forget, cfg.seed)
    forget, retain, holdout, world = partition(items, forget_ids)
    # the deployed model does not depend on what will be forgotten: trained on every trained
    # and world item in the data's order (so the app can train it before the forget set is
    # picked, and one cached original serves every request)
    lm, lm_cached = (claim.original, False) if claim is not None else \
        trained_base(cfg, items, trained_items(items), progress, cache)
    f_enc, r_enc = encode_items(lm, forget), encode_items(lm, retain + world)
    h_enc = encode_items(lm, holdout) if holdout else None
    ctx = TextContext(seed=cfg.seed, train_config=dataclasses.replace(cfg.train, seed=cfg.seed),
                      holdout=h_enc, progress=progress)
    retain_eval = _sample(retain, cfg.max_eval, cfg.seed)
    holdout_eval = _sample(holdout, cfg.max_eval, cfg.seed + 1)

    def evaluate(name: str, model: LanguageModel, seconds: float, log: list[str],
                 cached: bool = False, method: str = "", params: Optional[dict] = None) -> dict:
        report(progress, f"evaluate {name}", 0, 1)
        return dict(name=name, method=method or name, params=params or {}, seconds=seconds,
                    log=log, cached=cached, model_hash=model_hash(model),
                    forget=score(model, forget), retain=score(model, retain_eval),
                    holdout=score(model, holdout_eval),
                    # world facts keep the answer side, as OpenUnlearning's model utility
                    # does (TOFU's real-author and world-fact sets have no paraphrase)
                    world=score_items(model, world, truth_side="answer") if world else None)

    def score(model: LanguageModel, subset: list[QAItem]):
        return score_items(model, subset, truth_side=cfg.truth_side)

    models: dict[str, LanguageModel] = {"original": lm}
    raw: list[dict] = [evaluate("original", lm, 0.0, [], lm_cached)]
    learned = None
    if claim is not None or cfg.model_path:  # a submitted or the user's own model: refused
        # before anything is trained when it learned nothing (the built-in one is trained here)
        folder = cfg.claim.original if claim is not None else cfg.model_path
        learned = check_text_learned(
            lm, np.concatenate([raw[0]["forget"].answer_correct, raw[0]["retain"].answer_correct]),
            np.concatenate([raw[0]["forget"].mean_nll, raw[0]["retain"].mean_nll]),
            forget + retain_eval, cfg.seed, Path(folder).name, raw[0]["holdout"])
    declared = claim.recipe if claim is not None else recipe
    seeds = reference_seeds(cfg.seed, cfg.retrain_seeds,
                            declared.seed if declared is not None else None)
    for k, seed in enumerate(seeds):
        out, hit = cached_retrain(lm, f_enc, r_enc, dataclasses.replace(ctx, seed=seed), cache)
        name = retrain_label(k)
        models[name] = out.lm
        raw.append(evaluate(name, out.lm, out.seconds, out.log, hit, method="retrain"))
    for label, claimed in (claim.claimed if claim is not None else {}).items():
        models[label] = claimed  # judged blind, like a method's output
        raw.append(evaluate(label, claimed, 0.0, ["submitted by the claimant"], method="claim"))
    for label, method in zip(run_labels(cfg.methods), methods):
        out = method.unlearn(lm, f_enc, r_enc, ctx)
        models[label] = out.lm
        raw.append(evaluate(label, out.lm, out.seconds, out.log, method=method.name,
                            params=method.get_params()))
    record = None
    if claim is not None:
        fit = text_fit_stage(claim, learned, encode_items(lm, trained_items(items)), raw[0],
                             [(models[r["name"]], r) for r in raw[1: 1 + len(seeds)]], seeds,
                             cfg.seed, cfg.claim.fit_originals, score, retain_eval,
                             holdout_eval, cache, progress, cfg.alpha)
        record = TextClaimRecord(claim.files, claim.recipe.train, claim.recipe.seed, seeds,
                                 learned, fit)
    result = _assemble(cfg, forget_ids, raw, record)
    found = borderline(result.verdicts) if cfg.extend_references else []
    if found:  # the sequential rule: more retrains (the next seeds), every model judged again
        k0 = len(seeds)
        more = reference_seeds(cfg.seed, k0 + cfg.extend_references,
                               declared.seed if declared is not None else None)[k0:]
        added = []
        for k, seed in enumerate(more, start=k0):
            out, hit = cached_retrain(lm, f_enc, r_enc, dataclasses.replace(ctx, seed=seed),
                                      cache)
            models[retrain_label(k)] = out.lm
            added.append(evaluate(retrain_label(k), out.lm, out.seconds, out.log, hit,
                                  method="retrain"))
        raw = [*raw[: 1 + k0], *added, *raw[1 + k0:]]
        seeds = [*seeds, *more]
        if record is not None:
            record = dataclasses.replace(record, retrain_seeds=list(seeds))
        result = _assemble(cfg, forget_ids, raw, record, n_ret=len(seeds))
        result.extended = len(more)
        result.extended_because = extension_note(found, k0, len(more))
    result.learned = learned
    result.retrain_seeds = list(seeds)
    if cfg.model_path and claim is None:
        result.inputs = input_files(cfg.model_path, cfg.recipe)
    if cfg.model_path and not cfg.recipe:
        result.warnings += [w for w in [recipe_warning(result, cfg)] if w]
    result.seconds = time.perf_counter() - started
    return TextRun(result, models, items)


def recipe_config(cfg: TextAuditConfig) -> tuple[TextAuditConfig, TextRecipe]:
    """The config with its recipe file's training (``cfg.recipe``, read and checked; recorded
    by its absolute path), and the recipe. A different ``train`` beside it is refused: the
    recipe is given twice."""
    recipe = read_text_recipe(cfg.recipe)
    if cfg.train not in (LMTrainConfig(), recipe.train):
        raise ConfigError("the recipe is given twice (a recipe file and --epochs/--lr or the "
                          "config's 'train'), and they differ: give it once, in the recipe file")
    return dataclasses.replace(cfg, train=recipe.train,
                               recipe=str(Path(cfg.recipe).expanduser().resolve())), recipe


FAR_BELOW = 0.10  # retain accuracy the retrains may fall short of the user's model by


def recipe_warning(result: TextAuditResult, cfg: TextAuditConfig) -> Optional[str]:
    """One line when the retrains, trained with a recipe the user did not declare, answer the
    retained facts far worse than the user's model: more than ``FAR_BELOW`` below its retain
    accuracy, and below it by more than 3.09 standard errors of the per-item difference
    (one-sided 0.1%, the items paired). They are then no model of how it was trained,
    and a method is judged against retrains it could not resemble. None otherwise."""
    mine = np.asarray(result.original.retain.answer_correct, dtype=float)
    if len(mine) < 2:
        return None
    # per retained item: the model's answer right (1/0) less the retrains' share right
    gap = mine - np.mean([r.retain.answer_correct for r in result.retrains], axis=0)
    se = float(np.std(gap, ddof=1) / math.sqrt(len(gap)))
    own, theirs = float(mine.mean()), float(mine.mean() - gap.mean())
    if not (gap.mean() > FAR_BELOW and gap.mean() - CHANCE_Z * se > 0):
        return None
    t = cfg.train
    which = "the built-in recipe" if t == LMTrainConfig() else "the recipe of --epochs/--lr"
    return (f"the retrains reach retain accuracy {theirs:.2f} against your model's {own:.2f}: "
            f"they were trained with {which} (AdamW, lr {t.lr:g}, {t.epochs} "
            f"epochs, batch {t.batch_size}), not the one your model was trained with; declare "
            "yours with --recipe FILE (a text recipe file, docs/claims.md)")


def _assemble(cfg: TextAuditConfig, forget_ids: list[str], raw: list[dict],
              claim: Optional[TextClaimRecord] = None,
              n_ret: Optional[int] = None) -> TextAuditResult:
    n_ret = cfg.retrain_seeds if n_ret is None else n_ret
    orig_raw, ret_raw, meth_raw = raw[0], raw[1: 1 + n_ret], raw[1 + n_ret:]
    pool = np.concatenate([r["forget"].truth_ratio for r in ret_raw])

    def aucs(r: dict) -> dict[str, float]:
        return {m: mia_auc(r["forget"].mia[m], r["holdout"].mia[m]) for m in MIA_NAMES}

    ret_auc = float(np.nanmean([aucs(r)["min_k"] for r in ret_raw]))

    def build(r: dict, reference: np.ndarray) -> ModelEvaluation:
        a = aucs(r)
        return ModelEvaluation(
            name=r["name"], seconds=r["seconds"], forget=r["forget"], retain=r["retain"],
            holdout=r["holdout"], world=r["world"],
            forget_quality=forget_quality(r["forget"].truth_ratio, reference),
            model_utility=model_utility(r["retain"], r["world"]), mia_auc=a,
            privleak=privleak(a["min_k"], ret_auc), log=r["log"], cached=r["cached"],
            model_hash=r["model_hash"], method=r["method"], params=r["params"])

    retrains = []
    for k, r in enumerate(ret_raw):
        others = [o["forget"].truth_ratio for j, o in enumerate(ret_raw) if j != k]
        reference = np.concatenate(others) if others else np.full(1, np.nan)
        retrains.append(build(r, reference))
    original = build(orig_raw, pool)
    methods = [build(r, pool) for r in meth_raw]
    evals = {e.name: e for e in [original, *retrains, *methods]}
    refs = [r.name for r in retrains]
    measurements, specs = measure_text_checks(evals, refs, "original",
                                              [m.name for m in methods], cfg.seed)
    verdicts = judge_text(measurements, specs, [m.name for m in methods], refs, "original",
                          cfg.alpha)
    if claim is not None:  # the original bit for bit fails; a recipe that does not fit: none
        apply_text_claim_rules(verdicts, claim.fit, {m.name: m.model_hash for m in methods},
                               [m.name for m in methods if m.method == "claim"],
                               original.model_hash, cfg.alpha)
    powered = control_powered(measurements, specs, refs, cfg.alpha)
    return TextAuditResult(forget_ids, original, retrains, methods, verdicts, powered,
                           fingerprint(cfg), measurements, specs, cfg.alpha, cfg, claim=claim)


def control_powered(measurements: list[Measurement], specs: list[CheckSpec],
                    references: list[str], alpha: float = 0.05) -> bool:
    """Whether any forgetting check can tell the untouched original from the retrains (the
    original judged as if it were a method, against itself as the control)."""
    v = judge_text(measurements, specs, ["original"], references, "original", alpha)[0]
    return any(c.powered for c in v.checks)
