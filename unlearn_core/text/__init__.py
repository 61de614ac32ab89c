"""Language-model track: audit the unlearning of facts from a small generative text model.

``facts`` generates a TOFU-style fictitious fact set (Maini et al., arXiv 2401.06121), ``lm``
trains a tiny GPT-2 from scratch or safely loads a user's causal LM folder, ``methods`` holds
the text unlearning methods (gradient ascent, gradient difference, NPO, SimNPO, ICU, retrain),
``metrics`` OpenUnlearning's measurements with per-sample values, ``checks`` turns them into
measurements the shared judge (``checks/judge.py``) decides on, ``audit`` ties them together,
``cache`` keeps trained models by fingerprint, ``restor`` is RESTOR's knowledge-recovery
scenario, ``embed`` the 2-D map of items and ``verify`` re-checks text reports.
``HF_HUB_OFFLINE=1`` is set before ``transformers`` is imported: nothing is ever downloaded.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from unlearn_core.text.audit import (  # noqa: E402
    ModelEvaluation,
    TextAuditConfig,
    TextAuditResult,
    TextMethodSpec,
    TextRun,
    TextVerdict,
    run_text_audit,
)
from unlearn_core.text.cache import ModelCache  # noqa: E402
from unlearn_core.text.facts import (
    FactSet,
    FactSetConfig,
    QAItem,
    generate_facts,
    select_forget,
)  # noqa: E402
from unlearn_core.text.lm import LanguageModel, LMTrainConfig, TinyGPTConfig, load_lm, save_lm  # noqa: E402
from unlearn_core.text.methods import TEXT_METHODS, make_text_method  # noqa: E402
from unlearn_core.text.restor import TextRestorResult, restor_text  # noqa: E402
from unlearn_core.text.userdata import load_text_data  # noqa: E402

__all__ = [
    "FactSet", "FactSetConfig", "LMTrainConfig", "LanguageModel", "ModelCache", "ModelEvaluation",
    "QAItem", "TEXT_METHODS", "TextAuditConfig", "TextAuditResult", "TextMethodSpec",
    "TextRestorResult", "TextRun", "TextVerdict", "TinyGPTConfig", "generate_facts", "load_lm",
    "load_text_data", "make_text_method", "restor_text", "run_text_audit", "save_lm",
    "select_forget",
]
