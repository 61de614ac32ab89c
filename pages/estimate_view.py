"""The Unlearn page's time estimate, shown before the user starts: the audit's training counted
from the recipe and the request (``unlearn_core.audit.estimate``), at the cost of one epoch
measured on this machine (the baseline's training, or a few timed batches)."""

from __future__ import annotations

import streamlit as st

from pages.shared import workspace
from unlearn_core.audit.estimate import (
    epoch_seconds_from,
    estimate_audit,
    measure_epoch_seconds,
)
from unlearn_core.audit.run import AuditConfig
from unlearn_core.data.forget import resolve_forget
from unlearn_core.device import use_device
from unlearn_core.errors import UnlearnError
from unlearn_core.models import ModelSpec, default_train_config


def epoch_costs() -> tuple[float, float]:
    """Seconds per training epoch of the loaded setup, in this process (the baseline's measured
    training, else timed) and on one thread as the reference workers train (timed); each timing
    once per setup, a fraction of a second."""
    ws = workspace()
    recipe = ws.recipe or default_train_config(ws.arch, ws.dataset.name, len(ws.splits.train))
    cache = st.session_state.setdefault("estimate_epoch", {})
    key = (ws.fingerprint, ws.arch, repr(recipe), ws.device)
    if key not in cache:
        spec = ModelSpec(ws.arch, ws.dataset.sample_shape, ws.dataset.n_classes)
        train = ws.dataset.subset(ws.splits.train)
        with use_device(ws.device):
            here = epoch_seconds_from(ws.baseline_seconds, recipe) or \
                measure_epoch_seconds(spec, recipe, train, seed=ws.seed)
            cache[key] = (here, measure_epoch_seconds(spec, recipe, train, seed=ws.seed,
                                                      threads=1))
    return cache[key]


@st.cache_resource(show_spinner=False)
def calibrations() -> dict:
    """(data set fingerprint, model) -> the last audit's actual / estimated seconds on this
    machine, shared by the sessions of this server (its load is theirs too)."""
    return {}


def estimate(config: AuditConfig, calibrated: bool = True):
    """The estimate of ``config`` on the loaded setup (None for a request that cannot run)."""
    ws = workspace()
    try:
        n_forget = 0
        if not ws.selection.is_empty:
            n_forget = len(resolve_forget(ws.dataset, ws.splits, config.forget, ws.seed).forget)
        recipe = ws.recipe or default_train_config(ws.arch, ws.dataset.name,
                                                   len(ws.splits.train))
        factor = calibrations().get((ws.fingerprint, ws.arch), 1.0) if calibrated else 1.0
        return estimate_audit(config, recipe, len(ws.splits.train), n_forget, *epoch_costs(),
                              calibration=factor)
    except UnlearnError:  # an invalid request: the run says why
        return None
    except Exception:  # an estimate never stands in the way of an audit: none is shown
        return None


def show_estimate(config: AuditConfig) -> None:
    """One caption: about how long ``config`` will run here (approximate, and why)."""
    est = estimate(config)
    if est is not None:
        st.caption(f"Estimated time: {est.text()}.")


def record_duration(config: AuditConfig, seconds: float) -> None:
    """After an audit: its actual over estimated time scales the next estimates of the setup
    (a rough factor: an audit of the same request again reuses the cached reference ensemble
    and takes less than it says)."""
    ws = workspace()
    est = estimate(config, calibrated=False)
    if est is not None and est.seconds > 0 and seconds > 0:
        calibrations()[(ws.fingerprint, ws.arch)] = seconds / est.seconds
