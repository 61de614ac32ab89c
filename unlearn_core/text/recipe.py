"""A text claimant's training recipe: how the original causal LM was trained, read from a YAML
or JSON file and checked key by key, so that a text claim audit trains its retrains and the
originals of its fit check the way the claimant trained theirs.

The keys are the settings the text track's training loop really has (``text.lm.train_lm``:
AdamW, linear warm-up then cosine decay to a tenth of the rate, gradient norm clipped at 1,
answer-token NLL): nothing is declared that the loop cannot do. The file is read and its keys
checked by the classifier recipe's machinery (``audit.recipe.read_mapping``, ``checked_keys``,
``recipe_seed``: ``yaml.safe_load``, a size cap, one ``ConfigError`` naming the key).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from unlearn_core.audit.recipe import RECIPE_KEYS as CLASSIFIER_KEYS
from unlearn_core.audit.recipe import checked_keys, checked_settings, read_mapping, recipe_seed
from unlearn_core.models.training import MAX_BATCH_SIZE, MAX_EPOCHS
from unlearn_core.text.lm import LMTrainConfig

OPTIMIZERS = ("adamw",)
SCHEDULES = ("warmup_cosine",)
# key -> what it allows, in the words every message and the docs' table use
TEXT_RECIPE_KEYS: dict[str, str] = {
    "optimizer": "adamw (the text track's training loop trains with AdamW only)",
    "lr": "a number > 0 (the peak learning rate)",
    "epochs": f"a whole number from 1 to {MAX_EPOCHS}",
    "batch_size": f"a whole number from 1 to {MAX_BATCH_SIZE}",
    "weight_decay": "a number >= 0 (AdamW's decoupled weight decay, default 0.01)",
    "schedule": "warmup_cosine (linear warm-up, then cosine decay to a tenth of lr: the only "
                "schedule the loop has; default)",
    "warmup_share": "the share of all steps spent warming up, a number from 0 up to 1 "
                    "(default 0.05)",
    "seed": CLASSIFIER_KEYS["seed"],
}
REQUIRED = ("optimizer", "lr", "epochs", "batch_size")


@dataclass
class TextRecipe:
    """A checked text recipe: the training settings and the original's seed (None: not
    known)."""

    train: LMTrainConfig
    seed: Optional[int] = None


def _number(value: object) -> Optional[float]:
    """A finite number, or None. A string such as ``2e-3`` counts (YAML 1.1, which PyYAML
    reads, takes an exponent without a dot for text)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _whole(value: object, low: int, high: int) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return int(value)


def _checked(key: str, value: object) -> object:
    """One key's value in its type, or None when it is not allowed."""
    if key == "optimizer":
        return value if value in OPTIMIZERS else None
    if key == "schedule":
        return value if value in SCHEDULES else None
    if key == "epochs":
        return _whole(value, 1, MAX_EPOCHS)
    if key == "batch_size":
        return _whole(value, 1, MAX_BATCH_SIZE)
    number = _number(value)
    if number is None:
        return None
    if key == "lr":
        return number if number > 0 else None
    if key == "weight_decay":
        return number if number >= 0 else None
    if key == "warmup_share":
        return number if 0 <= number < 1 else None
    return None


def _allowed(key: str, value: object) -> object:
    """``_checked``, a value not allowed raised as ``ValueError`` (``checked_settings``)."""
    checked = _checked(key, value)
    if checked is None:
        raise ValueError(key)
    return checked


def text_recipe_from_mapping(raw: object, name: str = "recipe") -> TextRecipe:
    """A text recipe from its parsed mapping; one ``ConfigError`` for the first problem."""
    values = checked_keys(raw, name, TEXT_RECIPE_KEYS, REQUIRED)
    train = checked_settings(values, name, TEXT_RECIPE_KEYS, _allowed)
    train = {k: v for k, v in train.items() if k not in ("optimizer", "schedule")}
    return TextRecipe(LMTrainConfig(**train), recipe_seed(values.get("seed"), name))


def read_text_recipe(source: Union[str, Path, bytes, dict], name: str = "") -> TextRecipe:
    """The text recipe in a YAML or JSON file (a path, its bytes, or the parsed mapping),
    checked. ``name`` names it in messages (default: the file's name)."""
    if isinstance(source, dict):
        return text_recipe_from_mapping(source, name or "recipe")
    raw, name = read_mapping(source, name)
    return text_recipe_from_mapping(raw, name)


def text_recipe_mapping(recipe: TextRecipe) -> dict:
    """The recipe as the mapping a recipe file holds (every key the loop uses, written out;
    the inverse of ``text_recipe_from_mapping``)."""
    train = dataclasses.asdict(recipe.train)
    out: dict[str, object] = {"optimizer": OPTIMIZERS[0], "schedule": SCHEDULES[0]}
    out.update({k: train[k] for k in ("lr", "epochs", "batch_size", "weight_decay",
                                      "warmup_share")})
    if recipe.seed is not None:
        out["seed"] = recipe.seed
    return out


__all__ = ["REQUIRED", "TEXT_RECIPE_KEYS", "TextRecipe", "read_text_recipe",
           "text_recipe_from_mapping", "text_recipe_mapping"]
