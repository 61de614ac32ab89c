"""Forget requests: which training samples to forget, named by ids, classes or a random share.

A request is a short string so that the command line, a config file and the app share it:
``class:3`` or ``class:3,5``, ``random:0.1``, ``ids:12,40,77``. Every request is validated
against the training split: empty sets, unknown ids, test ids and "everything" are refused.
"""

from __future__ import annotations

import hashlib
import re
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


_WHOLE = re.compile(r"-?[0-9]+", re.ASCII)  # ASCII digits only: int() also takes "١٢", "1_0"


def is_whole(token: str) -> bool:
    """Whether ``token`` is a whole number written in ASCII digits (``"³"`` is not)."""
    return _WHOLE.fullmatch(token) is not None


def _parse_ints(text: str, what: str) -> list[int]:
    """Whole numbers (ASCII digits) separated by commas, semicolons or spaces; each must fit
    in 64 bits."""
    items = [t.strip() for t in text.replace(";", ",").replace(" ", ",").split(",") if t.strip()]
    if not all(is_whole(t) for t in items):
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise ForgetSetError(f"{what} must be whole numbers separated by commas, "
                             f"got '{shown}'")
    return [_check_int64(int(t), what) for t in items]


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


def _shown_names(dataset: Dataset) -> str:
    return ", ".join(dataset.class_names[:20]) + (" ..." if dataset.n_classes > 20 else "")


def class_of(dataset: Dataset, token: str) -> int:
    """The class a ``class:`` token names, by this rule (``docs/data.md``): ``name=X`` is the
    class named X and ``index=N`` the N-th class (from 0); a token that is not a whole number
    is a name; a whole number is the class of that name when every class name is a number
    (image folders ``1``, ``2``, ``3``: ``class:1`` is the folder ``1``), else its index. A
    number that is a class name and the index of another class is refused as ambiguous."""
    kind, sep, value = token.partition("=")
    if sep and kind.strip().lower() in ("name", "index"):
        kind, value = kind.strip().lower(), value.strip()
        if kind == "name":
            if value not in dataset.class_names:
                raise ForgetSetError(f"no class named '{value}': the classes are "
                                     f"{_shown_names(dataset)}")
            return dataset.class_names.index(value)
        if not is_whole(value):
            raise ForgetSetError(f"class index '{value}' must be a whole number from 0 to "
                                 f"{dataset.n_classes - 1}")
        return int(value)
    names = {n: i for i, n in enumerate(dataset.class_names)}
    if not is_whole(token):
        if token in names:
            return names[token]
        raise ForgetSetError(f"unknown class '{token}': name a class ({_shown_names(dataset)}) "
                             f"or give its number 0..{dataset.n_classes - 1}")
    number = int(token)
    if all(n == str(i) for i, n in enumerate(dataset.class_names)):
        return number  # names are the indices (NPZ and CSV numeric labels, built-ins)
    numeric_names = all(is_whole(n) for n in dataset.class_names)
    if token in names:
        if numeric_names or not 0 <= number < dataset.n_classes:
            return names[token]
        raise ForgetSetError(f"class '{token}' is ambiguous: it is the name of class "
                             f"{names[token]} and the index of class "
                             f"'{dataset.class_names[number]}'; write class:name={token} or "
                             f"class:index={token}")
    if numeric_names:
        raise ForgetSetError(f"no class named '{token}': every class name here is a number, so "
                             f"class:N names a class ({_shown_names(dataset)}); give "
                             f"class:index={token} for the class at position {token}")
    return number


def resolve_forget(dataset: Dataset, splits: Splits, request: str, seed: int = 0) -> ForgetSet:
    """Parse a request string (``class:3``, ``random:0.1``, ``ids:1,2``) and validate it."""
    if not isinstance(request, str) or ":" not in request:
        raise ForgetSetError(
            f"forget request '{request}' is not understood: use class:N, random:FRACTION or ids:A,B"
        )
    kind, _, arg = request.partition(":")
    kind, arg = kind.strip().lower(), arg.strip()
    if kind in ("class", "classes"):
        tokens = [t.strip() for t in arg.split(",") if t.strip()]
        return forget_classes(dataset, splits, [class_of(dataset, t) for t in tokens])
    if kind == "random":
        try:
            fraction = float(arg.rstrip("%")) / (100 if arg.endswith("%") else 1)
        except ValueError:
            raise ForgetSetError(f"random fraction must be a number like 0.1 or 10%, got '{arg}'")
        return forget_random(dataset, splits, fraction, seed)
    if kind == "ids":
        return forget_by_ids(dataset, splits, _parse_ints(arg, "ids"))
    raise ForgetSetError(f"unknown forget request kind '{kind}': use class, random or ids")
