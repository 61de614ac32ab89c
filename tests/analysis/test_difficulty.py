"""The difficulty of a forget set before unlearning (Zhao et al., NeurIPS 2024): entanglement
with the retain set and memorisation, and the forget page that shows them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from unlearn_core.analysis.difficulty import entanglement_score, forget_difficulty
from unlearn_core.data.forget import resolve_forget
from unlearn_core.errors import ConfigError
from unlearn_core.models import TrainConfig

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="module")
def digits_mlp(digits):
    from unlearn_core.audit.run import train_baseline

    ds, sp = digits
    return ds, sp, train_baseline(ds, sp, "mlp", TrainConfig(epochs=15, lr=3e-3), 0)


def test_entanglement_score_is_spread_over_centroid_distance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 5))
    far = rng.normal(size=(50, 5)) + 10.0
    assert entanglement_score(far, a) == pytest.approx(
        (((a - a.mean(0)) ** 2).sum(1).mean() + ((far - far.mean(0)) ** 2).sum(1).mean())
        / ((a.mean(0) - far.mean(0)) ** 2).sum())
    near = rng.normal(size=(50, 5)) + 0.5
    assert entanglement_score(far, a) < 0.2 < 2 < entanglement_score(near, a)


def test_a_whole_class_is_less_entangled_than_a_random_sample(digits_mlp):
    ds, sp, model = digits_mlp
    whole = forget_difficulty(model, ds, sp, resolve_forget(ds, sp, "class:3", 0), seed=0)
    rand = forget_difficulty(model, ds, sp, resolve_forget(ds, sp, "random:0.1", 0), seed=0)
    assert len(whole.forget_ids) == pytest.approx(len(rand.forget_ids), rel=0.2)  # same size
    assert whole.entanglement * 20 < rand.entanglement
    assert whole.entanglement_level == "low" and rand.entanglement_level == "high"
    assert whole.entanglement_ratio < 0.1 < 0.5 < rand.entanglement_ratio
    assert "well separated" in whole.reading() and "random sample" in rand.reading()
    assert any("lrp_path" in s for s in whole.suggestions)  # class-level methods named
    assert not any("lrp_path" in s for s in rand.suggestions)
    assert any("retain term" in s for s in rand.suggestions)


def test_mislabeled_samples_score_higher_memorisation_than_typical_ones(digits):
    """40 training labels flipped; a baseline trained long enough fits them against their
    neighbours. Their proxy must be high, typical samples' near zero."""
    from unlearn_core.audit.run import train_baseline

    ds, sp = digits
    rng = np.random.default_rng(1)
    flip = rng.choice(sp.train, 40, replace=False)
    y = ds.y.copy()
    y[flip] = (y[flip] + rng.integers(1, 10, 40)) % 10
    noisy = dataclasses.replace(ds, y=y)
    model = train_baseline(noisy, sp, "mlp", TrainConfig(epochs=60, lr=3e-3), 0)
    typical = np.setdiff1d(sp.train, flip)[:40]
    mem = {name: forget_difficulty(model, noisy, sp, resolve_forget(
        noisy, sp, "ids:" + ",".join(map(str, noisy.ids[pos])), 0), seed=0)
        for name, pos in (("flipped", flip), ("typical", typical))}
    hi, lo = mem["flipped"], mem["typical"]
    assert hi.memorisation_mean > lo.memorisation_mean + 0.5
    assert hi.memorisation_level == "high" and lo.memorisation_level == "low"
    assert hi.high_memorisation_share > 0.7 and lo.high_memorisation_share < 0.1
    assert hi.consistency.mean() < 0.2 < 0.8 < lo.consistency.mean()  # neighbours disagree
    assert any("neggrad_plus" in s for s in hi.suggestions)
    assert any("finetune" in s for s in lo.suggestions)
    assert abs(lo.memorisation_retain) < 0.15  # retained samples are typical


def test_difficulty_is_seeded_and_refuses_an_empty_set(digits_mlp):
    ds, sp, model = digits_mlp
    fs = resolve_forget(ds, sp, "random:0.05", 0)
    a, b = (forget_difficulty(model, ds, sp, fs, seed=4) for _ in range(2))
    assert a.entanglement_random == b.entanglement_random
    np.testing.assert_array_equal(a.memorisation, b.memorisation)
    from unlearn_core.analysis.difficulty import train_embeddings

    emb = train_embeddings(model, ds, sp)
    c = forget_difficulty(model, ds, sp, fs, seed=4, embeddings=emb)
    assert c.entanglement == a.entanglement  # precomputed embeddings give the same figures
    np.testing.assert_array_equal(c.memorisation, a.memorisation)
    with pytest.raises(ConfigError, match="not those"):
        forget_difficulty(model, ds, sp, fs, embeddings=emb[:-1])
    with pytest.raises(ConfigError, match="empty"):
        forget_difficulty(model, ds, sp, dataclasses.replace(fs, forget=fs.forget[:0]))


def test_forget_page_shows_the_difficulty():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.selectbox(key="setup_dataset").set_value("wine").run()
    at.selectbox(key="setup_arch").set_value("mlp").run()
    at.button(key="setup_go").click().run()
    at.switch_page("pages/forget.py").run()
    assert "How hard is this set to unlearn?" not in {s.value for s in at.subheader}
    at.multiselect(key="forget_classes").select(1).run()
    at.button(key="forget_classes_go").click().run()
    assert not at.exception and not at.error
    assert "How hard is this set to unlearn?" in {s.value for s in at.subheader}
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Entanglement"] == "low"  # a whole class
    assert metrics["Memorisation"] in ("low", "medium", "high")
    assert any("Zhao et al." in m.value and "well separated" in m.value for m in at.markdown)
    assert any("Methods that tend to serve such a set" in m.value for m in at.markdown)
    # a random share of the same data: entangled
    at.button(key="forget_clear").click().run()
    at.slider(key="forget_frac").set_value(0.3).run()
    at.button(key="forget_random_go").click().run()
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Entanglement"] == "high"
