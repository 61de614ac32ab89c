"""A third-party claim on the text track: "this causal LM folder is the original with the forget
set unlearned", judged without knowing how it was made, against retrains of the recipe that
trained the original.

The claimant hands over the original and one or more claimed model folders (each loaded only
through ``text.lm.load_lm``: offline, ``trust_remote_code=False``, safetensors only) and the
recipe file (``text.recipe``). Every file of every folder and the recipe is hashed (SHA-256,
recorded in the report). Before anything is trained the original must be shown to have learned
the facts (``check_text_learned``: its answers beat models of its own architecture at
initialisation); after the fit originals are trained it must reach near what its recipe reaches
(``check_text_reaches``). The fit check (``text_fit_check``) trains originals with the declared
recipe and asks whether the submitted one lands among them (weight norm and answer NLLs, judged
by the classifier claim's ``pooled_judge``); when it does not, every verdict is inconclusive.
A claimed model whose weights hash to the original's fails, named as such
(``apply_text_claim_rules``, which ``verify`` applies again from the recorded figures).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import numpy as np

from unlearn_core.audit.claim import (
    FitCheck,
    SubmittedFile,
    identity_result,
    judge_fit,
    reach_figures,
    refuse_unreached,
)
from unlearn_core.audit.recipe import read_recipe_bytes
from unlearn_core.checks.base import CheckSpec, Measurement, bootstrap_se
from unlearn_core.checks.judge import FAIL, CheckResult
from unlearn_core.checks.verdict import INCONCLUSIVE, Verdict
from unlearn_core.errors import ConfigError, ModelError
from unlearn_core.progress import ProgressFn
from unlearn_core.serialize import sha256_file
from unlearn_core.text.cache import ModelCache, config_dict
from unlearn_core.text.cache import fingerprint as model_fingerprint
from unlearn_core.text.facts import QAItem
from unlearn_core.text.lm import Encoded, LanguageModel, LMTrainConfig, load_lm, train_lm
from unlearn_core.text.metrics import SetScores, score_items
from unlearn_core.text.recipe import TextRecipe, read_text_recipe

MAX_CLAIMED = 20
MAX_FIT_ORIGINALS = 20
INIT_MODELS = 3  # models of the original's architecture at initialisation: the never-trained level
CHANCE_Z = 3.09  # one-sided 0.1%, as the classifier claim's chance test
LEARNED_NATS = math.log(2)  # answers at least twice as probable per token as at initialisation
# config keys that define the computation (any model_type); other keys (dtype, use_cache...)
# may differ between two saves of the same model
ARCH_KEYS = ("model_type", "n_layer", "num_hidden_layers", "n_embd", "hidden_size", "n_head",
             "num_attention_heads", "num_key_value_heads", "n_inner", "intermediate_size",
             "n_positions", "max_position_embeddings", "vocab_size", "activation_function",
             "hidden_act", "tie_word_embeddings", "layer_norm_epsilon", "rms_norm_eps",
             "rope_theta")


@dataclass
class TextClaimSpec:
    """What a text claimant submits: the original model folder, the claimed model folders and
    the recipe file that trained the original. ``fit_originals``: originals the audit trains
    with the recipe for the fit check; ``labels``: the claims' names (default
    ``claim:<folder>``)."""

    original: str
    claimed: list[str] = field(default_factory=list)
    recipe: str = ""
    fit_originals: int = 3
    labels: list[str] = field(default_factory=list)


@dataclass
class LearnedCheck:
    """Did the original learn the facts? Its answer accuracy and mean answer-token NLL on the
    trained items the audit scores, against models of its architecture at initialisation."""

    n: int
    accuracy: float
    init_accuracy: float
    accuracy_limit: float  # the accuracy a learned model must beat
    nll: float
    init_nll: float
    nll_gain_low: float  # lower confidence bound of the per-item NLL gain over initialisation
    init_seeds: list[int]
    learned: bool
    reason: str


@dataclass
class TextClaimRecord:
    """What a text claim audit records beside its result: every submitted file by SHA-256, the
    recipe as read, the original's seed if declared, the retrains' seeds, the learned check and
    the fit check."""

    files: list[SubmittedFile]
    recipe: LMTrainConfig
    original_seed: Optional[int]
    retrain_seeds: list[int]
    learned: LearnedCheck
    fit: Optional[FitCheck] = None
    reference: str = "trained here"


@dataclass
class TextClaimInputs:
    """The submitted folders loaded: the original, the claimed models by label, the recipe and
    the files' records."""

    original: LanguageModel
    claimed: dict[str, LanguageModel]
    recipe: TextRecipe
    files: list[SubmittedFile]


def validate_text_claim(claim: object) -> None:
    """Refuse a text claim that cannot run before any file is read."""
    if not isinstance(claim, TextClaimSpec):
        raise ConfigError("a text claim must name the original folder, the claimed folders and "
                          "the recipe file (original, claimed, recipe)")
    if not isinstance(claim.original, str) or not claim.original.strip():
        raise ConfigError("a text claim audit needs the original model folder (--original DIR)")
    if not isinstance(claim.claimed, list) or not all(isinstance(v, str) and v.strip()
                                                      for v in claim.claimed):
        raise ConfigError(f"claim 'claimed' must be a list of model folders, got "
                          f"{claim.claimed!r}")
    if not claim.claimed:
        raise ConfigError("a text claim audit needs at least one claimed model folder "
                          "(--claimed DIR)")
    if len(claim.claimed) > MAX_CLAIMED:
        raise ConfigError(f"at most {MAX_CLAIMED} claimed models in one audit, got "
                          f"{len(claim.claimed)}")
    if not isinstance(claim.recipe, str) or not claim.recipe.strip():
        raise ConfigError("a text claim audit needs the recipe that trained the original "
                          "(--recipe FILE: optimizer, lr, epochs, batch_size, ...)")
    if claim.labels and (len(claim.labels) != len(claim.claimed) or
                         len(set(claim.labels)) != len(claim.labels) or
                         not all(isinstance(v, str) and v.strip() for v in claim.labels)):
        raise ConfigError("claim 'labels' must name each claimed model once (or be left out: "
                          "claim:<folder name>)")
    value = claim.fit_originals
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 2 <= value <= MAX_FIT_ORIGINALS:
        raise ConfigError(f"claim 'fit_originals' must be a whole number from 2 to "
                          f"{MAX_FIT_ORIGINALS}, got {value!r}")


def _label(path: str, taken: set[str]) -> str:
    stem = Path(path).expanduser().resolve().name or "model"
    label, unique, i = f"claim:{stem}", f"claim:{stem}", 2
    while unique in taken:
        unique, i = f"{label}#{i}", i + 1
    taken.add(unique)
    return unique


def resolved_text_claim(claim: TextClaimSpec) -> TextClaimSpec:
    """The claim with every path absolute and each claimed model's label set (as recorded, so
    that a re-run names the models as the audit did)."""
    validate_text_claim(claim)

    def full(path: str) -> str:
        return str(Path(path).expanduser().resolve())

    taken: set[str] = set()
    labels = claim.labels or [_label(p, taken) for p in claim.claimed]
    return replace(claim, original=full(claim.original), claimed=[full(p) for p in claim.claimed],
                   recipe=full(claim.recipe), labels=list(labels))


def folder_files(folder: str, role: str, label: str = "") -> list[SubmittedFile]:
    """A record (name, path, SHA-256, size) of every file in a submitted model folder."""
    d = Path(folder)
    if not d.is_dir():
        raise ConfigError(f"{role} model folder '{folder}' does not exist")
    return [SubmittedFile(role, f"{d.name}/{p.name}", str(p.resolve()), sha256_file(p),
                          p.stat().st_size, label)
            for p in sorted(d.iterdir()) if p.is_file()]


def _read_recipe(path: str) -> tuple[TextRecipe, SubmittedFile]:
    p = Path(path)
    raw = read_recipe_bytes(p, p.name)
    return read_text_recipe(raw, p.name), _recipe_record(p, raw)


def _recipe_record(p: Path, raw: bytes) -> SubmittedFile:
    import hashlib

    return SubmittedFile("recipe", p.name, str(p.resolve()), hashlib.sha256(raw).hexdigest(),
                         len(raw))


def recipe_file(path: str) -> SubmittedFile:
    """The record (name, path, SHA-256, size) of a recipe file, read as a recipe is."""
    p = Path(path)
    return _recipe_record(p, read_recipe_bytes(p, p.name))


def input_files(model_path: str, recipe: Optional[str] = None) -> list[SubmittedFile]:
    """The records of the user's own model folder (role ``model``) and recipe file, as a
    claim's files are recorded: what ``verify`` checks and a bundle carries."""
    return folder_files(model_path, "model") + ([recipe_file(recipe)] if recipe else [])


def describe_lm(lm: LanguageModel) -> str:
    """A causal LM's architecture in words, for messages."""
    c = lm.model.config
    layers = getattr(c, "n_layer", None) or getattr(c, "num_hidden_layers", None)
    width = getattr(c, "n_embd", None) or getattr(c, "hidden_size", None)
    return f"{c.model_type}, {layers} layers, width {width}, vocabulary {c.vocab_size}"


def architecture_difference(original: LanguageModel, other: LanguageModel) -> Optional[str]:
    """What differs between two models' architectures, tokenizers or weight shapes (None: the
    same)."""
    a, b = config_dict(original), config_dict(other)
    for key in ARCH_KEYS:
        if a.get(key) != b.get(key):
            return f"{key} {b.get(key)!r} where the original has {a.get(key)!r}"
    sa = {k: tuple(v.shape) for k, v in original.model.state_dict().items()}
    sb = {k: tuple(v.shape) for k, v in other.model.state_dict().items()}
    for key in sorted(set(sa) | set(sb)):
        if sa.get(key) != sb.get(key):
            return f"weight {key} of shape {sb.get(key)} where the original has {sa.get(key)}"
    if original.tokenizer.hf.get_vocab() != other.tokenizer.hf.get_vocab():
        return "another tokenizer vocabulary (the audit encodes every item with the original's)"
    return None


def load_text_claim(claim: TextClaimSpec) -> TextClaimInputs:
    """Read and hash the recipe and every file of every submitted folder, load each folder
    through the safe loader and check the claimed models against the original: same
    architecture, weight shapes and tokenizer, and no claimed folder that is the original's."""
    claim = resolved_text_claim(claim)
    recipe, recipe_rec = _read_recipe(claim.recipe)
    files = [recipe_rec, *folder_files(claim.original, "original")]
    try:
        original = load_lm(claim.original)
    except ModelError as err:
        raise ModelError(f"original: {err}") from None
    desc = describe_lm(original)
    claimed: dict[str, LanguageModel] = {}
    for path, label in zip(claim.claimed, claim.labels):
        name = Path(path).name
        if Path(path) == Path(claim.original):
            raise ConfigError(f"the claimed model '{name}' is the original, bit for bit (the "
                              "same folder as the original): submit the unlearned model")
        files += folder_files(path, "claimed", label)
        try:
            lm = load_lm(path)
        except ModelError as err:
            raise ModelError(f"claimed model: {err}") from None
        diff = architecture_difference(original, lm)
        if diff is not None:
            raise ModelError(f"claimed model '{name}' does not have the original's architecture "
                             f"({desc}): {diff}")
        claimed[label] = lm
    return TextClaimInputs(original, claimed, recipe, files)


# -- did the original learn? -----------------------------------------------------------------

def init_seeds(seed: int) -> list[int]:
    """Seeds of the models at initialisation that give the never-trained level."""
    return [seed * 7919 + 104_729 + 17 * i for i in range(INIT_MODELS)]


def check_text_learned(original: LanguageModel, correct: np.ndarray, nll: np.ndarray,
                       items: list[QAItem], seed: int, name: str,
                       holdout: Optional[SetScores] = None) -> LearnedCheck:
    """Refuse an original that did not learn the facts. ``correct`` and ``nll`` are its answer
    accuracy and mean answer-token NLL per item on ``items`` (trained items); ``holdout`` its
    scores on never-trained items, when the data has them.

    The never-trained level of accuracy is the higher of that of ``INIT_MODELS`` models of its
    architecture at initialisation (pooled) and its own on the never-trained items (what it
    answers right without having learned the fact). It learned when its accuracy beats that
    level by 3.09 standard errors (one-sided 0.1%; the error of a share at that level, at least
    that of one answer in n), or when its answers are at least twice as probable per token as at
    initialisation (per-item NLL gain, lower 0.1% bound above ln 2) and more probable than its
    answers to never-trained items (lower bound above 0). Otherwise one ``ModelError``: an
    unlearning claim about a model that learned nothing cannot be judged."""
    n = len(items)
    seeds = init_seeds(seed)
    inits = [score_items(original.fresh(s), items) for s in seeds]
    c_init = float(np.mean([s.answer_correct.mean() for s in inits])) if n else math.nan
    has_holdout = holdout is not None and len(holdout.ids) > 0
    c_own = float(np.mean(holdout.answer_correct)) if has_holdout else 0.0
    c = max(c_init, c_own)
    init_nll = np.mean([s.mean_nll for s in inits], axis=0) if n else np.zeros(0)
    acc = float(np.mean(correct)) if n else math.nan
    limit = c + CHANCE_Z * math.sqrt(max(c * (1 - c), 1.0 / max(n, 1)) / max(n, 1))
    gain = init_nll - nll
    se = float(np.std(gain, ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    gain_low = float(gain.mean() - CHANCE_Z * se) if n else -math.inf
    beats_unseen = True
    if has_holdout:
        h = np.asarray(holdout.mean_nll, dtype=np.float64)
        gap_se = math.sqrt(float(np.var(nll, ddof=1)) / max(n, 1) +
                           float(np.var(h, ddof=1)) / len(h)) if n > 1 and len(h) > 1 else math.inf
        beats_unseen = float(h.mean() - np.mean(nll)) - CHANCE_Z * gap_se > 0
    learned = n > 0 and (acc > limit or (gain_low > LEARNED_NATS and beats_unseen))
    level = (f"{c_init:.2f} for {len(seeds)} models of its architecture at initialisation"
             + (f" and {c_own:.2f} on {len(holdout.ids)} never-trained items" if has_holdout
                else ""))
    figures = (f"answer accuracy {acc:.2f} on {n} trained items against a never-trained level of "
               f"{level} (a learned model beats {limit:.2f}); mean answer-token NLL "
               f"{float(np.mean(nll)):.3f} against {float(np.mean(init_nll)):.3f} at "
               "initialisation"
               + (f" and {float(np.mean(holdout.mean_nll)):.3f} on never-trained items"
                  if has_holdout else ""))
    check = LearnedCheck(n, acc, c, limit, float(np.mean(nll)) if n else math.nan,
                         float(np.mean(init_nll)) if n else math.nan, gain_low, seeds, learned,
                         "the original learned the facts (its answer "
                         + ("accuracy beats" if acc > limit else "probability beats")
                         + f" the never-trained level): {figures}")
    if not learned:
        raise ModelError(
            f"the original '{name}' did not learn: {figures}; it is refused, not judged: "
            "unlearning can only be audited on an original that learned (check that it is the "
            "trained model folder and that --data is the data it was trained on)")
    return check


def check_text_reaches(learned: LearnedCheck, fit: FitCheck, name: str) -> None:
    """Refuse an original far below what its recipe reaches: its retained-answer accuracy less
    than half the way from the never-trained level to the least accurate original trained here
    with the recipe."""
    accs, mine = reach_figures(fit, "retain_answer_accuracy")
    c = learned.init_accuracy
    if not accs or not math.isfinite(mine) or not math.isfinite(c) or min(accs) <= c:
        return
    refuse_unreached(name, "retained-answer accuracy", mine, accs, c,
                     f"{c:.2f} at initialisation", "the folder is the trained model, the data")


# -- the fit check ---------------------------------------------------------------------------

TEXT_FIT_SPECS = (
    CheckSpec("weight_norm", "weight norm", kind="fit", sides="both"),
    CheckSpec("retain_answer_nll", "answer NLL on retained items", kind="fit", sides="both",
              scale="log"),
    CheckSpec("holdout_answer_nll", "answer NLL on never-trained items", kind="fit",
              sides="both", scale="log"),
)
# figures recorded beside the fit figures but not judged as part of the fit
RECORDED_ONLY = ("retain_answer_accuracy",)


def fit_original_seeds(seed: int, k: int, avoid: tuple[int, ...]) -> list[int]:
    """Seeds of the originals trained with the recipe (never the audit's, a retrain's or the
    claimant's declared seed): those of the classifier claim's originals."""
    from unlearn_core.reference.originals import originals_seeds

    return originals_seeds(seed, k, avoid)


def train_fit_originals(original: LanguageModel, trained: Encoded, recipe: LMTrainConfig,
                        seeds: list[int], cache: ModelCache,
                        progress: Optional[ProgressFn] = None
                        ) -> tuple[list[LanguageModel], float, bool]:
    """Originals of the original's architecture trained on every trained item with the declared
    recipe, one per seed (from the model cache when trained before). Returns the models, their
    training seconds and whether all came from the cache."""
    out, seconds, cached = [], 0.0, True
    for s in seeds:
        lm = original.fresh(s)
        run = dataclasses.replace(recipe, seed=s)
        key = model_fingerprint("fit-original", config_dict(original), trained,
                                dataclasses.asdict(run), s)
        t, hit = cache.train(key, lm, lambda lm=lm, run=run: train_lm(
            lm, trained, run, progress, task="fit original"))
        out.append(lm)
        seconds += t
        cached = cached and hit
    return out, seconds, cached


def weight_norm(lm: LanguageModel) -> float:
    """The L2 norm of all parameters (tied ones once)."""
    return math.sqrt(sum(float((p.detach().double() ** 2).sum())
                         for p in lm.model.parameters() if p.is_floating_point()))


def fit_figures(label: str, role: str, lm: LanguageModel, retain: SetScores,
                holdout: Optional[SetScores], seed: int) -> list[Measurement]:
    """One model's fit figures: weight norm, mean answer NLL on the retained items and on the
    never-trained ones (when the data has them), and retained-answer accuracy (recorded, for
    the reach check)."""
    def nll(s: SetScores, name: str) -> Measurement:
        v = np.asarray(s.mean_nll, dtype=np.float64)
        v = v[np.isfinite(v)]
        return Measurement(name, label, role, float(v.mean()) if len(v) else math.nan,
                           bootstrap_se(v, seed=seed) if len(v) > 1 else math.nan, len(v))

    out = [Measurement("weight_norm", label, role, weight_norm(lm), 0.0, 0),
           nll(retain, "retain_answer_nll")]
    if holdout is not None and len(holdout.ids):
        out.append(nll(holdout, "holdout_answer_nll"))
    acc = np.asarray(retain.answer_correct, dtype=np.float64)
    out.append(Measurement("retain_answer_accuracy", label, role,
                           float(acc.mean()) if len(acc) else math.nan, math.nan, len(acc)))
    return out


def judge_text_fit(fit: FitCheck, alpha: float = 0.05) -> tuple[list[CheckResult], bool, str]:
    """Each fit figure of the submitted original judged against the originals trained here
    exactly as the classifier claim judges its own (``audit.claim.judge_fit``: their
    seed-to-seed spread pooled with the retrains', Bonferroni over the figures), with the text
    recipe's advice on what to change (``text_fit_advice``)."""
    return judge_fit(fit, alpha, text_fit_advice)


def text_fit_advice(off: list[CheckResult]) -> str:
    """What to change in the recipe, from the side on which the original's figures miss."""
    tips = []
    for r in off:
        above = r.figure > r.reference_mean
        if r.check == "weight_norm":
            tips.append("its weights are larger: more epochs, a larger learning rate or less "
                        "weight decay than declared" if above else "its weights are smaller: "
                        "fewer epochs, a smaller learning rate or more weight decay than declared")
        elif r.check == "retain_answer_nll":
            tips.append("it fits its trained answers less tightly than the recipe's models: "
                        "fewer epochs or a smaller learning rate than declared" if above else
                        "it fits its trained answers more tightly than the recipe's models: "
                        "more epochs or a larger learning rate than declared")
        elif r.check == "holdout_answer_nll":
            tips.append("its loss on never-trained questions differs from the recipe's models: "
                        "check the epochs, learning rate, weight decay and warm-up")
    tips = list(dict.fromkeys(tips))
    return ("What to change: " + "; ".join(tips) + ". Declare the recipe that trained the "
            "original, on this audit's data.")


def text_fit_check(original: tuple[LanguageModel, SetScores, Optional[SetScores]],
                   fitted: list[tuple[LanguageModel, SetScores, Optional[SetScores]]],
                   spread: list[tuple[LanguageModel, SetScores, Optional[SetScores]]],
                   seeds: list[int], seed: int, alpha: float = 0.05, seconds: float = 0.0,
                   cached: bool = False) -> FitCheck:
    """The fit check of a submitted original against originals trained here with its recipe
    (each model with its scores on the retained and never-trained items; ``spread``: the
    retrains of the recipe, whose spread about their own mean is pooled with the originals')."""
    ms = fit_figures("original", "method", *original, seed)
    for i, m in enumerate(fitted):
        ms += fit_figures(f"original#{i + 1}", "reference", *m, seed)
    for i, m in enumerate(spread):
        ms += fit_figures(f"retrain#{i + 1}", "spread", *m, seed)
    names = {m.check for m in ms if math.isfinite(m.figure)}
    specs = [s for s in TEXT_FIT_SPECS if s.name in names]
    fit = FitCheck(len(fitted), list(seeds), specs, ms, seconds=seconds, cached=cached)
    fit.results, fit.fits, fit.reason = judge_text_fit(fit, alpha)
    return fit


# -- the verdicts of a claim audit ---------------------------------------------------------

def apply_text_claim_rules(verdicts: list[Verdict], fit: Optional[FitCheck],
                           hashes: dict[str, str], claims: list[str], original_hash: str,
                           alpha: float = 0.05) -> list[Verdict]:
    """The claim audit's rules on top of the checks' verdicts: a claimed model (label in
    ``claims``) whose weights hash to the original's fails, named as such; when the declared
    recipe does not reproduce the original (the fit check, judged again from its figures),
    every other verdict is inconclusive with the figures and what to change."""
    fits, why = True, ""
    if fit is not None:
        _, fits, why = judge_text_fit(fit, alpha)
    for v in verdicts:
        if v.method in claims and hashes.get(v.method) == original_hash:
            v.checks.append(identity_result(v.method))
            v.status = FAIL
            v.reason = ("the claimed model is the original, bit for bit: nothing was unlearned "
                        "(its weights hash to the original's)")
            if getattr(v, "qualifier", None) is not None:
                v.qualifier, v.ruled_out, v.not_ruled_out = "", [], []
        elif not fits:
            v.status = INCONCLUSIVE
            v.reason = why
            if getattr(v, "qualifier", None) is not None:
                v.qualifier, v.ruled_out, v.not_ruled_out = \
                    "", [], [*v.ruled_out, *v.not_ruled_out]
    return verdicts


def fit_from_dict(d: Optional[dict]) -> Optional[FitCheck]:
    """A recorded fit check back as a ``FitCheck`` (its figures; judged again by the caller)."""
    if not d:
        return None
    from unlearn_core.text.checks import measurements_from_dicts, specs_from_dicts

    specs = specs_from_dicts([{**s, "bounds": tuple(s["bounds"]) if s.get("bounds") else None}
                              for s in d.get("specs") or []])
    return FitCheck(int(d["k"]), [int(s) for s in d.get("seeds") or []], specs,
                    measurements_from_dicts(d.get("measurements") or []),
                    fits=bool(d.get("fits")), reason=str(d.get("reason", "")))


def claim_lines(record: Optional[TextClaimRecord]) -> list[str]:
    """What a text claim audit says beside its verdicts: the learned check, the recipe's fit
    and every submitted file with its SHA-256."""
    if record is None:
        return []
    out = ["third-party claim: " + record.learned.reason]
    if record.fit is not None:
        out.append(("recipe fits: " if record.fit.fits else "recipe does not fit: ")
                   + record.fit.reason)
    out += [f"  {f.role:<9} {f.file}  sha256 {f.sha256}" for f in record.files]
    return out




# -- the stages run_text_audit calls -----------------------------------------------------------

def claim_config(cfg, claim: TextClaimInputs):
    """The audit's config for a claim: the declared recipe as its training (a different
    ``train`` given beside the recipe, or a ``model_path``, is refused: the original and its
    recipe come from the claim)."""
    if cfg.model_path:
        raise ConfigError("a model folder (--model) does not apply to a claim audit: the "
                          "original is the claim's original folder (--original)")
    default = LMTrainConfig()
    if cfg.train != default and cfg.train != claim.recipe.train:
        raise ConfigError("the recipe is given twice (a recipe file and the config's 'train'), "
                          "and they differ: give it once, in the recipe file")
    return dataclasses.replace(cfg, train=claim.recipe.train,
                               claim=resolved_text_claim(cfg.claim))


def reference_seeds(seed: int, k: int, avoid: Optional[int]) -> list[int]:
    """The K retrains' seeds: seed, seed + 1, ... skipping the claimant's declared seed."""
    out, s = [], seed
    while len(out) < k:
        if s != avoid:
            out.append(s)
        s += 1
    return out


def text_fit_stage(claim: TextClaimInputs, learned: LearnedCheck, trained: Encoded,
                   original: dict, retrains: list[tuple[LanguageModel, dict]],
                   retrain_seeds: list[int], seed: int, k: int, score, retain_eval: list,
                   holdout_eval: list, cache: ModelCache, progress: Optional[ProgressFn] = None,
                   alpha: float = 0.05) -> FitCheck:
    """Train ``k`` originals with the declared recipe on every trained item (seeds never the
    audit's, a retrain's or the declared one), measure the fit figures of each, of the submitted
    original and of the retrains (``original`` and ``retrains``: their evaluations, as
    ``run_text_audit`` records them; ``score(model, items)`` scores a model), judge the fit and
    refuse an original far below what its recipe reaches."""
    avoid = tuple(retrain_seeds) + (() if claim.recipe.seed is None else (claim.recipe.seed,))
    seeds = fit_original_seeds(seed, k, avoid)
    fitted, seconds, cached = train_fit_originals(claim.original, trained, claim.recipe.train,
                                                  seeds, cache, progress)
    scored = [(m, score(m, retain_eval), score(m, holdout_eval) if holdout_eval else None)
              for m in fitted]
    fit = text_fit_check((claim.original, original["retain"], original["holdout"]), scored,
                         [(m, r["retain"], r["holdout"]) for m, r in retrains], seeds, seed,
                         alpha, seconds, cached)
    name = Path(next(f.path for f in claim.files if f.role == "original")).parent.name
    check_text_reaches(learned, fit, name)
    return fit

__all__ = ["LearnedCheck", "TEXT_FIT_SPECS", "TextClaimInputs", "TextClaimRecord",
           "TextClaimSpec", "apply_text_claim_rules", "architecture_difference",
           "check_text_learned", "check_text_reaches", "claim_config", "claim_lines",
           "fit_from_dict", "fit_original_seeds", "folder_files", "input_files",
           "judge_text_fit",
           "load_text_claim", "recipe_file", "reference_seeds", "resolved_text_claim",
           "text_fit_check", "text_fit_stage", "train_fit_originals", "validate_text_claim"]
