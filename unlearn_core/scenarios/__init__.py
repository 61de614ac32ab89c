"""Verification scenarios from the literature: each plants evidence, unlearns it, and reports
a named check with its figure, threshold and pass/fail."""

from unlearn_core.scenarios.backdoor import BackdoorCheck, add_trigger, backdoor_check
from unlearn_core.scenarios.inversion import (
    ClassSimilarity,
    FeatureInversion,
    InversionResult,
    class_similarity,
    infer_forgotten_label,
    invert_features,
    reconstruct_forgotten,
)
from unlearn_core.scenarios.restor import RestorResult, restor_check

__all__ = ["BackdoorCheck", "add_trigger", "backdoor_check", "ClassSimilarity", "FeatureInversion",
           "InversionResult", "class_similarity", "infer_forgotten_label", "invert_features",
           "reconstruct_forgotten", "RestorResult", "restor_check"]
