"""Hyperparameters, the method registry and run labels, shared by every track's methods (the
classifiers' in ``methods/``, the language models' in ``text/methods.py``).

A method is a dataclass whose fields are its hyperparameters (scikit-learn style: the
constructor only stores them), each declared with ``hparam``: default, help text and the
allowed range (``low``/``high``) or ``choices``. ``Hyperparameters`` gives a method
``get_params``, ``param_help`` (help with the allowed range) and ``validate``. A ``Registry``
maps names to method classes and makes a method from user values (strings from the command
line or the app, YAML/JSON scalars), converted without loss and checked against the declared
ranges, with one ``MethodError`` naming the parameter and what it allows. ``unique_label``
gives each run of a method in one audit its own label (``npo``, ``npo#2``).

Imports nothing of the package but its errors, so both tracks can stand on it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import field
from typing import Any, Callable, ClassVar, Iterable, Optional

import numpy as np

from unlearn_core.errors import MethodError

TypeWord = Callable[[dataclasses.Field], str]  # how a message names a field's type


def hparam(default, help: str, low: float | None = None, high: float | None = None, *,
           low_open: bool = False, choices: Optional[Iterable[str]] = None):
    """A hyperparameter field with help text and its allowed range ``[low, high]`` (either
    bound optional; ``low_open`` excludes ``low`` itself, e.g. a learning rate > 0), or for a
    text field its allowed ``choices``. The range is checked when a method is made (``make``)
    and shown in the app and the help."""
    meta = {"help": help, "low": low, "high": high, "low_open": low_open}
    if choices is not None:
        meta["choices"] = tuple(choices)
    return field(default=default, metadata=meta)


def param_range(f: dataclasses.Field) -> str:
    """The declared range of a hyperparameter field as text: ``[1, 1000]``, ``(0, 10]``,
    ``>= 0``, ``one of nll, kl``; empty when none is declared."""
    choices = f.metadata.get("choices")
    if choices is not None:
        return "one of " + ", ".join(str(c) for c in choices)
    low, high = f.metadata.get("low"), f.metadata.get("high")
    lo_open = bool(f.metadata.get("low_open"))
    if low is not None and high is not None:
        return f"{'(' if lo_open else '['}{low:g}, {high:g}]"
    if low is not None:
        return f"{'>' if lo_open else '>='} {low:g}"
    if high is not None:
        return f"<= {high:g}"
    return ""


def declared_type(f: dataclasses.Field) -> str:
    """``int``, ``float``, ``bool`` or another name: the field's annotation, else its default's
    type (annotations are strings under ``from __future__ import annotations``)."""
    name = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
    return name if name in ("int", "float", "bool") else type(f.default).__name__


def number_word(f: dataclasses.Field) -> str:
    """``a whole number`` for an int field, ``a number`` for a float one."""
    return "a whole number" if declared_type(f) == "int" else "a number"


def check_param(method: str, f: dataclasses.Field, value: object,
                word: TypeWord = number_word) -> None:
    """Raise ``MethodError`` unless ``value`` suits field ``f``: one of its declared choices,
    or the field's type (bool, int, float), finite, and inside the declared range (the
    message names the range). ``word`` names the type in the message."""
    choices = f.metadata.get("choices")
    if choices is not None:
        if not isinstance(value, str) or value not in choices:
            raise MethodError(f"{method}: {f.name} must be {param_range(f)}, got {value!r}")
        return
    default = f.default
    if isinstance(default, bool):
        if not isinstance(value, (bool, np.bool_)):
            raise MethodError(f"{method}: {f.name} must be true or false, got {value!r}")
        return
    if isinstance(default, (int, float)):
        integral = declared_type(f) == "int"
        if isinstance(value, (bool, np.bool_)) or not isinstance(
                value, (int, np.integer) if integral else (int, float, np.integer, np.floating)):
            raise MethodError(f"{method}: {f.name} must be {word(f)}, got {value!r}")
        allowed = param_range(f)
        if not math.isfinite(value):
            within = f" in {allowed}" if allowed else ""
            raise MethodError(f"{method}: {f.name} must be a finite number{within}, "
                              f"got {value!r}")
        low, high = f.metadata.get("low"), f.metadata.get("high")
        too_low = low is not None and (value <= low if f.metadata.get("low_open")
                                       else value < low)
        if too_low or (high is not None and value > high):
            raise MethodError(f"{method}: {f.name}={value!r} is outside its allowed range "
                              f"{allowed}")


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def convert_param(method: str, f: dataclasses.Field, value: object,
                  word: TypeWord = number_word) -> object:
    """``value`` (a string from the command line or the app, or a YAML/JSON scalar) converted
    to field ``f``'s type without loss: ``"3"`` or ``3.0`` for an int, ``"1e-3"`` for a float,
    ``"true"`` for a bool. Anything else (``"abc"``, ``2.5`` for an int, ``True`` for a number)
    is a ``MethodError``; ranges are checked afterwards by ``check_param``."""
    kind = declared_type(f)
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
            raise MethodError(f"{method}: {f.name} must be {word(f)}, got {value!r}") from None
    if kind == "int" and isinstance(number, (float, np.floating)):
        if not math.isfinite(number) or number != int(number):
            raise MethodError(f"{method}: {f.name} must be {word(f)}, got {value!r}")
        return int(number)
    if kind == "float" and isinstance(number, (int, np.integer)):
        return float(number)
    return number


class Hyperparameters:
    """What every method has from its hyperparameter fields (mixed into a dataclass): its
    parameters, their help text with the allowed range, and their validation."""

    name: ClassVar[str] = ""

    @classmethod
    def type_word(cls, f: dataclasses.Field) -> str:
        """How error messages name a field's type (``a whole number``, ``a number``)."""
        return number_word(f)

    def get_params(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def param_help(cls) -> dict[str, str]:
        """Per-hyperparameter help text from field metadata, for the UI and ``--help``; the
        allowed range, when declared, is appended (``... (allowed: [1, 1000])``)."""
        out = {}
        for f in dataclasses.fields(cls):
            text, allowed = f.metadata.get("help", ""), param_range(f)
            out[f.name] = f"{text} (allowed: {allowed})" if allowed else text
        return out

    def validate(self) -> None:
        """Refuse hyperparameters of the wrong type, non-finite, outside their declared range
        or not among their choices, naming what is allowed. Called by ``Registry.make`` and
        before unlearning."""
        for f in dataclasses.fields(self):
            check_param(self.name, f, getattr(self, f.name), self.type_word)


class Registry:
    """Name -> method class, and the one way to make a method from user values.

    ``kind`` names what is registered in messages (``method``, ``text method``); ``discover``
    (optional) imports the modules that register themselves before a lookup."""

    def __init__(self, kind: str = "method", discover: Optional[Callable[[], None]] = None):
        self.kind = kind
        self.classes: dict[str, type] = {}
        self._discover = discover

    def register(self, cls: type) -> type:
        """Class decorator: make a method available by its ``name``."""
        if not cls.name:
            raise TypeError(f"{cls.__name__} needs a non-empty 'name'")
        self.classes[cls.name] = cls
        return cls

    def discover(self) -> None:
        if self._discover is not None:
            self._discover()

    def available(self) -> list[str]:
        self.discover()
        return sorted(self.classes)

    def make(self, name: str, **params: Any) -> Any:
        """Instantiate a method by name, with one readable ``MethodError`` for an unknown
        name, an unknown hyperparameter, a value of the wrong type, a non-finite value, one
        outside the range declared beside the field (``hparam(..., low=, high=)``) or not
        among its choices."""
        self.discover()
        if not isinstance(name, str) or name not in self.classes:
            raise MethodError(f"unknown {self.kind} {name!r}: choose one of "
                              f"{', '.join(sorted(self.classes))}")
        cls = self.classes[name]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - set(fields), key=str)
        if unknown:
            raise MethodError(f"{name} has no hyperparameter '{unknown[0]}': it takes "
                              f"{', '.join(fields) or 'none'}")
        word = cls.type_word
        converted = {key: convert_param(name, fields[key], value, word)
                     for key, value in params.items()}
        for key, value in converted.items():
            check_param(name, fields[key], value, word)
        method = cls(**converted)
        method.validate()
        return method


def unique_label(label: str, taken: set[str], reserved: Iterable[str] = ()) -> str:
    """A run label no other run of the audit has: ``label``, else ``label#2``, ``label#3``...
    A label the audit's own models own (a name in ``reserved`` or ``NAME#k`` of one, e.g.
    ``retrain#2``) gets `` (method)`` first. The label is added to ``taken``."""
    reserved = tuple(reserved)
    if label in reserved or any(label.startswith(f"{r}#") for r in reserved):
        label += " (method)"
    unique, i = label, 2
    while unique in taken:
        unique, i = f"{label}#{i}", i + 1
    taken.add(unique)
    return unique
