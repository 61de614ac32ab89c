"""Language-model track: audit the unlearning of facts from a small generative text model.

``facts`` generates a TOFU-style fictitious fact set (Maini et al., arXiv 2401.06121), ``lm``
trains a tiny GPT-2 from scratch or safely loads a user's causal LM folder, ``methods`` holds
the text unlearning methods (gradient ascent, gradient difference, NPO, SimNPO, ICU, retrain),
``metrics`` OpenUnlearning's measurements with per-sample values, ``audit`` ties them together.
``HF_HUB_OFFLINE=1`` is set before ``transformers`` is imported: nothing is ever downloaded.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from .audit import (  # noqa: E402
    ModelEvaluation,
    TextAuditConfig,
    TextAuditResult,
    TextMethodSpec,
    TextRun,
    TextVerdict,
    run_text_audit,
)
from .facts import FactSet, FactSetConfig, QAItem, generate_facts, select_forget  # noqa: E402
from .lm import LanguageModel, LMTrainConfig, TinyGPTConfig, load_lm, save_lm  # noqa: E402
from .methods import TEXT_METHODS, make_text_method  # noqa: E402
from .userdata import load_text_data  # noqa: E402

__all__ = [
    "FactSet", "FactSetConfig", "LMTrainConfig", "LanguageModel", "ModelEvaluation", "QAItem",
    "TEXT_METHODS", "TextAuditConfig", "TextAuditResult", "TextMethodSpec", "TextRun",
    "TextVerdict", "TinyGPTConfig", "generate_facts", "load_lm", "load_text_data",
    "make_text_method", "run_text_audit", "save_lm", "select_forget",
]
