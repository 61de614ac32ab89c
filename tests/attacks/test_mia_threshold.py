"""The threshold attack is at chance on non-members and well above it on an overfit model."""

import numpy as np

from unlearn_core.data import Samples
from unlearn_core.metrics import ThresholdAttack, auc, membership_score
from unlearn_core.models import ModelSpec, TrainConfig, build_model, train_epochs


def test_membership_score_orientation():
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    loss = membership_score(np.log(probs), np.array([0, 0]), "loss")
    assert loss[0] > loss[1]  # the confidently right sample looks more like a member
    conf = membership_score(np.log(probs), np.array([0, 0]), "confidence")
    assert np.allclose(conf, [0.9, 0.2])


def test_loss_scores_are_not_clipped():
    """Scores come from log_softmax of the logits: far-off logits keep their order (a clip at
    log(1e-12) would make both -27.6 and the AUC of such samples exactly 0.5)."""
    from torch import nn

    from unlearn_core.models import predict_log_proba

    class Fixed(nn.Module):
        def forward(self, x):
            return x

    logits = np.array([[0.0, 40.0], [0.0, 80.0]], dtype=np.float32)
    scores = membership_score(predict_log_proba(Fixed(), logits), np.array([0, 0]), "loss")
    assert np.allclose(scores, [-40.0, -80.0])
    assert auc(scores[:1], scores[1:]) == 1.0


def test_auc_extremes():
    assert auc(np.array([2.0, 3.0]), np.array([0.0, 1.0])) == 1.0
    assert auc(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 0.0


def _overfit_setting(digits):
    """An MLP trained long on a small, partly mislabelled training set memorises it."""
    ds, splits = digits
    rng = np.random.default_rng(0)
    train = ds.subset(splits.train[:300])
    noisy = train.y.copy()
    flip = rng.random(len(noisy)) < 0.3
    noisy[flip] = (noisy[flip] + rng.integers(1, 10, flip.sum())) % 10
    members = Samples(train.X, noisy, train.ids)
    model = build_model(ModelSpec("mlp", ds.sample_shape, ds.n_classes), seed=0)
    train_epochs(model, members, TrainConfig(epochs=150, lr=3e-3, batch_size=32), seed=0)
    return model, members, ds.subset(splits.test), ds.subset(splits.population)


def test_attack_separates_members_of_an_overfit_model(digits):
    model, members, test, population = _overfit_setting(digits)
    for score in ("loss", "confidence"):
        res = ThresholdAttack(score=score).run(model, members, members, test, population)
        assert res.auc_retain_vs_population > 0.7, score
        assert res.forget_member_rate > res.test_member_rate + 0.3
        # two disjoint non-member sets are indistinguishable
        assert abs(res.auc_test_vs_population - 0.5) < 0.07, score


def test_attack_near_chance_on_two_non_member_sets_of_baseline(class_audit):
    mia = class_audit.result.baseline.mia
    assert abs(mia.auc_test_vs_population - 0.5) < 0.07


def test_retrained_model_sees_forget_class_as_unseen(class_audit):
    # after retraining, the forgotten class's training samples look like its unseen test samples
    assert abs(class_audit.result.retrain.mia.auc_forget_vs_test - 0.5) < 0.12
