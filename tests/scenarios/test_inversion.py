"""From the model before and after class forgetting, the attacker names the forgotten class."""

import numpy as np

from unlearn_core.scenarios import infer_forgotten_label


def test_forgotten_class_is_recovered_from_two_releases(class_audit):
    data, models = class_audit.data, class_audit.models
    probes = data.population.X  # public, unlabeled inputs
    for name in ("retrain", "finetune"):
        res = infer_forgotten_label(models["baseline"], models[name], probes, [3])
        assert res.success and res.guess == 3 and res.rank_of_truth == 0, name
        assert res.drops[3] > 2 * np.abs(np.delete(res.drops, 3)).max()
    # the same probe on two unrelated releases gives no such signal
    same = infer_forgotten_label(models["baseline"], models["baseline"], probes, [3])
    assert np.allclose(same.drops, 0)


# --- feature side: reconstructing the forgotten inputs (Hu et al., S&P 2024) -----------------

def _invert(class_audit, name, modes=("gradient", "output")):
    from unlearn_core.scenarios import invert_features

    data, models = class_audit.data, class_audit.models
    forget, train = data.forget, data.train
    return {r.mode: r for r in invert_features(models["baseline"], models[name], data.test.X,
                                                forget.X, forget.y, train.X, train.y,
                                                modes=modes, seed=0)}


def test_reconstruction_looks_like_the_forgotten_class(class_audit):
    """Criterion: the reconstruction correlates better with the forget set's mean image (class 3)
    than with the mean image of all but at most two of the nine other classes (rank <= 2 of
    10). Gradient side on retrain (exact unlearning) and gradient ascent (whose update is the
    forgotten data's gradient); output side on retrain and fine-tuning."""
    cases = [("retrain", "gradient"), ("gradient_ascent", "gradient"), ("retrain", "output"),
             ("finetune", "output")]
    results = {name: _invert(class_audit, name) for name in ("retrain", "gradient_ascent",
                                                             "finetune")}
    for name, mode in cases:
        r = results[name][mode]
        s = r.similarity
        assert not r.nothing_to_invert and r.label == 3, (name, mode)
        assert r.image.shape == (1, 8, 8) and r.images.shape == (8, 1, 8, 8)
        assert r.images.min() >= 0 and r.images.max() <= 1  # within the data's range
        assert s.forgotten_class == 3 and s.rank <= 2, (name, mode, s.class_correlations)
        assert s.forget_correlation > 0.15, (name, mode, s.forget_correlation)
    # gradient ascent's update is exactly the forgotten data's gradient: near-perfect match
    ga = results["gradient_ascent"]["gradient"]
    assert ga.match > 0.9 and ga.similarity.closest_class == 3
    assert ga.similarity.forget_correlation > 0.6
    # the forget-set mean of class forgetting is the class's mean over the training split
    s = results["retrain"]["gradient"].similarity
    train = class_audit.data.train
    assert np.allclose(s.forget_mean, train.X[train.y == 3].mean(0))


def test_identical_releases_give_nothing_to_invert(class_audit):
    from unlearn_core.scenarios import reconstruct_forgotten

    base = class_audit.models["baseline"]
    for mode in ("gradient", "output"):
        r = reconstruct_forgotten(base, base, class_audit.data.test.X, mode=mode)
        assert r.nothing_to_invert and "nothing to invert" in r.reason
        assert r.label == -1 and r.match == 0 and not r.image.any()
    same = _invert(class_audit, "baseline")
    assert all(r.nothing_to_invert and r.similarity is None for r in same.values())


def test_inversion_is_deterministic_and_leaves_the_models_alone(class_audit):
    import torch

    from unlearn_core.scenarios import reconstruct_forgotten

    before, after = class_audit.models["baseline"], class_audit.models["finetune"]
    snapshot = [p.detach().clone() for p in before.parameters()]
    flags = [p.requires_grad for p in before.parameters()]
    threads = torch.get_num_threads()
    runs = [reconstruct_forgotten(before, after, class_audit.data.test.X, seed=seed, steps=60)
            for seed in (7, 7, 8)]
    assert np.array_equal(runs[0].images, runs[1].images) and runs[0].match == runs[1].match
    assert not np.array_equal(runs[0].images, runs[2].images)  # the seed matters
    assert all(torch.equal(a, b) for a, b in zip(snapshot, before.parameters()))
    assert flags == [p.requires_grad for p in before.parameters()]
    assert torch.get_num_threads() == threads


def test_inversion_refuses_bad_input(class_audit):
    import pytest

    from unlearn_core.errors import ConfigError, ModelError
    from unlearn_core.models import ModelSpec, build_model
    from unlearn_core.scenarios import reconstruct_forgotten

    base = class_audit.models["baseline"]
    with pytest.raises(ConfigError, match="mode"):
        reconstruct_forgotten(base, base, class_audit.data.test.X, mode="nope")
    with pytest.raises(ConfigError, match="probe"):
        reconstruct_forgotten(base, class_audit.models["finetune"])
    other = build_model(ModelSpec("mlp", (1, 8, 8), 10))
    with pytest.raises(ModelError, match="same architecture"):
        reconstruct_forgotten(base, other, class_audit.data.test.X)


def test_report_and_audit_run_show_the_reconstructions(class_audit):
    """With the inversion check in the result, the report's verification section draws each
    method's reconstructions next to the forget set's mean image."""
    import dataclasses

    from unlearn_core.audit.run import AuditRun
    from unlearn_core.checks.verdict import VerificationCheck
    from unlearn_core.report.build import _verification_section
    from unlearn_core.scenarios.checks import feature_inversions

    res = class_audit.result
    check = VerificationCheck("inversion", "finetune", 0.0, 0.0, 0.0, True, "r")
    result = dataclasses.replace(res, checks=[check],
                                 methods=[e for e in res.methods if e.name == "finetune"])
    run = AuditRun(result, class_audit.data, class_audit.models, class_audit.context)
    recs = feature_inversions(run)["finetune"]
    assert [r.mode for r in recs] == ["gradient", "output"]
    html_ = _verification_section(result, run)
    assert 'alt="forget-set mean"' in html_
    assert 'alt="reconstruction finetune gradient"' in html_
    assert 'alt="reconstruction finetune output"' in html_
    # no live models (a report rebuilt from JSON): the table only
    assert "reconstruction" not in _verification_section(result, None)
