"""Unlearning methods: one module each, all behind ``UnlearningMethod.unlearn``."""

from unlearn_core.methods.base import UnlearnContext, UnlearningMethod, UnlearnOutput, hparam
from unlearn_core.methods.registry import METHODS, available_methods, make_method, register

available_methods()  # import every method module so the registry is complete

__all__ = [
    "UnlearnContext", "UnlearningMethod", "UnlearnOutput", "hparam",
    "METHODS", "available_methods", "make_method", "register",
]
