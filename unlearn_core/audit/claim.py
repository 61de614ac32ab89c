"""A third-party claim: "these models are the original with the forget set unlearned", audited
without knowing how they were made.

The claimant hands over the original (weights and spec), one or more claimed models, the recipe
that trained the original (``audit.recipe``) and optionally retrains of their own. Every file is
untrusted: read once, hashed (SHA-256, recorded in the report), loaded only through the safe
loaders (safetensors, ``torch.load(weights_only=True)``; formats that carry code are refused),
and checked against the original's architecture and shapes.

Before anything is judged the reference must be shown to fit (``fit_check``): the audit trains
originals of its own with the declared recipe (the whole training split, other seeds) and asks
whether the submitted original lands among them (test accuracy, output divergence, feature
similarity, weight norm, each judged like a check against their spread). An original at chance
level, or far below what its recipe reaches, is refused (``check_learned``, ``check_reaches``);
one the recipe does not reproduce makes every verdict inconclusive, with the figures and what to
change (``judge_claims``). A claimed model with the original's weights fails, named as such.
"""

from __future__ import annotations

import hashlib
import io
import math
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from scipy import stats
from torch import nn

from unlearn_core.audit.data import AuditData
from unlearn_core.audit.recipe import Recipe, read_recipe
from unlearn_core.checks.base import CheckSpec, Measurement, bootstrap_se, proportion_se
from unlearn_core.checks.judge import FAIL, NO_DATA, PASS, CheckResult, fmt
from unlearn_core.checks.verdict import INCONCLUSIVE, Verdict
from unlearn_core.errors import ConfigError, ModelError
from unlearn_core.models import ModelSpec, TrainConfig, check_compatible, load_model
from unlearn_core.models.io import MAX_MODEL_BYTES, validate_spec
from unlearn_core.models.training import predict_proba

CODE_FREE = ("a claim audit accepts only formats that carry no code: safetensors, a "
             "weights-only state dict")
MAX_CLAIMED = 20
MAX_FIT_ORIGINALS = 20
CHANCE_Z = 3.09  # one-sided 0.1%: an accuracy this far above chance is not chance
REACH_SHARE = 0.5  # an original below chance + half the way to its recipe's models is refused
CKA_INPUTS = 500  # test inputs the feature similarity is computed on (a seeded subset beyond)


@dataclass
class ClaimSpec:
    """What a claimant submits: the original (``original`` weights, ``spec`` JSON), the
    claimed models, the recipe file that trained the original and optionally their own
    retrains. ``fit_originals``: originals the audit trains with the recipe for the fit check;
    ``own_retrains``: retrains it trains to check submitted retrains against. Paths are
    recorded as given and by SHA-256."""

    original: str
    spec: str
    claimed: list[str] = field(default_factory=list)
    recipe: str = ""  # "" only when the recipe is given as the config's ``train``
    submitted_retrains: list[str] = field(default_factory=list)
    fit_originals: int = 3
    own_retrains: int = 3
    labels: list[str] = field(default_factory=list)  # the claims' names; default claim:<stem>


@dataclass
class SubmittedFile:
    """One file a claimant handed over, as read: its role, name, path, SHA-256 and size, and
    the label of the model it became (claimed models and submitted retrains)."""

    role: str  # original, spec, claimed, submitted_retrain or recipe
    file: str
    path: str
    sha256: str
    bytes: int
    label: str = ""


@dataclass
class FitCheck:
    """Does the declared recipe reproduce the submitted original? The figures of K originals
    trained here (``role`` reference) and of the submitted one (``role`` method), each figure
    judged against their spread (``results``), with the verdict on the fit."""

    k: int
    seeds: list[int]
    specs: list[CheckSpec] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)
    fits: bool = False
    reason: str = ""
    seconds: float = 0.0
    cached: bool = False


@dataclass
class SubmittedRetrainCheck:
    """The claimant's retrains judged like a method's output against K retrains trained here:
    trusted as the reference only when none fails or is uncertain on any check."""

    k: int
    seeds: list[int]
    verdicts: list[Verdict] = field(default_factory=list)
    trusted: bool = False
    reason: str = ""


@dataclass
class ClaimRecord:
    """What a claim audit records beside its result: every submitted file by SHA-256, the
    recipe, where the reference came from, the fit check and the check of submitted retrains."""

    files: list[SubmittedFile]
    recipe: TrainConfig
    original_seed: Optional[int]
    reference: str  # "trained here" or "submitted"
    fit: FitCheck
    chance: float  # the test accuracy of always answering the majority class
    submitted: Optional[SubmittedRetrainCheck] = None


@dataclass
class ClaimInputs:
    """The submitted files loaded: the original with its spec, the claimed models and the
    submitted retrains by label, the recipe and the files' records."""

    spec: ModelSpec
    original: nn.Module
    claimed: dict[str, nn.Module]
    submitted: dict[str, nn.Module]
    recipe: Recipe
    files: list[SubmittedFile]


def validate_claim(claim: ClaimSpec) -> None:
    """Refuse a claim that cannot run before any file is read: paths present, counts in
    range."""
    if not isinstance(claim, ClaimSpec):
        raise ConfigError("config 'claim' must be a mapping of original, spec, claimed, recipe "
                          "and optional submitted_retrains, fit_originals, own_retrains")
    for key in ("original", "spec"):
        if not isinstance(getattr(claim, key), str) or not getattr(claim, key).strip():
            raise ConfigError(f"a claim audit needs the original model's {key} file "
                              f"(--{'original' if key == 'original' else 'spec'} PATH)")
    for key in ("claimed", "submitted_retrains"):
        value = getattr(claim, key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
            raise ConfigError(f"claim '{key}' must be a list of file paths, got {value!r}")
    if not claim.claimed:
        raise ConfigError("a claim audit needs at least one claimed model (--claimed PATH)")
    if claim.labels and (len(claim.labels) != len(claim.claimed) or
                         len(set(claim.labels)) != len(claim.labels) or
                         not all(isinstance(v, str) and v.strip() for v in claim.labels)):
        raise ConfigError("claim 'labels' must name each claimed model once (or be left out: "
                          "claim:<file name>)")
    if len(claim.claimed) > MAX_CLAIMED:
        raise ConfigError(f"at most {MAX_CLAIMED} claimed models in one audit, got "
                          f"{len(claim.claimed)}")
    if not isinstance(claim.recipe, str):
        raise ConfigError(f"claim 'recipe' must be the path of a recipe file, got "
                          f"{claim.recipe!r}")
    n = len(claim.submitted_retrains)
    if n == 1:
        raise ConfigError("submit at least 2 retrains (their spread is the verdict's band), or "
                          "none: the audit then trains its own")
    for key, low in (("fit_originals", 2), ("own_retrains", 2)):
        value = getattr(claim, key)
        if isinstance(value, bool) or not isinstance(value, int) or \
                not low <= value <= MAX_FIT_ORIGINALS:
            raise ConfigError(f"claim '{key}' must be a whole number from {low} to "
                              f"{MAX_FIT_ORIGINALS}, got {value!r}")


def resolved(claim: ClaimSpec) -> ClaimSpec:
    """The claim with every path absolute and each claimed model's label set (as recorded, so
    that ``verify`` finds each file by the path its record names and a re-run from files found
    elsewhere names the models as the audit did)."""
    def full(path: str) -> str:
        return str(Path(path).expanduser().resolve()) if path else path

    taken: set[str] = set()
    labels = claim.labels or [claim_label(p, taken) for p in claim.claimed]
    return replace(claim, original=full(claim.original), spec=full(claim.spec),
                   recipe=full(claim.recipe), claimed=[full(p) for p in claim.claimed],
                   submitted_retrains=[full(p) for p in claim.submitted_retrains],
                   labels=list(labels))


ROLE_WORDS = {"original": "original", "spec": "spec", "recipe": "recipe", "model": "model",
              "claimed": "claimed model", "submitted_retrain": "submitted retrain"}


def _read(path: str, role: str) -> tuple[bytes, SubmittedFile]:
    """A submitted file's bytes (read once, at most ``MAX_MODEL_BYTES``) and its record."""
    p = Path(path).expanduser()
    what = ROLE_WORDS[role]
    try:
        if p.stat().st_size > MAX_MODEL_BYTES:
            raise ModelError(f"{what} '{p.name}' is larger than {MAX_MODEL_BYTES >> 20} MiB")
        raw = p.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read the {what} file '{path}': {err.strerror or err}") \
            from None
    return raw, SubmittedFile(role, p.name, str(p.resolve()), hashlib.sha256(raw).hexdigest(),
                              len(raw))


def _carries_code(raw: bytes) -> Optional[str]:
    """What a file that is not plain weights is (TorchScript, torch.export, a pickle of a whole
    model), or None when it holds plain tensors that a weights-only load reads."""
    try:
        from safetensors.torch import load as load_safetensors

        load_safetensors(raw)
        return None
    except Exception:
        pass
    if raw[:4] == b"PK\x03\x04":
        try:
            names = zipfile.ZipFile(io.BytesIO(raw)).namelist()
        except zipfile.BadZipFile:
            names = []
        if any("/code/" in n or n.endswith("constants.pkl") for n in names):
            return "a TorchScript archive"
        if any("serialized_exported_program" in n or "/models/" in n for n in names):
            return "a torch.export program"
    try:
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception:
        return "not safetensors nor a weights-only state dict (a pickled model or another file)"
    return None if isinstance(state, dict) else "not a state dict"


def _load_weights(raw: bytes, rec: SubmittedFile, spec, original_desc: str = "") -> nn.Module:
    """A model from submitted bytes through the safe loader; a format that carries code, or
    weights that do not fit the original's architecture and shapes, is one ``ModelError``."""
    what = ROLE_WORDS[rec.role]
    try:
        return load_model(raw, spec)
    except ModelError as err:
        code = _carries_code(raw)
        if code is not None:
            raise ModelError(f"{what} '{rec.file}' is {code}: {CODE_FREE}") from None
        if original_desc:
            raise ModelError(f"{what} '{rec.file}' does not have the original's architecture "
                             f"and shapes ({original_desc}): {err}") from None
        raise ModelError(f"{what} '{rec.file}': {err}") from None


def _fits_data(model: nn.Module, rec: SubmittedFile, ds) -> nn.Module:
    """``model`` when it takes the data set's samples and gives finite scores for its classes
    (``models.io.check_compatible`` on every sample), else one ``ModelError`` naming the file."""
    try:
        check_compatible(model, ds.sample_shape, ds.n_classes, probe=ds.X)
    except ModelError as err:
        raise ModelError(f"{ROLE_WORDS[rec.role]} '{rec.file}' does not fit the data set "
                         f"{ds.name}: {err}") from None
    return model


def describe_spec(spec: ModelSpec) -> str:
    """A model spec in words, for messages."""
    params = ", ".join(f"{k}={v}" for k, v in sorted(spec.params.items()))
    return (f"{spec.arch}{f' ({params})' if params else ''}, input {list(spec.input_shape)}, "
            f"{spec.n_classes} classes")


def claim_label(path: str, taken: set[str]) -> str:
    """A unique label for a claimed model: ``claim:<file stem>`` (``#2`` on a repeat)."""
    stem = Path(path).name.split(".")[0] or "model"
    label, unique, i = f"claim:{stem}", f"claim:{stem}", 2
    while unique in taken:
        unique, i = f"{label}#{i}", i + 1
    taken.add(unique)
    return unique


def load_claim(claim: ClaimSpec, train: Optional[TrainConfig], data: AuditData) -> ClaimInputs:
    """Read, hash and load every submitted file, and check them before any work: the recipe
    (``train`` when no recipe file), the original against the data, each claimed model and
    submitted retrain against the original's architecture and shapes, and no claimed file that
    is the original's own file."""
    validate_claim(claim)
    files: list[SubmittedFile] = []
    if claim.recipe:
        raw, rec = _read(claim.recipe, "recipe")
        recipe = read_recipe(raw, rec.file)
        files.append(rec)
        if train is not None and train != recipe.train:
            raise ConfigError("the recipe is given twice (a recipe file and the config's "
                              "'train'), and they differ: give it once, in the recipe file")
    elif train is not None:
        recipe = Recipe(train)
    else:
        raise ConfigError("a claim audit needs the recipe that trained the original (--recipe "
                          "FILE: optimizer, lr, epochs, batch_size, ...)")
    spec_raw, spec_rec = _read(claim.spec, "spec")
    orig_raw, orig_rec = _read(claim.original, "original")
    files += [orig_rec, spec_rec]
    try:
        spec = validate_spec(ModelSpec.from_json(spec_raw.decode("utf-8", errors="replace")))
    except ModelError as err:
        raise ModelError(f"spec '{spec_rec.file}': {err}") from None
    original = _load_weights(orig_raw, orig_rec, spec)
    ds = data.dataset
    _fits_data(original, orig_rec, ds)
    desc = describe_spec(spec)
    taken: set[str] = set()
    labels = claim.labels or [claim_label(p, taken) for p in claim.claimed]
    claimed: dict[str, nn.Module] = {}
    for path, label in zip(claim.claimed, labels):
        raw, rec = _read(path, "claimed")
        if rec.sha256 == orig_rec.sha256:
            raise ConfigError(f"the claimed model '{rec.file}' is the original, bit for bit (the "
                              f"same file as the original '{orig_rec.file}', SHA-256 "
                              f"{rec.sha256[:16]}...): submit the unlearned model")
        rec.label = label
        claimed[rec.label] = _fits_data(_load_weights(raw, rec, spec, desc), rec, ds)
        files.append(rec)
    submitted: dict[str, nn.Module] = {}
    for i, path in enumerate(claim.submitted_retrains, 1):
        raw, rec = _read(path, "submitted_retrain")
        rec.label = f"submitted#{i}"
        submitted[rec.label] = _fits_data(_load_weights(raw, rec, spec, desc), rec, ds)
        files.append(rec)
    if recipe.train.augment and len(ds.sample_shape) != 3:
        raise ConfigError(f"recipe: augment {', '.join(recipe.train.augment)} needs image data; "
                          f"{ds.name} has samples of shape {list(ds.sample_shape)}")
    return ClaimInputs(spec, original, claimed, submitted, recipe, files)


# -- did the original learn? -----------------------------------------------------------------

def chance_level(data: AuditData, test=None) -> float:
    """The test accuracy (on ``test``, default the test split) of always answering the
    training split's majority class."""
    train_y, test_y = data.dataset.y[data.splits.train], (test if test is not None else data.test).y
    if not len(test_y):
        return math.nan
    majority = int(np.bincount(train_y).argmax()) if len(train_y) else 0
    return float(np.mean(test_y == majority))


def _test_accuracy(model: nn.Module, data: AuditData) -> float:
    test = data.test
    return float(np.mean(predict_proba(model, test.X).argmax(1) == test.y)) if len(test) else \
        math.nan


def check_learned(original: nn.Module, data: AuditData, name: str) -> float:
    """Refuse an original at chance level (its test accuracy within 3.09 standard errors,
    one-sided 0.1%, of always answering the majority class): an unlearning claim about a model
    that learned nothing cannot be judged. Returns the chance level."""
    chance = chance_level(data)
    acc, n = _test_accuracy(original, data), len(data.test)
    if n and math.isfinite(chance):
        limit = chance + CHANCE_Z * math.sqrt(max(chance * (1 - chance), 1e-12) / n)
        if acc <= limit:
            raise ModelError(
                f"the original '{name}' did not learn: test accuracy {acc:.2f} on {n} test "
                f"samples, chance level {chance:.2f} (always the majority class); it is "
                "refused, not judged: a claim of unlearning needs an original that learned "
                "(check that it is the trained model and that the data set is the one it was "
                "trained on)")
    return chance


def reach_figures(fit: FitCheck, check: str) -> tuple[list[float], float]:
    """A fit check's figures of ``check``: those of the originals trained here with the recipe
    (finite ones) and the submitted original's (NaN when absent); what the reach refusal of
    each track compares."""
    accs = [m.figure for m in fit.measurements if m.check == check
            and m.role == "reference" and math.isfinite(m.figure)]
    mine = next((m.figure for m in fit.measurements if m.check == check
                 and m.role == "method"), math.nan)
    return accs, mine


def check_reaches(fit: FitCheck, chance: float, name: str) -> None:
    """Refuse an original far below what its recipe reaches: less than half the way from
    chance to the least accurate original trained here with the recipe."""
    accs, mine = reach_figures(fit, "test_accuracy")
    if not accs or not math.isfinite(mine) or not math.isfinite(chance):
        return
    refuse_unreached(name, "test accuracy", mine, accs, chance, f"chance {chance:.2f}",
                     "the file is the trained model, the data set")


def refuse_unreached(name: str, figure: str, mine: float, accs: list[float], floor: float,
                     floor_words: str, what: str) -> None:
    """Refuse (``ModelError``) an original whose ``figure`` lies less than ``REACH_SHARE`` of
    the way from ``floor`` (chance, the never-trained level) to the least of ``accs``, the
    originals trained here with the declared recipe; the message says what to check."""
    if mine < floor + REACH_SHARE * (min(accs) - floor):
        raise ModelError(
            f"the original '{name}' did not learn what its recipe reaches: {figure} "
            f"{mine:.2f} against {min(accs):.2f} to {max(accs):.2f} for {len(accs)} models "
            f"trained here with the declared recipe ({floor_words}); it is refused, not "
            f"judged (check that {what} the one it was trained on and the recipe the one "
            "that trained it)")


# -- the fit check ---------------------------------------------------------------------------

FIT_SPECS = (
    CheckSpec("test_accuracy", "test accuracy", kind="fit", sides="both", unit="%"),
    CheckSpec("test_divergence", "JS divergence to the recipe's models (test set)", kind="fit",
              sides="high", scale="log"),
    CheckSpec("feature_similarity", "feature similarity to the recipe's models (CKA)",
              kind="fit", sides="low"),
    CheckSpec("weight_norm", "weight norm", kind="fit", sides="both"),
)


def _weight_norm(model: nn.Module) -> float:
    return math.sqrt(sum(float((p.detach().double() ** 2).sum()) for p in model.parameters()
                         if p.is_floating_point()))


def fit_samples(data: AuditData):
    """The test samples the fit figures are measured on: those of the classes not forgotten
    (where retrains and originals are alike, so the retrains' spread can be pooled with the
    originals'), or all of them for a sample request or when fewer than two classes remain."""
    test = data.test
    classes = list(data.forget_set.classes)
    keep = ~np.isin(test.y, classes)
    if classes and len(np.unique(test.y[keep])) >= 2:
        return test.take(np.flatnonzero(keep))
    return test


def _group_figures(models: list[nn.Module], labels: list[str], role: str, data: AuditData,
                   seed: int, others: Optional[list[nn.Module]] = None) -> list[Measurement]:
    """The fit figures of ``models``: each against the others of the group (leave-one-out), or
    with ``others`` given, against each leave-one-out set of ``others``, averaged."""
    from unlearn_core.checks.cka import linear_cka
    from unlearn_core.metrics.closeness import js
    from unlearn_core.models.features import features_problem, output_features

    test = fit_samples(data)
    pool = models if others is None else others
    X = test.X
    if len(X) > CKA_INPUTS:
        rng = np.random.default_rng(seed * 1_000_003 + 909)
        X = X[np.sort(rng.choice(len(X), CKA_INPUTS, replace=False))]
    hidden = features_problem(pool[0], X) is None  # a hidden layer that can be read
    probs = {id(m): predict_proba(m, test.X) for m in [*models, *pool]}
    feats = {id(m): output_features(m, X) for m in [*models, *pool]} if hidden else {}
    k = len(pool)
    out: list[Measurement] = []
    for i, (label, m) in enumerate(zip(labels, models)):
        p = probs[id(m)]
        correct = p.argmax(1) == test.y
        out.append(Measurement("test_accuracy", label, role, float(correct.mean()),
                               proportion_se(int(correct.sum()), len(correct)), len(correct)))
        sets = [[j for j in range(k) if j != i]] if others is None else \
            [[j for j in range(k) if j != o] for o in range(k)]
        sets = [s for s in sets if s]
        divs = [js(p, np.mean([probs[id(pool[j])] for j in s], axis=0)) for s in sets]
        out.append(Measurement(
            "test_divergence", label, role,
            float(np.mean([d.mean() for d in divs])) if divs else math.nan,
            float(np.sqrt(np.mean([bootstrap_se(d, seed=seed) ** 2 for d in divs])))
            if divs else math.nan, len(test)))
        if hidden:
            ckas = [float(np.mean([linear_cka(feats[id(m)], feats[id(pool[j])]) for j in s]))
                    for s in sets]
            out.append(Measurement("feature_similarity", label, role,
                                   float(np.mean(ckas)) if ckas else math.nan, math.nan,
                                   len(X)))
        out.append(Measurement("weight_norm", label, role, _weight_norm(m), 0.0, 0))
    return out


def fit_measurements(original: nn.Module, fitted: list[nn.Module], spread: list[nn.Module],
                     data: AuditData, seed: int) -> tuple[list[CheckSpec], list[Measurement]]:
    """The fit check's figures: of each original trained here with the recipe (role
    ``reference``; divergence and feature similarity against the others), of the submitted
    original (role ``method``; against the same leave-one-out sets, averaged) and of the
    retrains trained with the recipe (role ``spread``; among themselves), whose spread about
    their own mean is pooled with the originals' (``judge_fit``)."""
    out = _group_figures(fitted, [f"original#{i + 1}" for i in range(len(fitted))],
                         "reference", data, seed)
    out += _group_figures([original], ["original"], "method", data, seed, others=fitted)
    if len(spread) >= 2:
        out += _group_figures(spread, [f"retrain#{i + 1}" for i in range(len(spread))],
                              "spread", data, seed)
    names = {m.check for m in out}
    return [s for s in FIT_SPECS if s.name in names], out


def _scaled(spec: CheckSpec, ms: list[Measurement]) -> tuple[np.ndarray, np.ndarray]:
    """Figures and standard errors on the scale the figure is judged on (log for "log")."""
    f = np.array([m.figure for m in ms if math.isfinite(m.figure)], dtype=np.float64)
    se = np.array([m.se for m in ms if math.isfinite(m.figure)], dtype=np.float64)
    if spec.scale == "log":
        f = np.maximum(f, 1e-12)
        return np.log(f), se / f
    return f, se


def pooled_judge(spec: CheckSpec, mine: Measurement, refs: list[Measurement],
                 spread: list[Measurement], n_figures: int, alpha: float = 0.05
                 ) -> CheckResult:
    """One fit figure of the submitted original judged against the K originals trained here:
    the band is their mean +/- t(df, q) s sqrt(1 + 1/K), widened by sampling error as the
    verdict's judge does (``checks.judge``), with s the seed-to-seed spread pooled from the
    originals and the retrains of the same recipe (each about its own mean; df = K - 1 +
    R - 1), so that three originals give a usable band. q = 1 - alpha / (2 m) over the m
    figures; FAIL needs the figure's interval to clear a 10 times stricter band."""
    from unlearn_core.checks.judge import FAIL_STRICTER, UNCERTAIN, critical_level

    g, g_se = _scaled(spec, refs)
    h, _ = _scaled(spec, spread)
    x, x_se = _scaled(spec, [mine])
    q = critical_level(n_figures, alpha)
    z = float(stats.norm.ppf(q))
    nan = math.nan
    k = len(g)
    df = (k - 1) + max(len(h) - 1, 0)
    base = dict(check=spec.name, title=spec.title, model=mine.model, kind=spec.kind,
                figure=mine.figure, se=mine.se, n=mine.n, reference_mean=nan, reference_sd=nan,
                k=k, control=nan, powered=None, power_margin=nan, over_forgetting=False,
                low_resolution=False, unit=spec.unit)
    if not len(x) or k < 2 or df < 1:
        return CheckResult(status=NO_DATA, ci_low=nan, ci_high=nan, band_low=nan,
                           band_high=nan, band_source="fewer than two originals measured",
                           reason=f"{spec.title}: could not be measured", **base)
    ss = float(((g - g.mean()) ** 2).sum()) + (float(((h - h.mean()) ** 2).sum())
                                               if len(h) >= 2 else 0.0)
    sd = math.sqrt(ss / df)
    sampling = math.sqrt(float(np.mean(g_se ** 2))) if len(g_se) and np.isfinite(g_se).all() \
        else 0.0

    def limits(level: float) -> tuple[float, float]:
        half = math.hypot(float(stats.t.ppf(level, df)) * sd * math.sqrt(1 + 1 / k),
                          float(stats.norm.ppf(level)) * sampling)
        lo, hi = float(g.mean()) - half, float(g.mean()) + half
        return (-math.inf if spec.sides == "high" else lo, math.inf if spec.sides == "low" else hi)

    lo, hi = limits(q)
    f_lo, f_hi = limits(1.0 - (1.0 - q) / FAIL_STRICTER)
    se = float(x_se[0]) if math.isfinite(float(x_se[0])) else 0.0
    ci = (float(x[0]) - z * se, float(x[0]) + z * se)
    if lo <= x[0] <= hi:
        status = PASS
    elif ci[1] < f_lo or ci[0] > f_hi:
        status = FAIL
    else:
        status = UNCERTAIN

    def back(v: float) -> float:
        return math.exp(v) if spec.scale == "log" and math.isfinite(v) else \
            (0.0 if spec.scale == "log" and v == -math.inf else v)

    source = (f"{k} originals trained here with the declared recipe, their seed-to-seed spread "
              f"pooled with {len(h)} retrains of it (sd {fmt(sd)}"
              f"{' on a log scale' if spec.scale == 'log' else ''}), {100 * (2 * q - 1):.1f}% "
              "per figure")
    band_txt = f"[{fmt(back(lo), spec.unit)}, {fmt(back(hi), spec.unit)}]"
    reason = (f"{spec.title} {fmt(mine.figure, spec.unit)} "
              + {PASS: f"lies among the recipe's originals {band_txt}",
                 FAIL: f"lies outside the recipe's originals {band_txt} beyond sampling error",
                 UNCERTAIN: f"lies outside the recipe's originals {band_txt}, its interval "
                            "reaching into it"}[status])
    return CheckResult(status=status, ci_low=back(ci[0]), ci_high=back(ci[1]),
                       band_low=back(lo), band_high=back(hi), band_source=source,
                       reason=reason, **{**base, "reference_mean": back(float(g.mean())),
                                         "reference_sd": sd})


def judge_fit(fit: FitCheck, alpha: float = 0.05,
              advice: Optional[Callable[[list[CheckResult]], str]] = None
              ) -> tuple[list[CheckResult], bool, str]:
    """Each fit figure of the submitted original judged against the originals trained here
    (``pooled_judge``, Bonferroni over the figures): the recipe fits when every figure passes.
    Returns the judged figures, whether it fits, and the reason in plain words (``advice``:
    what to change for the figures that miss; by default the classifier's ``fit_advice``)."""
    advice = advice or fit_advice
    results = []
    for spec in fit.specs:
        ms = [m for m in fit.measurements if m.check == spec.name]
        mine = [m for m in ms if m.role == "method"]
        if mine:
            results.append(pooled_judge(spec, mine[0], [m for m in ms if m.role == "reference"],
                                        [m for m in ms if m.role == "spread"], len(fit.specs),
                                        alpha))
    off = [r for r in results if r.status not in (PASS, NO_DATA)]
    if not results or all(r.status == NO_DATA for r in results):
        return results, False, ("the fit of the declared recipe could not be measured: no "
                                "figure of the originals trained here")
    if not off:
        return results, True, (f"the declared recipe reproduces the original: every figure lies "
                               f"among {fit.k} originals trained here with it")
    parts = []
    for r in off:
        refs = [m.figure for m in fit.measurements if m.check == r.check
                and m.role == "reference" and math.isfinite(m.figure)]
        span = f"{fmt(min(refs), r.unit)} to {fmt(max(refs), r.unit)}" if refs else "n/a"
        parts.append(f"{r.title} {fmt(r.figure, r.unit)} against {span}")
    return results, False, ("the declared recipe does not reproduce your original: "
                            + "; ".join(parts) + f" for {fit.k} models trained here with it. "
                            + advice(off) + " Until it does, the retrains are no reference "
                            "for this original and no verdict can be given")


def fit_advice(off: list[CheckResult]) -> str:
    """What to change in the recipe, from the side on which the original's figures miss."""
    tips = []
    for r in off:
        above = r.figure > r.reference_mean
        if r.check == "test_accuracy":
            tips.append("the original is more accurate than the recipe's models: it trained "
                        "longer, with a larger learning rate or a better schedule than declared"
                        if above else "the original is less accurate than the recipe's models: "
                        "fewer epochs, a smaller learning rate or a worse schedule than declared")
        elif r.check == "weight_norm":
            tips.append("its weights are larger: more epochs, a larger learning rate or less "
                        "weight decay than declared" if above else "its weights are smaller: "
                        "fewer epochs, a smaller learning rate or more weight decay than declared")
        elif r.check in ("test_divergence", "feature_similarity"):
            tips.append("its predictions and features differ from the recipe's models more than "
                        "those differ among themselves: check the optimizer and its settings, "
                        "the schedule, the augmentation and the label smoothing")
    tips = list(dict.fromkeys(tips))
    return ("What to change: " + "; ".join(tips) + ". Declare the recipe that trained the "
            "original, on this audit's training split.")


def fit_check(original: nn.Module, fitted: list[nn.Module], spread: list[nn.Module],
              seeds: list[int], data: AuditData, seed: int, alpha: float = 0.05,
              seconds: float = 0.0, cached: bool = False) -> FitCheck:
    """The fit check of a submitted original against originals trained here with its recipe
    (and the spread of the retrains trained with it)."""
    specs, ms = fit_measurements(original, fitted, spread, data, seed)
    fit = FitCheck(len(fitted), list(seeds), specs, ms, seconds=seconds, cached=cached)
    fit.results, fit.fits, fit.reason = judge_fit(fit, alpha)
    return fit


def fit_stage(claim: ClaimInputs, data: AuditData, spec: ModelSpec, seed: int, k: int,
              spread: list[nn.Module], chance: float, alpha: float = 0.05,
              executor: str = "serial", ray_address: Optional[str] = None, progress=None,
              cache=None) -> ClaimRecord:
    """The claim audit's fit stage: train ``k`` originals with the declared recipe (other seeds
    than the audit's, the retrains' and the claimant's), check that the submitted original
    lands among them (``spread``: the retrains trained here with the recipe) and refuse it
    when it is far below them (``chance``: from ``check_learned``)."""
    from unlearn_core.reference.originals import originals_seeds, trained_originals

    name = next(f.file for f in claim.files if f.role == "original")
    avoid = () if claim.recipe.seed is None else (claim.recipe.seed,)
    seeds = originals_seeds(seed, k, avoid)
    recipe = claim.recipe.train
    fitted, info = trained_originals(data, spec, recipe, seeds, executor, ray_address, progress,
                                     cache)
    fit = fit_check(claim.original, fitted, spread, seeds, data, seed, alpha, info.seconds,
                    info.cached)
    test = fit_samples(data)
    check_reaches(fit, chance_level(data, test), name)
    return ClaimRecord(claim.files, recipe, claim.recipe.seed, "trained here", fit, chance)


def claim_warnings(record: Optional[ClaimRecord]) -> list[str]:
    """What a claim audit says beside its verdicts: a recipe that does not fit, submitted
    retrains that were not trusted."""
    if record is None:
        return []
    out = [] if record.fit.fits else [record.fit.reason]
    if record.submitted is not None and not record.submitted.trusted:
        out.append(record.submitted.reason)
    return out


# -- the verdicts of a claim audit ---------------------------------------------------------

def identity_result(label: str) -> CheckResult:
    """The check a claimed model with the original's weights fails."""
    nan = math.nan
    return CheckResult(
        check="not_the_original", title="differs from the original", model=label,
        kind="claim", status=FAIL, figure=0.0, se=0.0, n=0, ci_low=0.0, ci_high=0.0,
        band_low=nan, band_high=nan, band_source="the original's weights (model hash)",
        reference_mean=nan, reference_sd=nan, k=0, control=0.0, powered=None,
        power_margin=nan, over_forgetting=False, low_resolution=False,
        reason="the claimed model is the original, bit for bit: its weights hash to the "
               "original's")


def judge_claims(result, verdicts: list[Verdict], alpha: float = 0.05) -> list[Verdict]:
    """The verdicts of a claim audit from the checks' verdicts and the recorded claim: a claimed
    model with the original's weights fails, named as such; when the declared recipe does not
    reproduce the original (the fit check, judged again from its recorded figures), every other
    verdict is inconclusive with the figures and what to change."""
    claim = getattr(result, "claim", None)
    if claim is None:
        return verdicts
    _, fits, why = judge_fit(claim.fit, alpha)
    evals = {e.name: e for e in result.methods}
    original = result.baseline.model_hash
    for v in verdicts:
        e = evals.get(v.method)
        if e is not None and e.role == "claim" and e.model_hash == original:
            v.checks.append(identity_result(v.method))
            v.status = FAIL
            v.reason = ("the claimed model is the original, bit for bit: nothing was unlearned "
                        "(its weights hash to the original's)")
            _nothing_ruled_out(v, failed=True)
        elif not fits:
            v.status = INCONCLUSIVE
            v.reason = why
            _nothing_ruled_out(v)
    return verdicts


def _nothing_ruled_out(v: Verdict, failed: bool = False) -> None:
    """A verdict the claim's rules decided states no assurance: a fail none, an inconclusive
    one rules nothing out (where the fold stated one: ``Verdict.qualifier`` not None)."""
    if getattr(v, "qualifier", None) is None:
        return
    every = [*v.ruled_out, *v.not_ruled_out]
    v.qualifier, v.ruled_out, v.not_ruled_out = "", [], [] if failed else every


def submitted_trust(verdicts: list[Verdict], files: dict[str, str], k: int
                    ) -> tuple[bool, str]:
    """Whether submitted retrains look like retrains trained here: none of their checks fails
    or is uncertain against K retrains of the declared recipe. ``files``: label -> file."""
    bad = [(v, [c for c in v.checks if c.status not in (PASS, NO_DATA, "no power")])
           for v in verdicts]
    bad = [(v, cs) for v, cs in bad if cs]
    if not bad:
        return True, (f"the {len(verdicts)} submitted retrains look like the {k} retrains "
                      "trained here with the declared recipe on every check: they are the "
                      "reference")
    named = "; ".join(f"{files.get(v.method, v.method)}: " + ", ".join(
        f"{c.title} {c.status} ({fmt(c.figure, c.unit)}, band "
        f"{fmt(c.band_low, c.unit)} to {fmt(c.band_high, c.unit)})" for c in cs)
        for v, cs in bad)
    return False, ("the submitted retrains do not look like retrains of the declared recipe ("
                   + named + f", against {k} retrains trained here); the audit uses its own "
                   "retrains instead")


__all__ = ["CODE_FREE", "ClaimInputs", "ClaimRecord", "ClaimSpec", "FitCheck",
           "SubmittedFile", "SubmittedRetrainCheck", "check_learned", "check_reaches",
           "claim_label", "claim_warnings", "fit_check", "fit_stage", "judge_claims",
           "judge_fit", "load_claim", "resolved", "submitted_trust", "validate_claim"]
