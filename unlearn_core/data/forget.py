"""Forget requests: which training samples to forget, named by ids, classes or a random share.

A request is a short string so that the command line, a config file and the app share it:
``class:3`` or ``class:3,5``, ``random:0.1``, ``ids:12,40,77``. Every request is validated
against the training split: empty sets, unknown ids, test ids and "everything" are refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from unlearn_core.data.dataset import Dataset
from unlearn_core.data.splits import Splits
from unlearn_core.errors import ForgetSetError


@dataclass
class ForgetSet:
    """Positions (into the dataset) of the samples to forget and of those to keep."""

    forget: np.ndarray
    retain: np.ndarray
    forget_ids: np.ndarray
    classes: tuple[int, ...]  # the whole classes forgotten; empty for a sample-level request
    description: str

    @property
    def is_class_level(self) -> bool:
        return len(self.classes) > 0

    def fingerprint(self) -> str:
        return hashlib.sha256(np.sort(self.forget_ids).astype(np.int64).tobytes()).hexdigest()


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _parse_ints(text: str, what: str) -> list[int]:
    """Whole numbers separated by commas, semicolons or spaces; each must fit in 64 bits."""
    items = [t for t in text.replace(";", ",").replace(" ", ",").split(",") if t.strip()]
    try:
        values = [int(t) for t in items]
    except ValueError:
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise ForgetSetError(f"{what} must be whole numbers separated by commas, "
                             f"got '{shown}'") from None
    return [_check_int64(v, what) for v in values]


def _check_int64(value: int, what: str) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        shown = str(value) if len(str(value)) <= 40 else str(value)[:37] + "..."
        raise ForgetSetError(f"{what}: {shown} is out of range (ids and classes are whole "
                             "numbers that fit in 64 bits); no sample has it")
    return value


def forget_by_ids(dataset: Dataset, splits: Splits, ids: Iterable[int]) -> ForgetSet:
    """Forget the training samples with these ids."""
    values = list(ids)
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise ForgetSetError(f"ids must be whole numbers, got {v!r}")
        _check_int64(int(v), "ids")
    ids = np.unique(np.asarray(values, dtype=np.int64))
    if ids.size == 0:
        raise ForgetSetError("the forget set is empty: select at least one training sample")
    lookup = {int(i): p for p, i in enumerate(dataset.ids)}
    unknown = [int(i) for i in ids if int(i) not in lookup]
    if unknown:
        shown = ", ".join(map(str, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
        raise ForgetSetError(f"{len(unknown)} id(s) are not in the dataset: {shown}")
    positions = np.array([lookup[int(i)] for i in ids], dtype=np.int64)
    train = set(splits.train.tolist())
    outside = [int(dataset.ids[p]) for p in positions if int(p) not in train]
    if outside:
        shown = ", ".join(map(str, outside[:5])) + (" ..." if len(outside) > 5 else "")
        raise ForgetSetError(
            f"{len(outside)} id(s) are not in the training split (test or population samples "
            f"were never learned, so they cannot be forgotten): {shown}"
        )
    return _make(dataset, splits, positions, (), f"{len(positions)} selected sample(s)")


def forget_classes(dataset: Dataset, splits: Splits, classes: Iterable[int]) -> ForgetSet:
    """Forget every training sample of these classes."""
    classes = tuple(sorted(set(int(c) for c in classes)))
    if not classes:
        raise ForgetSetError("no class given: name at least one class to forget")
    bad = [c for c in classes if not 0 <= c < dataset.n_classes]
    if bad:
        raise ForgetSetError(
            f"class {bad[0]} does not exist: this dataset has classes 0..{dataset.n_classes - 1}"
        )
    mask = np.isin(dataset.y[splits.train], classes)
    positions = splits.train[mask]
    names = ", ".join(dataset.class_names[c] for c in classes)
    return _make(dataset, splits, positions, classes, f"class {names}")


def forget_random(dataset: Dataset, splits: Splits, fraction: float, seed: int = 0) -> ForgetSet:
    """Forget a seeded random share of the training split."""
    if not 0 < fraction < 1:
        raise ForgetSetError(f"random fraction must be between 0 and 1 (exclusive), got {fraction}")
    n = int(round(fraction * len(splits.train)))
    if n == 0:
        raise ForgetSetError(f"a fraction of {fraction} of {len(splits.train)} samples is empty")
    rng = np.random.default_rng(seed + 7919)
    positions = np.sort(rng.choice(splits.train, size=n, replace=False))
    return _make(dataset, splits, positions, (), f"random {fraction:.0%} of training")


def _make(dataset: Dataset, splits: Splits, positions: np.ndarray, classes: tuple[int, ...],
          description: str) -> ForgetSet:
    positions = np.sort(np.asarray(positions, dtype=np.int64))
    if positions.size == 0:
        raise ForgetSetError(f"the forget set ({description}) has no training samples")
    retain = np.setdiff1d(splits.train, positions)
    if retain.size == 0:
        raise ForgetSetError(
            "the forget set is the whole training set: nothing would remain to learn from"
        )
    if len(np.unique(dataset.y[retain])) < 2:
        raise ForgetSetError("the retain set would hold a single class: keep at least two classes")
    return ForgetSet(positions, retain, dataset.ids[positions], classes, description)


def resolve_forget(dataset: Dataset, splits: Splits, request: str, seed: int = 0) -> ForgetSet:
    """Parse a request string (``class:3``, ``random:0.1``, ``ids:1,2``) and validate it."""
    if not isinstance(request, str) or ":" not in request:
        raise ForgetSetError(
            f"forget request '{request}' is not understood: use class:N, random:FRACTION or ids:A,B"
        )
    kind, _, arg = request.partition(":")
    kind, arg = kind.strip().lower(), arg.strip()
    if kind in ("class", "classes"):
        names = {n: i for i, n in enumerate(dataset.class_names)}
        classes = []
        for token in [t.strip() for t in arg.split(",") if t.strip()]:
            if token in names and not token.lstrip("-").isdigit():
                classes.append(names[token])
            elif token.lstrip("-").isdigit():
                classes.append(int(token))
            else:
                shown = ", ".join(dataset.class_names[:20]) + (
                    " ..." if dataset.n_classes > 20 else "")
                raise ForgetSetError(f"unknown class '{token}': name a class ({shown}) or give "
                                     f"its number 0..{dataset.n_classes - 1}")
        return forget_classes(dataset, splits, classes)
    if kind == "random":
        try:
            fraction = float(arg.rstrip("%")) / (100 if arg.endswith("%") else 1)
        except ValueError:
            raise ForgetSetError(f"random fraction must be a number like 0.1 or 10%, got '{arg}'")
        return forget_random(dataset, splits, fraction, seed)
    if kind == "ids":
        return forget_by_ids(dataset, splits, _parse_ints(arg, "ids"))
    raise ForgetSetError(f"unknown forget request kind '{kind}': use class, random or ids")
