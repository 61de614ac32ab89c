"""The one interface every unlearning method implements.

A method is a dataclass whose fields are its hyperparameters (scikit-learn style: the
constructor only stores them) and whose ``unlearn`` verb takes the trained model, the forget
set and the retain set and returns an ``UnlearnOutput``. The original model is never modified.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import ClassVar, Optional

import numpy as np
import torch
from torch import nn

from ..data.dataset import Samples
from ..errors import MethodError
from ..models.architectures import ModelSpec
from ..models.io import clone_model
from ..models.training import TrainConfig
from ..progress import ProgressFn, report


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
    """The unlearned model, the wall time of the unlearning step and a short log."""

    model: nn.Module
    seconds: float
    log: list[str]


@dataclass
class UnlearningMethod:
    """Base class. Subclasses set the class attributes and implement ``_unlearn``."""

    name: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    exact: ClassVar[bool] = False
    needs_retain: ClassVar[bool] = True
    class_level_only: ClassVar[bool] = False

    def get_params(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def param_help(cls) -> dict[str, str]:
        """Per-hyperparameter help text from field metadata, for the UI and ``--help``."""
        return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}

    def epoch_samples(self, n: int, ctx: UnlearnContext) -> Optional[int]:
        """Samples one epoch may visit under the method's ``budget`` hyperparameter: the
        method's ``epochs`` together cost at most ``budget`` times the retrain recipe
        (``recipe.epochs`` passes over ``n``). None when the cap does not bind (small data,
        long recipes) or the method has no budget; then every epoch visits all ``n``."""
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
        """Return an unlearned copy of ``model``; the input model is left untouched."""
        self.check_request(forget, retain, ctx)
        log: list[str] = []
        self.prepare(model, forget, retain, ctx, log)
        torch.manual_seed(ctx.seed)
        start = time.perf_counter()
        result = self._unlearn(clone_model(model), forget, retain, ctx, log)
        seconds = time.perf_counter() - start
        result.eval()
        report(ctx.progress, self.name, 1, 1)
        return UnlearnOutput(model=result, seconds=seconds, log=log)

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


def hparam(default, help: str):
    """A hyperparameter field with help text (shown in the app and the command line)."""
    return field(default=default, metadata={"help": help})


def rng_for(ctx: UnlearnContext, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng(ctx.seed * 1_000_003 + salt)
