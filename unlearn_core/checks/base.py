"""What a check is: a figure measured the same way on every model of an audit.

Checks split *measuring* from *judging* (see ``judge.py``): ``Check.measure`` returns one
``Measurement`` per model (the figure, its sampling standard error and the sample count), and
the judge compares the audited model's measurement with those of the retrain ensemble and of
the untouched original (the do-nothing control), the same way for every check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar, Optional

import numpy as np
from torch import nn

from unlearn_core.audit.data import AuditData
from unlearn_core.data.dataset import Samples
from unlearn_core.models.training import predict_log_proba


@dataclass
class CheckSpec:
    """What the judge needs to know of a check (plain data, recorded with every result so
    ``verify`` can judge again without the code that measured)."""

    name: str
    title: str
    kind: str = "forgetting"  # or "utility": no power notion, only too-low utility fails
    sides: str = "both"  # "both", "high" (only above the band fails) or "low"
    forgotten_side: str = ""  # "low" / "high": the side meaning "more forgotten than retrain"
    unit: str = ""  # "%" for shares
    paper: str = ""
    scale: str = "linear"  # "log": judged on log(figure), for positive right-skewed figures
    # the values the figure can take (an AUC's [0, 1]); None: [0, 1] for a share (unit "%"),
    # else unbounded. Intervals and bands are clipped to it (``judge.figure_range``)
    bounds: Optional[tuple[float, float]] = None


@dataclass
class Measurement:
    """One check's figure on one model, with its sampling standard error and sample count."""

    check: str
    model: str  # the model's run label ("finetune", "finetune:epochs=10", "retrain#2", ...)
    role: str  # "method", "reference" (a retrain of the ensemble) or "control" (the original)
    figure: float
    se: float  # standard error of the figure from the finite evaluation samples
    n: int  # evaluation samples the figure rests on
    detail: dict[str, float] = field(default_factory=dict)  # extra figures shown beside it


@dataclass
class CheckContext:
    """What every check may read: the audit's data, the original model, the retrain ensemble.

    ``references`` are K models retrained from scratch on the retain set with K seeds (or the
    exact counterpart of an exact method); ``original`` is the untouched model before
    unlearning. Checks must not modify any model (copy before fine-tuning).
    """

    data: AuditData
    original: nn.Module
    references: list[nn.Module]
    seed: int = 0
    spec: object = None  # ModelSpec, or None for TorchScript baselines
    recipe: object = None  # TrainConfig of the original and the retrains
    cache: dict = field(default_factory=dict)  # per-audit scratch space shared by checks
    max_eval: int = 5000  # retain samples scored at most (a seeded subset beyond)

    @property
    def n_classes(self) -> int:
        return self.data.dataset.n_classes

    @property
    def forget_classes(self) -> tuple[int, ...]:
        return tuple(self.data.forget_set.classes)

    @property
    def is_class_request(self) -> bool:
        return bool(self.data.forget_set.classes)

    def split(self, name: str) -> Samples:
        """A split by name: forget, retain (a seeded subset of at most ``max_eval``), test,
        population, or unseen (test and population together: never trained on)."""
        key = ("split", name)
        if key not in self.cache:
            d = self.data
            if name == "retain":
                s = d.retain
                if len(s) > self.max_eval:
                    rng = np.random.default_rng(self.seed + 17)
                    s = s.take(np.sort(rng.choice(len(s), self.max_eval, replace=False)))
            elif name == "unseen":
                s = Samples.concat([d.test, d.population])
            else:
                s = getattr(d, name)
            self.cache[key] = s
        return self.cache[key]

    def log_probs(self, model: nn.Module, split: str) -> np.ndarray:
        """log_softmax of ``model``'s logits on a split, computed once per model and split."""
        key = ("logp", id(model), split)
        if key not in self.cache:
            s = self.split(split)
            lp = predict_log_proba(model, s.X) if len(s) else np.zeros((0, self.n_classes))
            self.cache[key] = (model, lp)  # the model is kept so its id stays unique
        return self.cache[key][1]


class Check:
    """Base class of a check; subclasses set the class attributes and implement ``measure``.

    - ``kind``: "forgetting" (does the model still hold the forgotten data? judged for power
      against the do-nothing control) or "utility" (does the model still work?).
    - ``sides``: which departures from the retrain band fail: "both", "high" (only a figure
      above the band fails, e.g. a distance) or "low" (only below, e.g. an accuracy to keep).
    - ``forgotten_side``: "low" or "high", the side on which a figure means "more forgotten
      than retraining" (used to name over-forgetting), or "" when that has no meaning.
    - ``closeness``: the figure is a distance to the reference models; the judge then measures
      each retrain against the others (leave-one-out) and the audited model against the same
      leave-one-out sets, so both sides are compared with K - 1 models.
    - ``rules_out``: the forgery families (``checks.verdict.FAMILIES``) a powered pass of this
      check rules out beyond doing nothing: "suppression" for a check that looks at the
      features, "dormant" for one that sees knowledge come back; () for output checks.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""  # a short plain-language label for tables
    paper: ClassVar[str] = ""
    kind: ClassVar[str] = "forgetting"
    sides: ClassVar[str] = "both"
    forgotten_side: ClassVar[str] = ""
    closeness: ClassVar[bool] = False
    default: ClassVar[bool] = True  # run in every audit (False: opt-in with --checks)
    order: ClassVar[int] = 100  # position in tables (smaller first)
    unit: ClassVar[str] = ""  # "%" for shares shown in percent, else plain numbers
    scale: ClassVar[str] = "linear"  # "log": judged on log(figure) (positive, skewed figures)
    cost: ClassVar[str] = "seconds"
    rules_out: ClassVar[tuple[str, ...]] = ()
    bounds: ClassVar[Optional[tuple[float, float]]] = None  # see ``CheckSpec.bounds``

    @classmethod
    def spec(cls) -> "CheckSpec":
        """The plain-data description the judge reads (recorded with every result)."""
        return CheckSpec(cls.name, cls.title or cls.name, cls.kind, cls.sides,
                         cls.forgotten_side, cls.unit, cls.paper, cls.scale,
                         bounds=cls.bounds)

    def applicable(self, ctx: CheckContext) -> Optional[str]:
        """None when the check can run on this request, else the reason it cannot."""
        return None

    def measure(self, model: nn.Module, ctx: CheckContext,
                others: Optional[list[nn.Module]] = None) -> Measurement:
        """The figure on ``model``; closeness checks measure it against ``others``."""
        raise NotImplementedError

    def _m(self, figure: float, se: float, n: int, **detail: float) -> Measurement:
        """A measurement of this check; model and role are filled in by the caller."""
        return Measurement(self.name, "", "", float(figure), float(se), int(n),
                           {k: float(v) for k, v in detail.items()})


def proportion_se(k: float, n: int) -> float:
    """Standard error of a share k/n, Agresti-Coull adjusted so that it is never 0 at 0 or n
    (Agresti & Coull, Am. Stat. 1998; the same centre as Wilson's interval)."""
    if n <= 0:
        return math.nan
    z2 = 1.96 ** 2
    p = (k + z2 / 2) / (n + z2)
    return math.sqrt(p * (1 - p) / (n + z2))


def auc_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Hanley & McNeil (Radiology 1982) standard error of an ROC AUC."""
    if n_pos <= 0 or n_neg <= 0 or math.isnan(auc):
        return math.nan
    a = min(max(auc, 1e-6), 1 - 1e-6)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))


def bootstrap_se(values: np.ndarray, statistic=np.mean, reps: int = 200, seed: int = 0) -> float:
    """Bootstrap standard error of ``statistic(values)`` over the evaluation samples."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return math.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(reps, len(values)))
    return float(np.std([statistic(values[i]) for i in idx], ddof=1))
