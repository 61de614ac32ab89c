"""Weight-space evidence: loss barrier on the line from the original and the distance ratio."""

from __future__ import annotations

import pytest
import torch

from tests.checks.test_inside_support import class3_zoo, one_thread  # noqa: F401
from unlearn_core.checks import available_checks
from unlearn_core.checks.weight_space import (
    distance_ratio,
    flat_distance,
    interpolate,
    loss_barrier,
    weight_space_evidence,
)
from unlearn_core.models import ModelSpec, build_model


@pytest.fixture(scope="module")
def zoo():
    return class3_zoo()


def test_not_a_registered_check():
    assert "weight_space" not in available_checks()


def test_interpolation_endpoints_and_midpoint(zoo):
    o, r = zoo.original, zoo.retrains[0]
    for a, ref in ((0.0, o), (1.0, r)):
        net = interpolate(o, r, a)
        assert all(torch.allclose(p, q) for p, q in zip(net.parameters(), ref.parameters()))
    mid = interpolate(o, r, 0.5)
    assert flat_distance(mid, o) == pytest.approx(flat_distance(r, o) / 2, rel=1e-5)
    with pytest.raises(ValueError, match="same architecture"):
        flat_distance(o, build_model(ModelSpec("mlp", (1, 8, 8), 10)))


def test_barrier_separates_another_basin_from_the_same_one(zoo):
    data = zoo.ctx.data
    sets = {"retain": data.retain.take(range(0, len(data.retain), 3))}
    same = loss_barrier(zoo.original, zoo.forgeries["head_only"], sets, points=11)
    other = loss_barrier(zoo.original, zoo.retrains[0], sets, points=11)
    assert same.barrier["retain"] < 0.05 < 0.3 < other.barrier["retain"]
    assert same.loss["retain"].shape == (11,) and same.alphas[-1] == 1.0
    flat = loss_barrier(zoo.original, zoo.original, sets, points=5)
    assert flat.barrier["retain"] == pytest.approx(0.0, abs=1e-6)


def test_evidence_figures(zoo):
    ev = weight_space_evidence(zoo.forgeries["head_only"], zoo.ctx, points=5)
    assert set(ev) >= {"barrier_retain", "barrier_forget", "distance", "distance_ratio"}
    assert ev["distance_ratio"] < 0.3  # only the head moved
    assert distance_ratio(zoo.original, zoo.original, zoo.retrains[0]) == 0.0
    ratio = distance_ratio(zoo.retrains[1], zoo.original, zoo.retrains[0])
    assert 0.8 < ratio < 1.25  # retrains from other seeds are about equally far
