"""The text audit: train (or load) a causal LM, retrain it without the forget set, run the
unlearning methods, measure everything per sample and judge each method against retraining.

Results are plain dataclasses of numpy arrays and floats (``to_dict`` for JSON). The metrics
and the verdict follow TOFU (Maini et al., arXiv 2401.06121) and OpenUnlearning: forget quality
is the KS p-value of truth ratios against the retrain models (pooled over the retrain seeds),
PrivLeak (MUSE, Shi et al., arXiv 2407.06460) is taken against the retrain models' Min-k% AUC,
and the original model is scored the same way as the powered control (its forget quality must
be low for the audit to say anything).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..errors import ConfigError
from ..progress import ProgressFn, report
from .facts import FactSetConfig, QAItem, generate_facts, partition, select_forget
from .lm import (
    LanguageModel,
    LMTrainConfig,
    TinyGPTConfig,
    build_tiny_gpt,
    encode_items,
    item_texts,
    load_lm,
    train_lm,
)
from .methods import TextContext, make_text_method
from .metrics import (
    MIA_NAMES,
    SetScores,
    forget_quality,
    mia_auc,
    model_utility,
    privleak,
    score_items,
)
from .userdata import load_text_data


@dataclass
class TextMethodSpec:
    """A method name and its hyperparameters (strings are converted to the field types)."""

    name: str
    params: dict = field(default_factory=dict)


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
    retrain_seeds: int = 1
    data_path: Optional[str] = None
    model_path: Optional[str] = None
    max_eval: int = 300
    fq_threshold: float = 0.05
    utility_floor: float = 0.9
    accuracy_tolerance: float = 0.2
    mia_tolerance: float = 0.15


@dataclass
class ModelEvaluation:
    """One model's per-sample scores on forget, retain (a seeded sample of at most
    ``max_eval``), holdout and world items, and its aggregate audit numbers."""

    name: str
    seconds: float
    forget: SetScores
    retain: SetScores
    holdout: SetScores
    world: Optional[SetScores]
    forget_quality: float
    model_utility: float
    mia_auc: dict[str, float]
    privleak: float
    log: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        return {
            "forget_accuracy": self.forget.mean("answer_correct"),
            "retain_accuracy": self.retain.mean("answer_correct"),
            "holdout_accuracy": self.holdout.mean("answer_correct"),
            "forget_rouge_l": self.forget.mean("rouge_l"),
            "forget_extraction": self.forget.mean("extraction_strength"),
            "forget_quality": self.forget_quality,
            "model_utility": self.model_utility,
            "mia_auc_min_k": self.mia_auc.get("min_k", float("nan")),
            "privleak": self.privleak,
            "seconds": self.seconds,
        }


@dataclass
class TextCheck:
    name: str
    value: float
    limit: float
    passed: bool


@dataclass
class TextVerdict:
    """A method's checks against retraining; ``passed`` when every applicable check passes."""

    method: str
    checks: list[TextCheck]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


@dataclass
class TextAuditResult:
    forget_ids: list[str]
    original: ModelEvaluation
    retrains: list[ModelEvaluation]
    methods: list[ModelEvaluation]
    verdicts: list[TextVerdict]
    control_powered: bool
    fingerprint: str

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
    blob = json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def base_model(cfg: TextAuditConfig, items: list[QAItem], train_items: list[QAItem],
               progress: Optional[ProgressFn] = None) -> LanguageModel:
    """The user's model folder, or the built-in tiny GPT trained on ``train_items``."""
    if cfg.model_path:
        return load_lm(cfg.model_path)
    lm = build_tiny_gpt(item_texts(items), cfg.model, seed=cfg.seed)
    train_lm(lm, encode_items(lm, train_items), dataclasses.replace(cfg.train, seed=cfg.seed),
             progress, task="train")
    return lm


def _sample(items: list[QAItem], n: int, seed: int) -> list[QAItem]:
    if len(items) <= n:
        return items
    idx = np.sort(np.random.default_rng(seed).choice(len(items), n, replace=False))
    return [items[i] for i in idx]


def run_text_audit(cfg: TextAuditConfig, progress: Optional[ProgressFn] = None) -> TextRun:
    """Run the whole audit for ``cfg``."""
    if cfg.retrain_seeds < 1:
        raise ConfigError("retrain_seeds must be at least 1")
    if any(m.name == "retrain" for m in cfg.methods):
        raise ConfigError("retrain always runs as the reference; set retrain_seeds "
                          "(--retrain-seeds) for more than one")
    methods = [make_text_method(m.name, **m.params) for m in cfg.methods]
    items = load_items(cfg)
    forget_ids = select_forget(items, cfg.forget, cfg.seed)
    forget, retain, holdout, world = partition(items, forget_ids)
    lm = base_model(cfg, items, retain + world + forget, progress)
    f_enc, r_enc = encode_items(lm, forget), encode_items(lm, retain + world)
    h_enc = encode_items(lm, holdout) if holdout else None
    ctx = TextContext(seed=cfg.seed, train_config=dataclasses.replace(cfg.train, seed=cfg.seed),
                      holdout=h_enc, progress=progress)
    retain_eval = _sample(retain, cfg.max_eval, cfg.seed)
    holdout_eval = _sample(holdout, cfg.max_eval, cfg.seed + 1)

    def evaluate(name: str, model: LanguageModel, seconds: float, log: list[str]) -> dict:
        report(progress, f"evaluate {name}", 0, 1)
        return dict(name=name, seconds=seconds, log=log,
                    forget=score_items(model, forget), retain=score_items(model, retain_eval),
                    holdout=score_items(model, holdout_eval),
                    world=score_items(model, world) if world else None)

    models: dict[str, LanguageModel] = {"original": lm}
    raw: list[dict] = [evaluate("original", lm, 0.0, [])]
    retrain_method = make_text_method("retrain")
    for k in range(cfg.retrain_seeds):
        out = retrain_method.unlearn(lm, f_enc, r_enc, dataclasses.replace(ctx, seed=cfg.seed + k))
        name = "retrain" if k == 0 else f"retrain#{k + 1}"
        models[name] = out.lm
        raw.append(evaluate(name, out.lm, out.seconds, out.log))
    for method in methods:
        out = method.unlearn(lm, f_enc, r_enc, ctx)
        models[method.name] = out.lm
        raw.append(evaluate(method.name, out.lm, out.seconds, out.log))
    result = _assemble(cfg, forget_ids, raw)
    return TextRun(result, models, items)


def _assemble(cfg: TextAuditConfig, forget_ids: list[str], raw: list[dict]) -> TextAuditResult:
    n_ret = cfg.retrain_seeds
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
            privleak=privleak(a["min_k"], ret_auc), log=r["log"])

    retrains = []
    for k, r in enumerate(ret_raw):
        others = [o["forget"].truth_ratio for j, o in enumerate(ret_raw) if j != k]
        reference = np.concatenate(others) if others else np.full(1, np.nan)
        retrains.append(build(r, reference))
    original = build(orig_raw, pool)
    methods = [build(r, pool) for r in meth_raw]
    retrain = retrains[0]
    verdicts = [judge(m, original, retrain, cfg) for m in methods]
    powered = bool(original.forget_quality < cfg.fq_threshold) if not np.isnan(
        original.forget_quality) else False
    return TextAuditResult(forget_ids, original, retrains, methods, verdicts, powered,
                           fingerprint(cfg))


def judge(m: ModelEvaluation, original: ModelEvaluation, retrain: ModelEvaluation,
          cfg: TextAuditConfig) -> TextVerdict:
    """Checks against retraining: forget quality at least ``fq_threshold`` (TOFU's reading of
    the KS p-value), utility at least ``utility_floor`` of the original's, forget answer
    accuracy within ``accuracy_tolerance`` of retrain's (no more, no less: over-forgetting is
    detectable too) and Min-k% AUC within ``mia_tolerance`` of retrain's. A check whose value
    is undefined (no perturbed answers, so no truth ratio) is left out."""
    checks = []
    if not np.isnan(m.forget_quality):
        checks.append(TextCheck("forget quality (KS p)", m.forget_quality, cfg.fq_threshold,
                                m.forget_quality >= cfg.fq_threshold))
    floor = cfg.utility_floor * original.model_utility
    checks.append(TextCheck("model utility", m.model_utility, floor, m.model_utility >= floor))
    gap = abs(m.forget.mean("answer_correct") - retrain.forget.mean("answer_correct"))
    checks.append(TextCheck("forget accuracy gap to retrain", gap, cfg.accuracy_tolerance,
                            gap <= cfg.accuracy_tolerance))
    auc_gap = abs(m.mia_auc["min_k"] - retrain.mia_auc["min_k"])
    if not np.isnan(auc_gap):
        checks.append(TextCheck("Min-k% AUC gap to retrain", auc_gap, cfg.mia_tolerance,
                                auc_gap <= cfg.mia_tolerance))
    return TextVerdict(m.name, checks)
