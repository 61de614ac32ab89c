"""The text recipe file (``text.recipe``): every key the text training loop has is read into its
settings and written back, through the classifier recipe's shared reader."""

import json

import pytest

from unlearn_core.errors import ConfigError
from unlearn_core.text.lm import LMTrainConfig
from unlearn_core.text.recipe import TEXT_RECIPE_KEYS, read_text_recipe, text_recipe_mapping

FULL = ("optimizer: adamw\nlr: 2e-3\nepochs: 12\nbatch_size: 8\nweight_decay: 0.1\n"
        "schedule: warmup_cosine\nwarmup_share: 0.2\nseed: 42\n")


def test_every_key_is_read_and_written_back(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text(FULL)
    recipe = read_text_recipe(path)
    assert recipe.train == LMTrainConfig(epochs=12, lr=2e-3, batch_size=8, weight_decay=0.1,
                                         warmup_share=0.2)
    assert recipe.seed == 42
    back = tmp_path / "recipe.json"
    back.write_text(json.dumps(text_recipe_mapping(recipe)))
    again = read_text_recipe(back)
    assert again.train == recipe.train and again.seed == 42
    assert set(text_recipe_mapping(recipe)) == set(TEXT_RECIPE_KEYS)


def test_unset_keys_keep_the_loops_defaults_and_required_ones_are_named():
    recipe = read_text_recipe({"optimizer": "adamw", "lr": 1e-3, "epochs": 3, "batch_size": 4})
    assert recipe.train == LMTrainConfig(epochs=3, lr=1e-3, batch_size=4) and recipe.seed is None
    with pytest.raises(ConfigError, match="has no 'batch_size'"):
        read_text_recipe({"optimizer": "adamw", "lr": 1e-3, "epochs": 3})
    with pytest.raises(ConfigError, match="'warmup_share' must be"):
        read_text_recipe({"optimizer": "adamw", "lr": 1e-3, "epochs": 3, "batch_size": 4,
                          "warmup_share": 1})
    with pytest.raises(ConfigError, match="'epochs' must be"):
        read_text_recipe({"optimizer": "adamw", "lr": 1e-3, "epochs": True, "batch_size": 4})
