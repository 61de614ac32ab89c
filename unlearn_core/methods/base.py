"""The one interface every unlearning method implements.

A method is a dataclass whose fields are its hyperparameters (scikit-learn style: the
constructor only stores them) and whose ``unlearn`` verb takes the trained model, the forget
set and the retain set and returns an ``UnlearnOutput``. The original model is never modified.
Hyperparameter declaration (``hparam`` with ranges), validation and help text are shared with
the text track (``methods/params.py``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import ClassVar, Optional

import numpy as np
import torch
from torch import nn

from unlearn_core.data.dataset import Samples
from unlearn_core.errors import MethodError, UnlearnError
from unlearn_core.methods.params import (
    Hyperparameters,
    check_param,
    declared_type,
    hparam,
    param_range,
)
from unlearn_core.models.architectures import ModelSpec
from unlearn_core.models.io import clone_model
from unlearn_core.models.training import TrainConfig
from unlearn_core.progress import ProgressFn, report


@dataclass
class UnlearnContext:
    """What a method may need beyond the data: how the model was trained and what was asked."""

    n_classes: int
    seed: int = 0
    spec: Optional[ModelSpec] = None  # None for models without a registry spec (TorchScript)
    train_config: TrainConfig = field(default_factory=TrainConfig)
    forget_classes: tuple[int, ...] = ()  # set when whole classes are forgotten
    population: Optional[Samples] = None  # held-out non-members (never trained on)
    progress: Optional[ProgressFn] = None


@dataclass
class UnlearnOutput:
    """The unlearned model, the wall time of the unlearning step and a short log;
    ``cpu_seconds`` is the process CPU time of the same step (robust to other processes
    sharing the machine, which inflate the wall time)."""

    model: nn.Module
    seconds: float
    log: list[str]
    cpu_seconds: float = math.nan


@dataclass
class UnlearningMethod(Hyperparameters):
    """Base class. Subclasses set the class attributes and implement ``_unlearn``;
    ``get_params``, ``param_help`` and ``validate`` come from ``Hyperparameters``."""

    name: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    exact: ClassVar[bool] = False
    needs_retain: ClassVar[bool] = True
    class_level_only: ClassVar[bool] = False

    def epoch_samples(self, n: int, ctx: UnlearnContext) -> Optional[int]:
        """Samples one epoch may visit under the opt-in ``budget`` hyperparameter: the
        method's ``epochs`` together cost at most ``budget`` times the retrain recipe
        (``recipe.epochs`` passes over ``n``). None when the cap does not bind (small data,
        long recipes) or no budget is set; then every epoch visits all ``n``."""
        budget, epochs = getattr(self, "budget", 0.0), getattr(self, "epochs", 0)
        if not budget or budget <= 0 or not epochs:
            return None
        m = math.ceil(budget * ctx.train_config.epochs * n / epochs)
        return None if m >= n else max(1, m)

    def budgeted_epoch(self, n: int, ctx: UnlearnContext, log: list[str]) -> Optional[int]:
        """``epoch_samples`` and a log line saying so when the budget binds."""
        per_epoch = self.epoch_samples(n, ctx)
        if per_epoch is not None:
            log.append(f"budget {getattr(self, 'budget', 0):g} of the retrain recipe: each "
                       f"epoch visits {per_epoch} of {n} samples")
        return per_epoch

    def retain_per_epoch(self, n_retain: int, n_forget: int, ctx: UnlearnContext,
                         log: list[str]) -> Optional[int]:
        """Retain samples one epoch visits, a fresh seeded subset each epoch (None: all).

        By default the work follows the forget set, not the training set (issue 15):
        ``retain_per_forget`` retain samples per forget sample, at least ``MIN_EPOCH_RETAIN``,
        so a method's cost does not grow with the training set. ``retain_per_forget=0`` visits
        every retain sample each epoch (the papers' epochs). The former cap, ``budget`` > 0 (a
        share of the retrain recipe's cost), is still available and then takes precedence."""
        if getattr(self, "budget", 0.0):
            return self.budgeted_epoch(n_retain, ctx, log)
        m = forget_scaled(getattr(self, "retain_per_forget", 0.0), n_forget)
        if m is None or m >= n_retain:
            return None
        log.append(f"work from the forget set: each epoch visits {m} of {n_retain} retain "
                   f"samples ({getattr(self, 'retain_per_forget', 0):g} per forget sample, at "
                   f"least {MIN_EPOCH_RETAIN})")
        return m

    def check_request(self, forget: Samples, retain: Samples, ctx: UnlearnContext) -> None:
        """Refuse a request this method cannot serve, with a reason the user can act on."""
        if len(forget) == 0:
            raise MethodError(f"{self.name}: the forget set is empty")
        if self.class_level_only and not ctx.forget_classes:
            raise MethodError(
                f"{self.name} forgets whole classes only; choose a class forget set "
                f"(for example class:3) or a sample-level method"
            )
        if self.needs_retain and len(retain) == 0:
            raise MethodError(f"{self.name} needs retain data and the retain set is empty")

    def unlearn(self, model: nn.Module, forget: Samples, retain: Samples,
                ctx: UnlearnContext) -> UnlearnOutput:
        """Return an unlearned copy of ``model``; the input model is left untouched.

        Any failure inside the method (an exception from its training, a diverged loss that
        leaves NaN or infinite weights or outputs) becomes a ``MethodError`` naming the
        method, so an audit reports it and runs the other methods."""
        self.validate()
        self.check_request(forget, retain, ctx)
        log: list[str] = []
        try:
            self.prepare(model, forget, retain, ctx, log)
            torch.manual_seed(ctx.seed)
            start, cpu_start = time.perf_counter(), time.process_time()
            result = self._unlearn(clone_model(model), forget, retain, ctx, log)
            seconds = time.perf_counter() - start
            cpu_seconds = time.process_time() - cpu_start
            result.eval()
            check_finite_model(self.name, result, forget, retain)
        except UnlearnError:
            raise
        except Exception as err:
            raise MethodError(f"{self.name} failed: {one_line(err)}") from err
        report(ctx.progress, self.name, 1, 1)
        return UnlearnOutput(model=result, seconds=seconds, log=log, cpu_seconds=cpu_seconds)

    def from_scratch(self, data: Samples, ctx: UnlearnContext) -> nn.Module:
        """Exact methods: the model this method's own training gives on ``data`` from scratch
        with ``ctx.seed``, the counterpart an exact deletion must equal (e.g. SISA trained
        without the deleted samples). Approximate methods have none."""
        raise MethodError(f"{self.name} is not an exact method: it has no from-scratch "
                          "counterpart")

    def prepare(self, model: nn.Module, forget: Samples, retain: Samples,
                ctx: UnlearnContext, log: list[str]) -> None:
        """Work a deployed system does once at training time (e.g. SISA's shard training);
        not counted in the unlearning time."""

    def _unlearn(self, model: nn.Module, forget: Samples, retain: Samples,
                 ctx: UnlearnContext, log: list[str]) -> nn.Module:
        raise NotImplementedError


MIN_EPOCH_RETAIN = 1024  # retain samples an epoch visits at least (16 batches of 64)
RETAIN_PER_FORGET = 1.0  # default retain samples per forget sample and epoch


def forget_scaled(per_forget: float, n_forget: int) -> Optional[int]:
    """``per_forget`` retain samples per forget sample, at least ``MIN_EPOCH_RETAIN``; None
    (no cap) when ``per_forget`` is 0. Independent of the training set's size."""
    if not per_forget or per_forget <= 0:
        return None
    return max(MIN_EPOCH_RETAIN, math.ceil(per_forget * n_forget))


BUDGET_HELP = ("opt-in cost cap as a share of the retrain recipe (the former default, 0.2): "
               "each epoch visits a seeded subset so the epochs together cost at most this "
               "share of retraining; it grows with the training set. 0 (default): the work is "
               "set from the forget set (retain_per_forget)")
RETAIN_PER_FORGET_HELP = (
    "retain samples each epoch visits per forget sample (a fresh seeded subset, at least "
    f"{MIN_EPOCH_RETAIN}, all when the retain set is smaller), so the cost follows the forget "
    "set and not the training set. Papers: every retain sample each epoch, whose cost grows "
    "with the training set; 0 = that")


def budget_hparam():
    """The opt-in ``budget`` field shared by the training-based methods (default 0: off)."""
    return hparam(0.0, BUDGET_HELP, low=0, high=100)


def retain_per_forget_hparam(default: float = RETAIN_PER_FORGET):
    """The ``retain_per_forget`` field shared by the training-based methods."""
    return hparam(default, RETAIN_PER_FORGET_HELP, low=0, high=10000)


_declared_type = declared_type  # the former private name, kept for importers


def one_line(err: BaseException) -> str:
    """``Type: first line of the message`` (at most 200 characters), for user-facing errors."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200]}" if text else type(err).__name__


FINITE_PROBE = 16  # forget and retain samples each, run once through an unlearned model


@torch.no_grad()
def check_finite_model(method: str, model: nn.Module, forget: Samples, retain: Samples) -> None:
    """Refuse a model with NaN or infinite weights, or NaN or infinite outputs on a few forget
    and retain samples: the method diverged (a NaN loss, a too-large learning rate)."""
    for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise MethodError(f"{method} diverged: weight '{name}' holds NaN or infinite values "
                              "(the loss was not finite; try a lower learning rate)")
    for part in (forget, retain):
        if len(part) == 0:
            continue
        out = model(torch.as_tensor(part.X[:FINITE_PROBE], dtype=torch.float32))
        if isinstance(out, torch.Tensor) and not bool(torch.isfinite(out).all()):
            raise MethodError(f"{method} diverged: its outputs hold NaN or infinite values "
                              "(try a lower learning rate)")


def rng_for(ctx: UnlearnContext, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng(ctx.seed * 1_000_003 + salt)


__all__ = ["UnlearnContext", "UnlearnOutput", "UnlearningMethod", "hparam", "param_range",
           "check_param", "declared_type", "budget_hparam", "retain_per_forget_hparam",
           "forget_scaled", "one_line", "check_finite_model", "rng_for", "MIN_EPOCH_RETAIN",
           "RETAIN_PER_FORGET", "FINITE_PROBE", "BUDGET_HELP", "RETAIN_PER_FORGET_HELP"]
