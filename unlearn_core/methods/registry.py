"""The method registry: name -> method class. Adding a method is adding one module.

The registry itself (registration, lookup, converting and checking user values against the
declared ranges) is the shared ``Registry`` of ``methods/params.py``, which the text track's
registry (``text/methods.py``) is too; this module holds the classifier methods' instance and
discovers their modules.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from unlearn_core.methods.base import UnlearningMethod
from unlearn_core.methods.params import Registry, convert_param

_NOT_METHODS = ("base", "params", "registry")  # the machinery, not methods


def _discover() -> None:
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name not in _NOT_METHODS:
            importlib.import_module(f"{__package__}.{info.name}")


REGISTRY = Registry("method", _discover)
METHODS: dict[str, type[UnlearningMethod]] = REGISTRY.classes


def register(cls: type[UnlearningMethod]) -> type[UnlearningMethod]:
    """Class decorator: make a method available by its ``name``."""
    return REGISTRY.register(cls)


def available_methods() -> list[str]:
    return REGISTRY.available()


def make_method(name: str, **params: object) -> UnlearningMethod:
    """Instantiate a method by name, with one readable ``MethodError`` for an unknown name, an
    unknown hyperparameter, a value of the wrong type, a non-finite value or one outside the
    range declared beside the field (``hparam(..., low=, high=)``)."""
    return REGISTRY.make(name, **params)


__all__ = ["METHODS", "REGISTRY", "available_methods", "convert_param", "make_method",
           "register"]
