"""From the model before and after class forgetting, the attacker names the forgotten class."""

import numpy as np

from unlearn_core.verification import infer_forgotten_label


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
