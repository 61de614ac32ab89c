"""How long an audit will take, said before it starts: the training it needs, counted in epochs
over the training split from the recipe and the request (K reference retrains on the retain
set, each method's own epochs, shadow models, scenarios that train their own models, and about
one epoch's worth of measuring per model), times the cost of one epoch measured on this
machine. Two costs, because the work runs in two ways: the methods and the measurements in the
app's process (the baseline's own training time per epoch, or a few timed batches), the
reference and shadow models one torch thread each, ``workers`` at a time (a few batches timed on
one thread). On a busy machine the two differ by an order of magnitude (threads that wait on
each other): one cost for both was off by a factor of two and more. Checks that do more than
predict (the probe fits a classifier per model) and the machine's other load are not in the
count, so the first estimate of a setup can be several times short (``bench/bench_estimate.py``
prints estimate against actual); ``calibration``, the last audit's actual over estimated time
on this machine, scales the next one. A cached reference ensemble costs nothing."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional

from unlearn_core.audit.run import AuditConfig
from unlearn_core.data import Samples
from unlearn_core.errors import UnlearnError
from unlearn_core.methods import make_method
from unlearn_core.models import ModelSpec, TrainConfig, build_model
from unlearn_core.models.training import train_epochs
from unlearn_core.reference.executors import torch_threads
from unlearn_core.reference.retrains import SMALL_WORK  # below it the ensemble trains serially

SHADOW_ATTACKS = {"lira": 1.0, "ulira": 1.5, "rmia": 1.0}  # shadow trainings per shadow
OWN_MODEL_SCENARIOS = ("backdoor", "restor", "confusion")  # each trains a baseline + retrains
METHOD_EPOCHS = 1.0  # a method that declares no epochs: about one pass
MEASURE_EPOCHS = 1.0  # measuring one model (predictions, checks): about one epoch's cost


@dataclass
class Estimate:
    """An audit's expected wall time: ``seconds`` in all and ``parts`` by stage (seconds), from
    ``epochs`` epoch-equivalents at ``epoch_seconds`` (the app's process) or
    ``model_epoch_seconds`` (one thread, the reference and shadow models) each."""

    seconds: float
    epoch_seconds: float
    model_epoch_seconds: float
    epochs: float
    parts: dict[str, float] = field(default_factory=dict)
    calibration: float = 1.0  # applied to every part: a past audit's actual / estimate
    # what the sequential rule adds when a verdict is borderline (``checks.sequential``): more
    # retrains and the checks again, not in ``seconds``
    borderline_seconds: float = 0.0

    def text(self) -> str:
        """One line for the user, saying it is approximate and what it rests on."""
        parts = ", ".join(f"{k} {duration(v)}" for k, v in self.parts.items() if v >= 0.5)
        scaled = (f"; times {self.calibration:.2g}, what the last audit of this setup took "
                  "here against its estimate" if self.calibration != 1.0 else "")
        return (f"about {duration(self.seconds)} (approximate: {self.epochs:.0f} training "
                f"epochs at {self.epoch_seconds:.2g} s each here and "
                f"{self.model_epoch_seconds:.2g} s in the reference workers, measured on this "
                f"machine{scaled}{'; ' + parts if parts else ''}; less when the reference "
                "retrains are cached from an earlier audit of the same request"
                + (f"; up to {duration(self.borderline_seconds)} more when a verdict is "
                   "borderline and more retrains decide it" if self.borderline_seconds >= 0.5
                   else "") + ")")


def duration(seconds: float) -> str:
    """A duration as a person says it: 40 s, 3 min, 1.5 h."""
    if not math.isfinite(seconds):
        return "unknown"
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def epoch_seconds_from(training_seconds: float, recipe: TrainConfig) -> float:
    """One epoch's cost from a measured training of ``recipe.epochs`` epochs (0: unknown)."""
    if not training_seconds or training_seconds <= 0 or not math.isfinite(training_seconds):
        return 0.0
    return training_seconds / max(1, recipe.epochs)


def measure_epoch_seconds(spec: ModelSpec, recipe: TrainConfig, samples: Samples,
                          batches: int = 4, seed: int = 0, threads: Optional[int] = None
                          ) -> float:
    """The cost of one epoch over ``samples``, measured by timing ``batches`` training batches
    of a fresh model of ``spec`` after one untimed batch (a second at most on the usual sets),
    scaled by size; ``threads``: with that many torch threads (1: as a reference worker)."""
    n = len(samples)
    if n == 0:
        return 0.0
    take = min(n, max(1, batches) * recipe.batch_size)
    one = TrainConfig(epochs=1, lr=recipe.lr, batch_size=recipe.batch_size,
                      weight_decay=recipe.weight_decay, optimizer=recipe.optimizer)
    with torch_threads(threads):
        model = build_model(spec)
        train_epochs(model, samples.take(list(range(min(n, recipe.batch_size)))), one, seed)
        t0 = time.perf_counter()
        train_epochs(model, samples.take(list(range(take))), one, seed)
        return (time.perf_counter() - t0) * n / take


def _method_epochs(name: str, params: dict) -> tuple[float, bool]:
    """A method's epochs (as declared, or ``METHOD_EPOCHS``) and whether it is exact."""
    try:
        method = make_method(name, **params)
    except UnlearnError:
        return METHOD_EPOCHS, False
    epochs = getattr(method, "epochs", None)
    if not isinstance(epochs, (int, float)) or epochs <= 0:
        epochs = METHOD_EPOCHS
    return float(epochs), bool(getattr(method, "exact", False))


def estimate_audit(config: AuditConfig, recipe: TrainConfig, n_train: int, n_forget: int,
                   epoch_seconds: float, model_epoch_seconds: Optional[float] = None,
                   workers: int = 2, calibration: float = 1.0) -> Estimate:
    """The expected wall time of ``config`` on a training split of ``n_train`` samples with
    ``n_forget`` forgotten: one epoch over the split costs ``epoch_seconds`` in the app's
    process (methods, measuring) and ``model_epoch_seconds`` on one thread (default: the same),
    where the reference ensemble and shadow models train ``workers`` at a time once their work
    is large enough to start worker processes; every part times ``calibration``."""
    one = epoch_seconds if model_epoch_seconds is None else model_epoch_seconds
    keep = max(0.0, 1.0 - n_forget / max(1, n_train))  # retain share of the training split
    k = config.reference_seeds
    big = config.executor != "serial" and k * recipe.epochs * n_train * keep >= SMALL_WORK
    parallel = max(1, min(workers, k)) if big else 1
    here: dict[str, float] = {}  # epoch-equivalents in the app's process
    pool: dict[str, float] = {}  # epoch-equivalents of one-thread models, per worker
    pool["reference retrains"] = k * recipe.epochs * keep / parallel
    methods, exact_models, n_models = 0.0, 0.0, 1 + k  # the baseline and K retrains
    for spec in config.methods:
        epochs, exact = _method_epochs(spec.name, spec.params)
        methods += epochs * keep
        n_models += 1
        if exact:  # its own from-scratch ensemble and original
            exact_models += (k / parallel + 1) * recipe.epochs
            n_models += k + 1
    here["methods"] = methods
    pool["exact methods' references"] = exact_models
    shadows = sum(SHADOW_ATTACKS.get(a, 0.0) for a in config.attacks)
    pool["shadow models"] = shadows * config.shadows * recipe.epochs * 0.5 / parallel
    scenarios = sum(1 for c in config.checks if c in OWN_MODEL_SCENARIOS)
    klom = 2 * k if "klom" in config.checks else 0
    pool["scenarios"] = (scenarios * (1 + k / parallel) + klom / parallel) * recipe.epochs
    here[f"measuring {n_models} models"] = MEASURE_EPOCHS * n_models
    if not math.isfinite(calibration) or calibration <= 0:
        calibration = 1.0
    parts = {**{n: e * one * calibration for n, e in pool.items()},
             **{n: e * epoch_seconds * calibration for n, e in here.items()}}
    more = config.extend_references
    borderline = calibration * (more * recipe.epochs * keep * one  # at most: one at a time
                                + MEASURE_EPOCHS * (n_models + more) * epoch_seconds)
    return Estimate(sum(parts.values()), epoch_seconds, one,
                    sum(pool.values()) + sum(here.values()), parts, calibration,
                    borderline if more else 0.0)
