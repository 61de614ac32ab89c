"""Per-sample evidence of an audit's figures: every headline figure recomputed exactly from what
it rests on, so that a figure edited in a report (its content hash recomputed, no signature) is
caught by ``verify`` without re-running anything.

Recorded with every result (``AuditResult.evidence``):

- per measured model: which forget, retain and test samples it predicts correctly (packed bits)
  and which forget samples MIA-efficacy's SVC calls non-members (Jia et al., "Model sparsity can
  simplify machine unlearning", NeurIPS 2023). With the test labels, they give the forget,
  retain, test, other-class, forgotten-class and per-class accuracies and MIA-efficacy exactly;
  the threshold attack's AUC (Yeom et al., CSF 2018) is recomputed from the per-sample scores the
  result already holds;
- per check measurement that is a statistic of per-sample values: those values (correct bits of
  the accuracy checks, forget losses of the median loss, scores and class-matched weights of the
  membership AUC, per-sample Jensen-Shannon divergences to retraining, Chundawat et al., AAAI
  2023). The verdicts are judged again from the measurements (``verify.rejudge``), so evidence,
  figures and verdicts form one chain.

Evidence is recorded only where it reproduces the recorded figure exactly when the audit is
made (``uncovered`` names any that did not). Re-evaluating stored weights (``collect`` on the
loaded artifacts) gives fresh evidence, compared with a tolerance of one sample's worth.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

# checks whose figure is a statistic of per-sample values, and which statistic
STATS = {"forget_accuracy": "share", "forgotten_class_accuracy": "share",
         "retain_accuracy": "share", "test_accuracy": "share", "mia_efficacy": "share",
         "forget_loss": "median", "membership_auc": "weighted_auc",
         "output_divergence": "mean_of_means"}


@dataclass
class ModelEvidence:
    """One model's per-sample outcomes on the audit's splits (packed bits, ``pack_bits``)."""

    model: str
    forget_correct: str
    retain_correct: str
    test_correct: str
    forget_nonmember: str  # MIA-efficacy's SVC calls; "" when a split was empty


@dataclass
class MeasurementEvidence:
    """The per-sample values one check figure is computed from: ``bits`` (a share),
    ``values`` (median; AUC scores, positives first, with ``weights``; divergences of
    ``parts`` leave-one-out comparisons, concatenated)."""

    check: str
    model: str
    stat: str
    bits: str = ""
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_pos: int = 0
    parts: int = 1


@dataclass
class EvidenceSet:
    """An audit's evidence: test labels (for per-class figures), per model, per measurement."""

    test_labels: np.ndarray
    models: list[ModelEvidence] = field(default_factory=list)
    measurements: list[MeasurementEvidence] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)  # figures not reproduced when recorded

    def model(self, name: str) -> Optional[ModelEvidence]:
        return next((m for m in self.models if m.model == name), None)

    def measurement(self, check: str, model: str) -> Optional[MeasurementEvidence]:
        return next((m for m in self.measurements if m.check == check and m.model == model),
                    None)


# --- compact booleans ------------------------------------------------------------------------


def pack_bits(flags: Optional[np.ndarray]) -> str:
    """``"<n>:<base64 of np.packbits>"``; "" for None."""
    if flags is None:
        return ""
    flags = np.asarray(flags, dtype=bool)
    return f"{len(flags)}:{base64.b64encode(np.packbits(flags).tobytes()).decode()}"


def unpack_bits(text: str) -> Optional[np.ndarray]:
    """The booleans of ``pack_bits`` (None for ""); ``ValueError`` on a malformed string."""
    if not text:
        return None
    n_text, _, data = text.partition(":")
    n = int(n_text)
    raw = np.frombuffer(base64.b64decode(data, validate=True), dtype=np.uint8)
    if n < 0 or len(raw) != (n + 7) // 8:
        raise ValueError(f"packed bits of {n} flags hold {len(raw)} bytes")
    return np.unpackbits(raw)[:n].astype(bool)


# --- figures from evidence -------------------------------------------------------------------


def _share(flags: Optional[np.ndarray]) -> float:
    return float(flags.mean()) if flags is not None and len(flags) else float("nan")


def model_figures(ev: ModelEvidence, test_labels: np.ndarray, forget_classes: list[int],
                  n_classes: int) -> dict[str, float]:
    """The figures of a ``ModelEvaluation`` its evidence gives, by the name ``verify`` shows
    (the same arithmetic as ``metrics.accuracy_report`` and ``metrics.mia_efficacy``)."""
    forget, retain, test = (unpack_bits(ev.forget_correct), unpack_bits(ev.retain_correct),
                            unpack_bits(ev.test_correct))
    out = {"forget accuracy": _share(forget), "retain accuracy": _share(retain),
           "test accuracy": _share(test)}
    if test is not None:
        y = np.asarray(test_labels)
        if len(y) != len(test):
            raise ValueError(f"{len(test)} test outcomes for {len(y)} test labels")
        gone = np.isin(y, forget_classes)
        out["test accuracy, other classes"] = _share(test[~gone])
        out["test accuracy, forgotten classes"] = _share(test[gone]) if forget_classes \
            else float("nan")
        for c in range(n_classes):
            out[f"test accuracy of class {c}"] = _share(test[y == c])
    if ev.forget_nonmember:
        out["MIA-efficacy"] = _share(unpack_bits(ev.forget_nonmember))
    return out


def measurement_figure(ev: MeasurementEvidence) -> float:
    """The check figure its evidence gives (the same arithmetic as the check)."""
    values = np.asarray(ev.values, dtype=np.float64)
    if ev.stat == "share":
        return _share(unpack_bits(ev.bits))
    if ev.stat == "median":
        return float(np.median(values)) if len(values) else float("nan")
    if ev.stat == "weighted_auc":
        from sklearn.metrics import roc_auc_score

        if not ev.n_pos or len(values) <= ev.n_pos:
            return float("nan")
        labels = np.r_[np.ones(ev.n_pos), np.zeros(len(values) - ev.n_pos)]
        return float(roc_auc_score(labels, values,
                                   sample_weight=np.asarray(ev.weights, dtype=np.float64)))
    if ev.stat == "mean_of_means":
        if not len(values):
            return float("nan")
        if ev.parts <= 1:
            return float(values.mean())
        return float(np.mean([float(p.mean()) for p in values.reshape(ev.parts, -1)]))
    raise ValueError(f"unknown statistic '{ev.stat}'")


def same(a: float, b: float) -> bool:
    """Exactly equal, NaN equal to NaN."""
    if a is None or b is None:
        return a is b
    return (math.isnan(a) and math.isnan(b)) or a == b


def recorded_model_figures(e, n_classes: int) -> dict[str, float]:
    """A ``ModelEvaluation``'s recorded figures by the names of ``model_figures``."""
    acc = e.accuracy
    out = {"forget accuracy": acc.forget, "retain accuracy": acc.retain,
           "test accuracy": acc.test, "test accuracy, other classes": acc.test_other_classes,
           "test accuracy, forgotten classes": acc.test_forgotten_classes,
           "MIA-efficacy": e.mia_efficacy}
    per_class = np.asarray(acc.per_class_test, dtype=np.float64)
    for c in range(n_classes):
        out[f"test accuracy of class {c}"] = float(per_class[c]) if c < len(per_class) \
            else float("nan")
    return {k: float(v) for k, v in out.items()}


# --- collecting evidence from live models ----------------------------------------------------


def _groups(result) -> dict[str, tuple[list[str], str, list[str]]]:
    """Reference group -> (its reference models, its control, its methods), as the audit
    formed them (``audit._Group``)."""
    groups: dict[str, tuple[list[str], str, list[str]]] = {}
    for r in result.references:
        g = r.reference_group or "retrain"
        groups.setdefault(g, ([], "baseline", []))[0].append(r.name)
    for e in result.methods:
        refs, _, members = groups.setdefault(e.reference, ([], e.control, []))
        groups[e.reference] = (refs, e.control, members + [e.name])
    return groups


def _measurement_values(check: str, model_name: str, role: str, models: dict, ctx,
                        groups: dict, calls: Optional[dict] = None
                        ) -> Optional[MeasurementEvidence]:
    """Per-sample values of one check on one model, computed as the check computes them."""
    from unlearn_core.checks.membership import class_matched_weights
    from unlearn_core.metrics.closeness import js
    from unlearn_core.metrics.efficacy import nonmember_calls

    stat = STATS[check]
    model = models[model_name]
    ev = MeasurementEvidence(check, model_name, stat)
    classes = list(ctx.forget_classes)
    if check in ("forget_accuracy", "retain_accuracy", "forgotten_class_accuracy",
                 "test_accuracy"):
        split = {"forget_accuracy": "forget", "retain_accuracy": "retain"}.get(check, "test")
        s, lp = ctx.split(split), ctx.log_probs(model, split)
        keep = np.ones(len(s), bool)
        if check == "forgotten_class_accuracy":
            keep = np.isin(s.y, classes)
        elif check == "test_accuracy":
            keep = ~np.isin(s.y, classes)
        correct = lp[keep].argmax(1) == s.y[keep] if keep.any() else np.zeros(0, bool)
        ev.bits = pack_bits(correct)
    elif check == "mia_efficacy":
        retain = ctx.split("retain")
        if calls is not None and model_name in calls and len(retain) == len(ctx.data.retain):
            said = calls[model_name]  # the whole retain split: the model's own SVC calls
        else:
            said = nonmember_calls(model, ctx.split("forget"), retain, ctx.split("test"),
                                   seed=ctx.seed)
        ev.bits = pack_bits(np.zeros(0, bool) if said is None else said)
    elif check == "forget_loss":
        s = ctx.split("forget")
        ev.values = -ctx.log_probs(model, "forget")[np.arange(len(s)), s.y]
    elif check == "membership_auc":
        forget, unseen = ctx.split("forget"), ctx.split("unseen")
        pos = ctx.log_probs(model, "forget")[np.arange(len(forget)), forget.y]
        neg = ctx.log_probs(model, "unseen")[np.arange(len(unseen)), unseen.y]
        w = class_matched_weights(forget.y, unseen.y)
        keep = w > 0
        if len(pos) and keep.any():
            ev.values = np.r_[pos, neg[keep]]
            ev.weights = np.r_[np.full(len(pos), 1.0 / len(pos)), w[keep]]
            ev.n_pos = len(pos)
    elif check == "output_divergence":
        group = next((g for g in groups.values()
                      if model_name in g[0] or model_name in g[2] or model_name == g[1]), None)
        if group is None or any(r not in models for r in group[0]):
            return None
        refs = group[0]
        if role == "reference" and model_name in refs:
            leave_out = [refs.index(model_name)]
        else:
            leave_out = list(range(len(refs)))
        p = np.exp(ctx.log_probs(model, "forget"))
        parts = []
        for k in leave_out:
            others = [models[r] for j, r in enumerate(refs) if j != k]
            if not others:
                return None
            q = np.mean([np.exp(ctx.log_probs(o, "forget")) for o in others], axis=0)
            parts.append(js(p, q))
        ev.values = np.concatenate(parts) if parts else np.zeros(0)
        ev.parts = len(parts)
    return ev


def collect(result, models: dict, data, ctx=None, keep_exact: bool = True) -> EvidenceSet:
    """The evidence of ``result``'s figures from the live ``models`` on ``data`` (an
    ``AuditData``). ``ctx``: the audit's ``CheckContext`` (its cached predictions are reused).
    ``keep_exact``: keep only evidence that gives the recorded figure exactly (when recording);
    otherwise keep all (when re-evaluating stored weights, compared within a tolerance)."""
    from unlearn_core.checks.base import CheckContext
    from unlearn_core.metrics.efficacy import nonmember_calls
    from unlearn_core.models.training import predict_logits

    if ctx is None:
        refs = [models[r.name] for r in result.references
                if (r.reference_group or "retrain") == "retrain" and r.name in models]
        ctx = CheckContext(data, models.get("baseline"), refs, result.config.seed)
    forget, retain, test = data.forget, data.retain, data.test
    n_classes = len(result.class_names)
    classes = list(result.forget_classes)
    out = EvidenceSet(test_labels=np.asarray(test.y, dtype=np.int64))
    seen: set[str] = set()
    said: dict = {}  # each model's MIA-efficacy calls on the whole retain split
    evaluations = [*result.evaluations(), *result.references, *result.controls]
    for e in evaluations:
        if e.name in seen or e.name not in models:
            continue
        seen.add(e.name)
        model = models[e.name]

        def correct(s):
            return predict_logits(model, s.X).argmax(1) == s.y if len(s) else np.zeros(0, bool)

        calls = nonmember_calls(model, forget, retain, test, seed=result.config.seed)
        said[e.name] = calls
        ev = ModelEvidence(e.name, pack_bits(correct(forget)), pack_bits(correct(retain)),
                           pack_bits(correct(test)), pack_bits(calls))
        if keep_exact:
            got = model_figures(ev, out.test_labels, classes, n_classes)
            rec = recorded_model_figures(e, n_classes)
            off = [k for k, v in got.items() if not same(v, rec[k])]
            if off:
                out.uncovered += [f"{e.name}: {k}" for k in off]
                continue
        out.models.append(ev)
    groups = _groups(result)
    for m in result.measurements:
        if m.check not in STATS or m.model not in models:
            continue
        ev = _measurement_values(m.check, m.model, m.role, models, ctx, groups, said)
        if ev is None:
            continue
        if keep_exact and not same(measurement_figure(ev), m.figure):
            out.uncovered.append(f"{m.model}: check {m.check}")
            continue
        out.measurements.append(ev)
    return out
