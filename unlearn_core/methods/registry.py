"""The method registry: name -> method class. Adding a method is adding one module."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

from ..errors import MethodError
from .base import UnlearningMethod

METHODS: dict[str, type[UnlearningMethod]] = {}


def register(cls: type[UnlearningMethod]) -> type[UnlearningMethod]:
    """Class decorator: make a method available by its ``name``."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} needs a non-empty 'name'")
    METHODS[cls.name] = cls
    return cls


def _discover() -> None:
    from . import __path__ as pkg_path

    for info in pkgutil.iter_modules(pkg_path):
        if info.name not in ("base", "registry"):
            importlib.import_module(f"{__package__}.{info.name}")


def available_methods() -> list[str]:
    _discover()
    return sorted(METHODS)


def make_method(name: str, **params) -> UnlearningMethod:
    """Instantiate a method by name, with clear errors for unknown names and parameters."""
    _discover()
    if name not in METHODS:
        raise MethodError(f"unknown method '{name}': choose one of {', '.join(sorted(METHODS))}")
    cls = METHODS[name]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise MethodError(
            f"{name} has no hyperparameter '{unknown[0]}': it takes {', '.join(fields) or 'none'}"
        )
    converted = {}
    for key, value in params.items():
        default = fields[key].default
        try:
            if isinstance(default, bool) and isinstance(value, str):
                converted[key] = value.lower() in ("1", "true", "yes", "on")
            elif default is not None and not isinstance(default, bool):
                converted[key] = type(default)(value)
            else:
                converted[key] = value
        except (TypeError, ValueError):
            raise MethodError(f"{name}: {key} must be a {type(default).__name__}, got {value!r}")
    return cls(**converted)
