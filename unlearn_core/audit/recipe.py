"""A claimant's training recipe: how the original model was trained, read from a YAML or JSON file
and checked key by key, so that a claim audit trains its reference models (the retrains and the
originals of the fit check) the way the claimant trained theirs.

A recipe is one flat mapping. ``optimizer``, ``lr``, ``epochs`` and ``batch_size`` are required
(a recipe that leaves them to defaults would audit against a guess); the other keys default to
plain training. Every key becomes the ``TrainConfig`` field of the same name, except ``seed``:
the original's seed when the claimant knows it (the audit's own models then avoid it). Unknown
keys, wrong types, impossible values and settings that contradict each other (momentum with
Adam) are one ``ConfigError`` naming the key and what it allows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Union

from unlearn_core.errors import ConfigError
from unlearn_core.models.training import (
    AUGMENTATIONS,
    MAX_BATCH_SIZE,
    MAX_CROP_PADDING,
    MAX_EPOCHS,
    OPTIMIZERS,
    SCHEDULES,
    TrainConfig,
)

MAX_RECIPE_BYTES = 64 * 1024
MAX_SEED = 2**32 - 1

# key -> what it allows, in the words every message and the docs' table use
RECIPE_KEYS: dict[str, str] = {
    "optimizer": " or ".join(OPTIMIZERS),
    "lr": "a number > 0 (the initial learning rate)",
    "epochs": f"a whole number from 1 to {MAX_EPOCHS}",
    "batch_size": f"a whole number from 1 to {MAX_BATCH_SIZE}",
    "weight_decay": "a number >= 0 (default 0)",
    "momentum": "a number from 0 up to 1, sgd only (default 0.9)",
    "betas": "two numbers from 0 up to 1, adam only (default [0.9, 0.999])",
    "schedule": f"{', '.join(SCHEDULES)} (default constant)",
    "step_size": f"epochs between steps, a whole number from 1 to {MAX_EPOCHS}, schedule step "
                 "only (default 10)",
    "gamma": "the step factor, a number > 0 and at most 1, schedule step only (default 0.1)",
    "label_smoothing": "a number from 0 up to 1 (default 0)",
    "augment": f"none, or a list of {', '.join(AUGMENTATIONS)} (default none)",
    "crop_padding": f"pixels of zero padding before the crop, a whole number from 1 to "
                    f"{MAX_CROP_PADDING}, augment crop only (default 4)",
    "seed": f"the original's seed if known, a whole number from 0 to {MAX_SEED}, or null",
}
REQUIRED = ("optimizer", "lr", "epochs", "batch_size")
# a key that only means something with another setting: key -> (setting, its value)
ONLY_WITH = {"momentum": ("optimizer", "sgd"), "betas": ("optimizer", "adam"),
             "step_size": ("schedule", "step"), "gamma": ("schedule", "step")}


@dataclass
class Recipe:
    """A checked recipe: the training settings and the original's seed (None: not known)."""

    train: TrainConfig
    seed: Optional[int] = None


def read_recipe(source: Union[str, Path, bytes, dict], name: str = "") -> Recipe:
    """The recipe in a YAML or JSON file (a path, its bytes, or the parsed mapping), checked.
    ``name`` names it in messages (default: the file's name)."""
    if isinstance(source, dict):
        return recipe_from_mapping(source, name or "recipe")
    raw, name = read_mapping(source, name)
    return recipe_from_mapping(raw, name)


def read_recipe_bytes(path: Path, name: str) -> bytes:
    """A recipe file's bytes, refused in one ``ConfigError`` over ``MAX_RECIPE_BYTES`` (checked
    before reading) or when it cannot be read; ``name`` names it in messages."""
    try:
        if path.stat().st_size > MAX_RECIPE_BYTES:
            raise ConfigError(f"recipe '{name}' is larger than {MAX_RECIPE_BYTES // 1024} "
                              "KiB: a recipe is a short mapping of training settings")
        return path.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read recipe '{name}': {err.strerror or err}") from None


def read_mapping(source: Union[str, Path, bytes], name: str = "") -> tuple[object, str]:
    """A recipe file's parsed content (JSON, or YAML through ``yaml.safe_load``) and the name
    messages call it, at most ``MAX_RECIPE_BYTES``; what any track's recipe reader starts
    from before checking its own keys."""
    if isinstance(source, (bytes, bytearray)):
        raw, name = bytes(source), name or "recipe"
        suffix = Path(name).suffix.lower()
    else:
        path = Path(source).expanduser()
        name = name or path.name
        suffix = path.suffix.lower()
        raw = read_recipe_bytes(path, name)
    if len(raw) > MAX_RECIPE_BYTES:
        raise ConfigError(f"recipe '{name}' is larger than {MAX_RECIPE_BYTES // 1024} KiB")
    return _parse(raw, name, suffix), name


def _parse(raw: bytes, name: str, suffix: str) -> object:
    """JSON, or YAML through ``yaml.safe_load`` (plain data only: no tags, nothing runs)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"recipe '{name}' is not UTF-8 text (YAML or JSON)") from None
    if suffix == ".json":
        try:
            return json.loads(text)
        except ValueError as err:
            raise ConfigError(f"recipe '{name}' is not valid JSON: {err}") from None
    import yaml  # JSON is YAML too: files of another suffix are read as YAML

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"recipe '{name}' is not valid YAML or JSON: {first}") from None


def checked_keys(raw: object, name: str, keys: dict[str, str],
                 required: tuple[str, ...]) -> dict[str, object]:
    """A parsed recipe as a mapping of string keys, every key declared in ``keys`` and every
    ``required`` one given: what any track's recipe reader checks first (one ``ConfigError``
    naming the first unknown or missing key)."""
    allowed = ", ".join(keys)
    if not isinstance(raw, dict):
        raise ConfigError(f"recipe '{name}' must be a mapping of training settings ({allowed})"
                          f", got {type(raw).__name__}")
    unknown = [str(k) for k in raw if str(k) not in keys]
    if unknown:
        raise ConfigError(f"recipe '{name}': unknown key '{unknown[0]}'; a recipe takes "
                          f"{allowed}")
    out = {str(k): v for k, v in raw.items()}
    missing = [k for k in required if out.get(k) is None]
    if missing:
        raise ConfigError(f"recipe '{name}' has no '{missing[0]}': a recipe must declare "
                          f"{', '.join(required)} (how the original was trained)")
    return out


def checked_settings(raw: dict, name: str, keys: dict[str, str],
                     check: Callable[[str, object], object]) -> dict:
    """Every setting of a recipe's checked mapping but ``seed``, in its type: ``check(key,
    value)`` returns it or raises ``ConfigError``, ``TypeError`` or ``ValueError`` when it is
    not allowed, which is one ``ConfigError`` saying what ``keys[key]`` allows (any track's
    recipe reader)."""
    out = {}
    for key, value in raw.items():
        if key == "seed":
            continue
        try:
            out[key] = check(key, value)
        except (ConfigError, TypeError, ValueError):  # TypeError: a value torch cannot take
            raise ConfigError(f"recipe '{name}': '{key}' must be {keys[key]}; got "
                              f"{value!r}") from None
    return out


def recipe_from_mapping(raw: object, name: str = "recipe") -> Recipe:
    """A recipe from its parsed mapping; one ``ConfigError`` for the first problem."""
    raw = checked_keys(raw, name, RECIPE_KEYS, REQUIRED)
    values = checked_settings(raw, name, RECIPE_KEYS,
                              lambda key, value: getattr(TrainConfig(**{key: value}), key))
    for key, (setting, needed) in ONLY_WITH.items():
        if key in values and values.get(setting, getattr(TrainConfig(), setting)) != needed:
            have = values.get(setting, getattr(TrainConfig(), setting))
            raise ConfigError(f"recipe '{name}': '{key}' applies only with {setting} {needed}, "
                              f"and the recipe says {setting} {have}: remove '{key}' or set "
                              f"{setting}: {needed}")
    if "crop_padding" in values and "crop" not in values.get("augment", ()):
        raise ConfigError(f"recipe '{name}': 'crop_padding' applies only with augment crop: "
                          "remove it or add crop to augment")
    return Recipe(TrainConfig(**values), recipe_seed(raw.get("seed"), name))


def recipe_seed(value: object, name: str) -> Optional[int]:
    """A recipe's ``seed``: the original's seed when known (a whole number), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise ConfigError(f"recipe '{name}': 'seed' must be {RECIPE_KEYS['seed']}; got "
                          f"{value!r}")
    return int(value)


def recipe_mapping(recipe: Recipe) -> dict:
    """The recipe as the mapping a recipe file holds (the inverse of ``recipe_from_mapping``;
    keys at their defaults left out)."""
    out = recipe.train.key()
    out.update({k: list(v) for k, v in out.items() if isinstance(v, tuple)})
    if recipe.seed is not None:
        out["seed"] = recipe.seed
    return out


__all__ = ["RECIPE_KEYS", "REQUIRED", "Recipe", "checked_keys", "read_mapping", "read_recipe",
           "recipe_from_mapping", "recipe_mapping", "recipe_seed"]
