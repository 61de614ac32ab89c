"""The audit page's "Look inside the model" section (thin: computations in
``unlearn_core.analysis.inside_view`` and ``analysis.prediction_matrix``, figures in
``charts.inside``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages.shared import lacks_models
from unlearn_core.analysis.forgery_outcomes import forgery_outcomes
from unlearn_core.analysis.inside_view import (
    check_context,
    cka_curves,
    map_inputs,
    method_models,
    relearn_curves,
    retrain_models,
    twin_map,
)
from unlearn_core.analysis.prediction_matrix import prediction_matrices, prediction_matrix_figure
from unlearn_core.charts.inside import check_bars, cka_figure, relearn_figure, twin_map_figure

INSIDE_CHECKS = ("probe", "relearn", "cka", "compression")
CKA_INPUTS = 500


def _cached(key: tuple, compute):
    """A live view computed once per audit, method and view (kept in the session)."""
    store = st.session_state.setdefault("inside_cache", {})
    if key not in store:
        store[key] = compute()
    return store[key]


def show_forgery_outcomes(res) -> None:
    """'Which checks does this forgery fool': a row per forgery the audit ran, a column per
    check, each cell the check's status on it (pass = fooled)."""
    outs = forgery_outcomes(res)
    if not outs:
        return
    st.subheader("Which checks does each forgery fool?")
    rows = [{"forgery": o.forgery, "verdict": o.verdict, **o.statuses} for o in outs]
    frame = pd.DataFrame(rows)
    colours = {"pass": "background-color: #f8d7da", "fail": "background-color: #d4edda"}
    checks = [c for c in frame.columns if c not in ("forgery", "verdict")]
    st.dataframe(frame.style.map(lambda v: colours.get(v, ""), subset=checks),
                 hide_index=True, width="stretch")
    st.caption("Each forgery keeps what the model learned and only hides it somewhere. A check "
               "that passes a forgery (red) is fooled by that way of hiding; green: the check "
               "catches it. A forgery's verdict must never be a pass.")


def show_inside(run, idx: int, colors: dict[str, str]) -> None:
    """Bars of the looking-inside checks over the retrain band, then the live views of one
    method: CKA by layer, relearning curves, the twin embedding map and prediction matrices."""
    res = run.result
    show_forgery_outcomes(res)
    st.subheader("Look inside the model")
    inside = [s.name for s in res.check_specs if s.name in INSIDE_CHECKS]
    if inside:
        pick = st.selectbox("Check", inside, key="inside_check")
        st.plotly_chart(check_bars(res, pick), key=f"inside_chart_{pick}")
        st.caption("Grey: the retrains; black: the untouched original; coloured: each method by "
                   "its status; the shaded band is where genuine retrains land. A method that "
                   "keeps the forgotten knowledge in its features sits with the original, "
                   "however forgotten its outputs look.")
    else:
        st.caption("No looking-inside check ran for this audit (choose probe, relearn, cka or "
                   "compression under 'Audit depth' on the Unlearn page to judge them); the "
                   "views below are drawn from the audit's models.")
    if not res.methods:
        st.info("The live views need the audit's models and at least one method.")
        return
    if lacks_models(run, ["baseline", *(e.name for e in res.methods)], "Looking inside"):
        return
    names = [e.name for e in res.methods]
    method = st.selectbox("Method to look inside", names, key="inside_method")
    original = run.models["baseline"]
    retrains = retrain_models(run)
    mine = method_models(run, method)
    tabs = st.tabs(["CKA by layer", "Relearning curves", "Twin embedding map",
                    "Prediction matrix"])
    with tabs[0]:
        forget = run.data.forget
        X = forget.X[:CKA_INPUTS]
        curves = _cached((idx, method, "cka"), lambda: cka_curves(original, retrains + mine, X))
        st.plotly_chart(cka_figure(curves, colors), key=f"inside_cka_{idx}_{method}")
        st.caption("Linear CKA (Kornblith et al., ICML 2019) of each layer's features with the "
                   "original's, on the forget inputs. Good: the method's curve drops where the "
                   "retrains' do; a curve at 1 up to the last layer means the features are the "
                   "original's and only the output changed.")
    with tabs[1]:
        key = (idx, method, "relearn")
        store = st.session_state.setdefault("inside_cache", {})
        if key not in store and st.button("Run the relearning attack on every model",
                                          key=f"inside_relearn_go_{idx}_{method}"):
            with st.spinner("fine-tuning a copy of each model on a few forget samples"):
                store[key] = relearn_curves(
                    retrains + [("original", "original", original)] + mine, check_context(run))
        if key in store:
            st.plotly_chart(relearn_figure(store[key], colors),
                            key=f"inside_relearn_{idx}_{method}")
        st.caption("Each model is copied and fine-tuned on 10 forget samples plus retain "
                   "batches (Adam, fixed learning rate, the relearn check's few steps); the "
                   "curve is the accuracy on held-out samples of what was forgotten. Grey: the "
                   "retrains' range (in so few steps a model that never saw the data hardly "
                   "learns it from those samples). Above it: the knowledge was only "
                   "suppressed; below it: over-suppressed (a huge negative bias resists "
                   "relearning).")
    with tabs[2]:
        after_names = [n for n, _, _ in retrains[:1]] + names
        after = st.selectbox("After", after_names, index=after_names.index(method),
                             key="inside_map_after")
        Xm, ym, fm, ids = map_inputs(run)
        tm = _cached((idx, after, "map"), lambda: twin_map(
            original, run.models[after], Xm, ym, fm, ids, ("original", after)))
        st.plotly_chart(twin_map_figure(tm, list(run.data.dataset.class_names)),
                        key=f"inside_map_{idx}_{after}")
        st.caption("Penultimate features of the original (before) and of the chosen model "
                   "(after) on test samples and the forget set (diamonds), under one PCA "
                   "fitted once on both, so positions compare across the panels (the "
                   "Unlearning Comparator's view). Genuine forgetting moves the forget samples "
                   "into other classes' clusters, as retraining does.")
    with tabs[3]:
        split = st.radio("Samples", ["forget", "test"], horizontal=True, key="inside_pm_split")
        shown = ["baseline", res.retrain.name, *names]
        mats = _cached((idx, split, "pm"), lambda: prediction_matrices(run, split, shown))
        st.plotly_chart(prediction_matrix_figure(mats, highlight=res.forget_classes),
                        key=f"inside_pm_{idx}_{split}")
        st.caption("Rows: true class; columns: predicted class; bubble area: share of the "
                   "row, colour: mean confidence. A forgotten class (shaded row) should spread "
                   "like the retrain's, not move wholesale to one decoy column.")
