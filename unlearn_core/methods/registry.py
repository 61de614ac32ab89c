"""The method registry: name -> method class. Adding a method is adding one module."""

from __future__ import annotations

import dataclasses
import importlib
import math
import pkgutil

import numpy as np

from ..errors import MethodError
from .base import UnlearningMethod, _declared_type, check_param

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


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def convert_param(method: str, f: dataclasses.Field, value: object) -> object:
    """``value`` (a string from the command line or the app, or a YAML/JSON scalar) converted
    to field ``f``'s type without loss: ``"3"`` or ``3.0`` for an int, ``"1e-3"`` for a float,
    ``"true"`` for a bool. Anything else (``"abc"``, ``2.5`` for an int, ``True`` for a number)
    is a ``MethodError``; ranges are checked afterwards by ``check_param``."""
    kind = _declared_type(f)
    if kind == "bool":
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        if isinstance(value, (int, np.integer)) and value in (0, 1):
            return bool(value)
        return value  # bools pass; anything else is refused by check_param
    if kind not in ("int", "float") or isinstance(value, (bool, np.bool_)):
        return value
    number: object = value
    if isinstance(value, str):
        try:
            number = float(value.strip()) if kind == "float" or not value.strip().lstrip(
                "+-").isdigit() else int(value.strip())
        except ValueError:
            word = "a whole number" if kind == "int" else "a number"
            raise MethodError(f"{method}: {f.name} must be {word}, got {value!r}") from None
    if kind == "int" and isinstance(number, (float, np.floating)):
        if not math.isfinite(number) or number != int(number):
            raise MethodError(f"{method}: {f.name} must be a whole number, got {value!r}")
        return int(number)
    if kind == "float" and isinstance(number, (int, np.integer)):
        return float(number)
    return number


def make_method(name: str, **params: object) -> UnlearningMethod:
    """Instantiate a method by name, with one readable ``MethodError`` for an unknown name, an
    unknown hyperparameter, a value of the wrong type, a non-finite value or one outside the
    range declared beside the field (``hparam(..., low=, high=)``)."""
    _discover()
    if not isinstance(name, str) or name not in METHODS:
        raise MethodError(f"unknown method {name!r}: choose one of {', '.join(sorted(METHODS))}")
    cls = METHODS[name]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - set(fields), key=str)
    if unknown:
        raise MethodError(
            f"{name} has no hyperparameter '{unknown[0]}': it takes {', '.join(fields) or 'none'}"
        )
    converted = {key: convert_param(name, fields[key], value) for key, value in params.items()}
    for key, value in converted.items():
        check_param(name, fields[key], value)
    method = cls(**converted)
    method.validate()
    return method
