"""Verification scenarios from the literature: each plants evidence, unlearns it, and reports
a named check with its figure, threshold and pass/fail."""

from .backdoor import BackdoorCheck, add_trigger, backdoor_check
from .inversion import InversionResult, infer_forgotten_label
from .restor import RestorResult, restor_check

__all__ = ["BackdoorCheck", "add_trigger", "backdoor_check", "InversionResult",
           "infer_forgotten_label", "RestorResult", "restor_check"]
