"""A claim handed over as bytes (``audit.submission``, the app's uploads): files kept once by
SHA-256 under a plain name, the session's original written as registry weights and spec, the
app's recipe as a recipe file that reads back to itself, and one message for what is missing."""

import hashlib

import pytest
from torch import nn

from unlearn_core.audit import submission
from unlearn_core.audit.recipe import Recipe, read_recipe
from unlearn_core.audit.submission import (
    Upload,
    keep_original,
    keep_upload,
    recipe_text,
    submission_claim,
)
from unlearn_core.errors import ConfigError, ModelError
from unlearn_core.models import ModelSpec, TrainConfig, build_model, load_model, model_hash


def test_an_upload_is_kept_once_by_its_sha256_under_a_plain_name(tmp_path):
    raw = b"weights"
    path = keep_upload(tmp_path, Upload("../../etc/.hidden name?.pt", raw), "claimed")
    digest = hashlib.sha256(raw).hexdigest()
    assert path == tmp_path / digest / "hidden_name_.pt" and path.read_bytes() == raw
    assert keep_upload(tmp_path, Upload("../../etc/.hidden name?.pt", raw), "claimed") == path
    assert [p.name for p in (tmp_path / digest).iterdir()] == ["hidden_name_.pt"]
    assert keep_upload(tmp_path, Upload("...", b"x"), "claimed").name == "upload"


def test_an_empty_or_oversized_upload_is_refused_before_anything_is_written(tmp_path,
                                                                             monkeypatch):
    with pytest.raises(ConfigError, match="claimed model 'b.pt' is empty"):
        keep_upload(tmp_path, Upload("b.pt", b""), "claimed")
    monkeypatch.setattr(submission, "MAX_MODEL_BYTES", 4)
    with pytest.raises(ModelError, match="claimed model 'b.pt' is larger than"):
        keep_upload(tmp_path, Upload("b.pt", b"12345"), "claimed")
    with pytest.raises(ConfigError, match="recipe 'r.yaml' is larger than 64 KiB"):
        keep_upload(tmp_path, Upload("r.yaml", b"#" * (64 * 1024 + 1)), "recipe")
    assert not list(tmp_path.iterdir())


def test_the_apps_recipe_file_reads_back_to_the_recipe_and_seed():
    train = TrainConfig(epochs=7, lr=0.05, batch_size=32, weight_decay=5e-4, optimizer="sgd",
                        momentum=0.8, schedule="cosine", augment=("hflip", "crop"),
                        crop_padding=2, label_smoothing=0.1)
    text = recipe_text(train, 11)
    assert read_recipe(text.encode(), "app-recipe.yaml") == Recipe(train, 11)
    assert read_recipe(recipe_text(TrainConfig(epochs=3)).encode()) == \
        Recipe(TrainConfig(epochs=3), None)


def test_the_sessions_original_is_written_as_weights_and_spec(tmp_path):
    model = build_model(ModelSpec("mlp", (1, 8, 8), 10), seed=3)
    weights, spec = keep_original(tmp_path, model)
    assert weights.suffix == ".safetensors" and spec.suffix == ".json"
    assert model_hash(load_model(weights, spec)) == model_hash(model)
    assert keep_original(tmp_path, model) == (weights, spec)  # the same bytes: the same files
    with pytest.raises(ModelError, match="the session's original has no registry spec"):
        keep_original(tmp_path, nn.Linear(64, 10))


def test_a_submission_without_a_claimed_model_or_a_recipe_is_one_message(tmp_path):
    model = build_model(ModelSpec("mlp", (1, 8, 8), 10), seed=3)
    recipe = Upload("r.yaml", recipe_text(TrainConfig()).encode())
    with pytest.raises(ConfigError, match="upload at least one claimed model"):
        submission_claim(tmp_path, model, [], recipe)
    with pytest.raises(ConfigError, match="upload the recipe that trained the original"):
        submission_claim(tmp_path, model, [Upload("b.pt", b"x")], None)
    claim = submission_claim(tmp_path, model, [Upload("b.safetensors", b"x")], recipe,
                             fit_originals=4)
    assert claim.claimed[0].endswith("/b.safetensors") and claim.fit_originals == 4
    assert claim.original.endswith("/original.safetensors") and claim.recipe.endswith("r.yaml")
