"""The recipe file of a claim audit (``audit.recipe``) and the training settings it declares
(``models.training``): every key read and checked, one clear line for each bad entry, and each
setting really changes training (defaults keep it as it was)."""

import json

import numpy as np
import pytest
import torch

from unlearn_core.audit.recipe import RECIPE_KEYS, read_recipe, recipe_mapping
from unlearn_core.data.dataset import Samples
from unlearn_core.errors import ConfigError
from unlearn_core.models import ModelSpec, TrainConfig, build_model, model_hash, train_epochs
from unlearn_core.models.training import batch_augmenter, scheduled_lr

FULL = """\
optimizer: sgd
lr: 0.05
momentum: 0.8
epochs: 12
batch_size: 32
weight_decay: 5e-4
schedule: step
step_size: 4
gamma: 0.5
label_smoothing: 0.1
augment: [hflip, crop]
crop_padding: 2
seed: 1234
"""


def _write(tmp_path, text: str, name: str = "recipe.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_key_is_read_into_the_training_settings(tmp_path):
    recipe = read_recipe(_write(tmp_path, FULL))
    t = recipe.train
    assert (t.optimizer, t.lr, t.momentum, t.epochs, t.batch_size, t.weight_decay) == \
        ("sgd", 0.05, 0.8, 12, 32, 5e-4)
    assert (t.schedule, t.step_size, t.gamma, t.label_smoothing) == ("step", 4, 0.5, 0.1)
    assert (t.augment, t.crop_padding, recipe.seed) == (("hflip", "crop"), 2, 1234)
    # the same recipe as JSON, and written back out, reads to the same settings
    as_json = _write(tmp_path, json.dumps(recipe_mapping(recipe)), "recipe.json")
    again = read_recipe(as_json)
    assert again.train == t and again.seed == 1234
    assert set(recipe_mapping(recipe)) <= set(RECIPE_KEYS)


def test_a_minimal_recipe_keeps_plain_training(tmp_path):
    recipe = read_recipe(_write(tmp_path, "optimizer: adam\nlr: 1e-3\nepochs: 3\n"
                                          "batch_size: 64\n"))
    assert recipe.train == TrainConfig(epochs=3, lr=1e-3, batch_size=64)
    assert recipe.seed is None
    # a recipe at today's defaults keeps today's fingerprint (the five original fields only)
    assert set(recipe.train.key()) == {"epochs", "lr", "batch_size", "weight_decay",
                                       "optimizer"}


@pytest.mark.parametrize("text, words", [
    ("optimizer: adam\nlr: 1e-3\nepochs: 3\nbatch_size: 8\nlearning_rate: 0.1\n",
     ["unknown key 'learning_rate'", "optimizer", "label_smoothing"]),
    ("optimizer: adam\nlr: -1\nepochs: 3\nbatch_size: 8\n", ["'lr'", "> 0", "-1"]),
    ("optimizer: adam\nlr: 1e-3\nepochs: 0\nbatch_size: 8\n", ["'epochs'", "from 1"]),
    ("optimizer: adam\nlr: 1e-3\nepochs: ten\nbatch_size: 8\n", ["'epochs'", "'ten'"]),
    ("optimizer: adam\nlr: 1e-3\nepochs: 3\nbatch_size: 2.5\n", ["'batch_size'", "whole"]),
    ("optimizer: adam\nlr: true\nepochs: 3\nbatch_size: 8\n", ["'lr'", "True"]),
    ("optimizer: rmsprop\nlr: 1e-3\nepochs: 3\nbatch_size: 8\n", ["'optimizer'", "adam or sgd"]),
    ("optimizer: sgd\nlr: 1e-3\nepochs: 3\nbatch_size: 8\nmomentum: 1.5\n",
     ["'momentum'", "from 0 up to 1"]),
    ("optimizer: adam\nlr: 1e-3\nepochs: 3\nbatch_size: 8\nbetas: [0.9]\n",
     ["'betas'", "two numbers"]),
    ("optimizer: adam\nlr: 1e-3\nepochs: 3\nbatch_size: 8\nschedule: linear\n",
     ["'schedule'", "constant, cosine, step"]),
    ("optimizer: adam\nlr: 1e-3\nepochs: 3\nbatch_size: 8\naugment: [rotate]\n",
     ["'augment'", "hflip, crop"]),
    ("optimizer: adam\nlr: 1e-3\nepochs: 3\nbatch_size: 8\nlabel_smoothing: 1\n",
     ["'label_smoothing'"]),
    ("optimizer: adam\nlr: 1e-3\nepochs: 3\nbatch_size: 8\nseed: -3\n", ["'seed'", "-3"]),
    ("optimizer: adam\nlr: 1e-3\nbatch_size: 8\n", ["no 'epochs'", "must declare"]),
    ("optimizer: adam\nlr: 1e-3\nepochs: 3\nbatch_size: 8\nmomentum: 0.5\n",
     ["'momentum' applies only with optimizer sgd", "adam"]),
    ("optimizer: sgd\nlr: 1e-3\nepochs: 3\nbatch_size: 8\ngamma: 0.5\n",
     ["'gamma' applies only with schedule step"]),
    ("optimizer: sgd\nlr: 1e-3\nepochs: 3\nbatch_size: 8\ncrop_padding: 2\n",
     ["'crop_padding' applies only with augment crop"]),
    ("- optimizer\n- adam\n", ["must be a mapping"]),
    ("optimizer: [unclosed\n", ["not valid YAML"]),
    ("!!python/object/apply:os.system ['echo hacked']\n", ["not valid YAML"]),
])
def test_a_bad_recipe_is_one_line_naming_the_key(tmp_path, text, words):
    with pytest.raises(ConfigError) as err:
        read_recipe(_write(tmp_path, text))
    message = str(err.value)
    assert "\n" not in message and "recipe.yaml" in message
    for word in words:
        assert word in message


def test_a_recipe_that_is_not_a_small_text_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="cannot read recipe"):
        read_recipe(tmp_path / "missing.yaml")
    big = tmp_path / "big.yaml"
    big.write_text("optimizer: adam\n" + "#" * 70_000)
    with pytest.raises(ConfigError, match="larger than"):
        read_recipe(big)
    binary = tmp_path / "r.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="UTF-8"):
        read_recipe(binary)


def test_schedules_follow_their_formulas():
    cos = TrainConfig(epochs=10, lr=0.1, schedule="cosine")
    assert scheduled_lr(cos, 0) == pytest.approx(0.1)
    assert scheduled_lr(cos, 5) == pytest.approx(0.05)
    step = TrainConfig(epochs=10, lr=0.1, schedule="step", step_size=3, gamma=0.5)
    assert [scheduled_lr(step, e) for e in (0, 2, 3, 6, 9)] == \
        pytest.approx([0.1, 0.1, 0.05, 0.025, 0.0125])
    assert scheduled_lr(TrainConfig(lr=0.1), 7) == 0.1


def _images(n: int = 96, seed: int = 0) -> Samples:
    rng = np.random.default_rng(seed)
    X = rng.random((n, 1, 8, 8)).astype(np.float32)
    y = (X[:, 0, :4].mean((1, 2)) > X[:, 0, 4:].mean((1, 2))).astype(np.int64)
    return Samples(X, y, np.arange(n))


def _trained(config: TrainConfig, data: Samples) -> str:
    spec = ModelSpec("mlp", data.X.shape[1:], 2)  # flattens the 1 x 8 x 8 images
    return model_hash(train_epochs(build_model(spec, seed=3), data, config, 3))


def test_each_setting_changes_training_and_the_defaults_do_not():
    data = _images()
    plain = TrainConfig(epochs=2, lr=1e-2, batch_size=32)
    base = _trained(plain, data)
    explicit = TrainConfig(epochs=2, lr=1e-2, batch_size=32, momentum=0.9, betas=(0.9, 0.999),
                           schedule="constant", label_smoothing=0.0, augment=())
    assert _trained(explicit, data) == base  # today's training, bit for bit
    assert _trained(plain, data) == base  # deterministic
    changed = {
        "cosine": TrainConfig(epochs=2, lr=1e-2, batch_size=32, schedule="cosine"),
        "step": TrainConfig(epochs=2, lr=1e-2, batch_size=32, schedule="step", step_size=1),
        "betas": TrainConfig(epochs=2, lr=1e-2, batch_size=32, betas=(0.5, 0.9)),
        "smoothing": TrainConfig(epochs=2, lr=1e-2, batch_size=32, label_smoothing=0.2),
        "hflip": TrainConfig(epochs=2, lr=1e-2, batch_size=32, augment=("hflip",)),
        "crop": TrainConfig(epochs=2, lr=1e-2, batch_size=32, augment=("crop",),
                            crop_padding=1),
        "momentum": TrainConfig(epochs=2, lr=1e-2, batch_size=32, optimizer="sgd",
                                momentum=0.5),
    }
    sgd = _trained(TrainConfig(epochs=2, lr=1e-2, batch_size=32, optimizer="sgd"), data)
    for name, config in changed.items():
        assert _trained(config, data) != (sgd if name == "momentum" else base), name
    crop = changed["crop"]
    assert _trained(crop, data) == _trained(crop, data)  # augmentation is seeded too


def test_augmentation_flips_and_crops_images_only():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4)
    flip = batch_augmenter(TrainConfig(augment=("hflip",)), (1, 4, 4), seed=0)
    out = torch.cat([flip(x) for _ in range(8)])
    flipped = [bool(torch.equal(o, x[i % 2].flip(-1))) for i, o in enumerate(out)]
    kept = [bool(torch.equal(o, x[i % 2])) for i, o in enumerate(out)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    crop = batch_augmenter(TrainConfig(augment=("crop",), crop_padding=1), (1, 4, 4), seed=0)
    shifted = crop(x)
    assert shifted.shape == x.shape
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for i in range(2):  # each crop is a 4 x 4 window of the zero-padded image
        assert any(torch.equal(shifted[i, 0], padded[i, 0, r:r + 4, c:c + 4])
                   for r in range(3) for c in range(3))
    assert batch_augmenter(TrainConfig(), (1, 4, 4), seed=0) is None
    with pytest.raises(ConfigError, match="needs image samples"):
        batch_augmenter(TrainConfig(augment=("hflip",)), (12,), seed=0)
    with pytest.raises(ConfigError, match="crop_padding 4 must be smaller"):
        batch_augmenter(TrainConfig(augment=("crop",)), (1, 4, 4), seed=0)
