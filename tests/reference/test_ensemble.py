"""The ensemble trainer (unlearn_core/ensemble.py over unlearn_core/executors.py): every executor
gives, bit for bit, the models trained one by one with the same seed (one torch thread per model
on every executor); shared data travels once per worker; the local pool's workers stay warm."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from unlearn_core.attacks.shadows import make_jobs, run_job, run_jobs
from unlearn_core.data import load_builtin, make_splits
from unlearn_core.models import ModelSpec, TrainConfig
from unlearn_core.reference.executors import (
    JOBS_RUN,
    chunks,
    local_pool,
    pack,
    run_chunk,
    torch_threads,
    unpack,
)
from unlearn_core.reference.executors import run_jobs as run_any
from unlearn_core.reference.trainer import train_models, train_one

RECIPE = TrainConfig(epochs=2, lr=2e-3, batch_size=32)
SEEDS = [11, 12, 13]


@pytest.fixture(scope="module")
def small():
    ds = load_builtin("digits")
    train = ds.subset(make_splits(ds, seed=0).train[:240])
    return ModelSpec("cnn", ds.sample_shape, ds.n_classes), train


@pytest.fixture(scope="module")
def one_by_one(small):
    spec, train = small
    return [train_one(spec, RECIPE, train, s) for s in SEEDS]


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _pid(job) -> int:
    return os.getpid()


@pytest.mark.parametrize("executor", ["serial", "local"])
@pytest.mark.slow
def test_ensemble_is_bit_identical_to_models_trained_one_by_one(small, one_by_one, executor):
    spec, train = small
    models = train_models(spec, RECIPE, train, SEEDS, executor=executor)
    assert len(models) == len(SEEDS)
    for m, alone in zip(models, one_by_one):
        assert _same(m, alone)  # bit for bit, not to a tolerance
    assert not _same(models[0], models[1])  # the seeds matter


@pytest.mark.slow
def test_ensemble_on_ray_is_bit_identical(small, one_by_one):
    ray = pytest.importorskip("ray")
    spec, train = small
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        models = train_models(spec, RECIPE, train, SEEDS, executor="ray")
        jobs, _ = make_jobs(spec, RECIPE, train.X, train.y, np.arange(30), 3, seed=4)
        phis = run_jobs(jobs, "ray")
    finally:
        ray.shutdown()
    for m, alone in zip(models, one_by_one):
        assert _same(m, alone)
    with torch_threads(1):
        for phi, job in zip(phis, jobs):
            assert np.array_equal(phi, run_job(job))


def test_thread_count_is_fixed_per_model_whatever_the_caller_uses(small, one_by_one):
    spec, train = small
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        models = train_models(spec, RECIPE, train, SEEDS[:1], executor="serial")
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(before)
    assert _same(models[0], one_by_one[0])


def test_shadows_on_the_pool_match_each_shadow_trained_alone(small):
    spec, train = small
    jobs, ins = make_jobs(spec, RECIPE, train.X, train.y, np.arange(30), 3, seed=4)
    pooled = run_jobs(jobs, "local", workers=2)
    serial = run_jobs(jobs, "serial")
    with torch_threads(1):
        alone = [run_job(job) for job in jobs]
    for a, b, c in zip(pooled, serial, alone):
        assert np.array_equal(a, c) and np.array_equal(b, c)
    assert ins.shape == (3, 30)


def test_shared_arrays_travel_once_and_jobs_keep_their_own():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    ds = load_builtin("wine")
    spec = ModelSpec("logreg", ds.sample_shape, ds.n_classes)
    jobs, _ = make_jobs(spec, RECIPE, X, y, np.arange(3), 4, seed=0)
    shared, packed = pack(jobs)
    assert set(shared) == {"X", "y", "targets"}  # the same object in every job
    assert all(j.X is None and j.y is None and j.in_mask is not None for j in packed)
    back = [unpack(j, shared) for j in packed]
    assert all(b.X is X and np.array_equal(b.in_mask, j.in_mask) for b, j in zip(back, jobs))
    assert pack([1, 2]) == ({}, [1, 2])  # not dataclasses: travel as given
    # a copy of the same values is not the same object: it stays with its job
    jobs[1].X = X.copy()
    assert "X" not in pack(jobs)[0]


def test_chunks_cover_every_job_once_in_order():
    for n, parts in ((16, 2), (5, 3), (2, 8), (1, 1), (7, 7)):
        ranges = chunks(n, parts)
        assert [i for a, b in ranges for i in range(a, b)] == list(range(n))
        sizes = [b - a for a, b in ranges]
        assert len(ranges) == min(n, parts) and max(sizes) - min(sizes) <= 1
    assert run_chunk(_pid, {}, [0, 1]) == [os.getpid()] * 2


def test_local_pool_is_warm_and_reused_across_batches():
    pool_a, _ = local_pool(2)
    first = run_any(list(range(6)), "local", workers=2, fn=_pid, task="pids")
    pool_b, _ = local_pool(2)
    second = run_any(list(range(6)), "local", workers=2, fn=_pid, task="pids")
    assert pool_a is pool_b
    assert os.getpid() not in first
    # one contiguous chunk per worker: three jobs in a row on one process
    assert len(set(first[:3])) == 1 and len(set(first[3:])) == 1
    workers = set(pool_a._processes)  # started once: the same processes serve both batches
    assert len(workers) == 2 and set(first) | set(second) <= workers
    assert JOBS_RUN["pids"] >= 12


def test_progress_counts_every_job_on_the_pool(small):
    seen = []
    run_any(list(range(4)), "local", workers=2, fn=_pid, task="pids",
            progress=lambda task, done, total: seen.append((task, done, total)))
    assert seen and seen[-1] == ("pids", 4, 4)
    assert all(t == 4 for _, _, t in seen)
    with pytest.raises(Exception, match="unknown executor"):
        run_any([1], "spark", fn=_pid)


def test_training_does_not_depend_on_how_the_array_was_made(small):
    """A size-1 axis may carry any stride in numpy (the built-in images' channel axis does);
    torch read such arrays as channels-last and trained other weights than from a copy."""
    from unlearn_core.data.dataset import Samples
    from unlearn_core.models.training import float_tensor

    spec, train = small
    odd = np.lib.stride_tricks.as_strided(train.X, strides=(256, 4, 32, 4))
    t = float_tensor(odd)
    assert t.stride() == (64, 64, 8, 1) and torch.equal(t, torch.as_tensor(train.X.copy()))
    a = train_one(spec, RECIPE, Samples(odd, train.y, train.ids), 11)
    b = train_one(spec, RECIPE, Samples(train.X.copy(), train.y, train.ids), 11)
    assert _same(a, b)


def test_vectorised_trainer_matches_models_trained_one_by_one_to_tolerance(small, one_by_one,
                                                                          monkeypatch):
    """torch.func stack_module_state + vmap (the GPU path, CPU here): each model keeps its own
    initialisation, batch order and optimizer state; batched kernels sum in another order, so
    the match is to float tolerance, far below the gap between two seeds."""
    from unlearn_core.errors import ConfigError
    from unlearn_core.models import predict_logits
    from unlearn_core.reference.vmap import train_stacked

    spec, train = small
    stacked = train_stacked(spec, RECIPE, train, SEEDS, device="cpu")
    for m, alone in zip(stacked, one_by_one):
        gap = np.abs(predict_logits(m, train.X) - predict_logits(alone, train.X)).max()
        assert gap < 1e-4
    seeds_gap = np.abs(predict_logits(one_by_one[0], train.X)
                       - predict_logits(one_by_one[1], train.X)).max()
    assert seeds_gap > 0.1
    assert next(stacked[0].parameters()).device.type == "cpu"

    class WithBuffer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("running", torch.zeros(1))

    import unlearn_core.reference.vmap as ev

    monkeypatch.setattr(ev, "build_model", lambda spec, seed=0: WithBuffer())
    with pytest.raises(ConfigError, match="without buffers"):
        train_stacked(spec, RECIPE, train, SEEDS[:1])
