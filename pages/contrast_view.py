"""The audit page's contrast view: two models side by side with retrain pinned, per-class
accuracy, the prediction matrix, the attack's threshold sweep with each sample's outcome, and
cohorts (saved filters) applied across the page's forget-sample charts. Every number comes from
``unlearn_core.analysis.contrast``."""

from __future__ import annotations

import numpy as np
import streamlit as st

from pages.shared import lacks_models
from unlearn_core.analysis.contrast import (
    EVERYTHING,
    OUTCOMES,
    Cohort,
    attack_success,
    audit_threshold,
    cohort_result,
    contrast_models,
    per_class_accuracy,
    sample_facts,
    threshold_grid,
    threshold_sweep,
    unseen_loss,
)
from unlearn_core.audit.run import AuditResult, AuditRun
from unlearn_core.charts.contrast import per_class_figure, per_sample_figure, sweep_figure
from unlearn_core.errors import UnlearnError


def _facts(run: AuditRun, split: str):
    """Every model's predictions and losses on a split, once per audit and split."""
    cache = st.session_state.setdefault("contrast_facts", {})
    key = (id(run), split)
    if key not in cache or cache[key][0] is not run:
        cache[key] = (run, sample_facts(run, split))
    return cache[key][1]


def _cohorts() -> list[Cohort]:
    return st.session_state.setdefault("cohorts", [])


def _cohort_editor(names: list[str], models: list[str]) -> None:
    with st.expander("Cohorts: save a filter (e.g. class 3 and misclassified)"):
        c1, c2, c3 = st.columns(3)
        classes = c1.multiselect("Classes (none: every class)", range(len(names)),
                                 format_func=lambda c: names[c], key="cohort_classes")
        outcome = c2.selectbox("Prediction", OUTCOMES, key="cohort_outcome")
        judge = c3.selectbox("Judged by", models, key="cohort_judge")
        label = st.text_input("Name", key="cohort_name",
                              placeholder="e.g. class 3 misclassified")
        if st.button("Save cohort", key="cohort_save"):
            cohort = Cohort(label or f"cohort {len(_cohorts()) + 1}", tuple(sorted(classes)),
                            outcome, judge)
            _cohorts().append(cohort)
            st.session_state["cohort_pick"] = cohort.name
        st.caption("A cohort restricts every chart of this view and the membership charts "
                   "below it to its samples.")


def show_contrast(run: AuditRun, colors: dict[str, str]) -> tuple[AuditResult, Cohort]:
    """Draw the contrast view; return the audit result restricted to the chosen cohort's
    forget samples (for the page's membership charts) and the cohort."""
    res = run.result
    names = list(res.class_names)
    models = [e.name for e in res.evaluations()]
    st.subheader("Contrast two models")
    pick_from = [m for m in models if m != res.retrain.name]
    first = res.methods[0].name if res.methods else res.baseline.name
    for key in ("contrast_a", "contrast_b"):  # a choice from another audit does not apply
        if st.session_state.get(key) not in (None, *pick_from):
            del st.session_state[key]
    c1, c2 = st.columns(2)
    a = c1.selectbox("Model A", pick_from, index=pick_from.index(first), key="contrast_a")
    b = c2.selectbox("Model B", pick_from, index=pick_from.index(res.baseline.name),
                     key="contrast_b")
    shown = contrast_models(res, a, b)
    _cohort_editor(names, models)
    saved = {c.name: c for c in _cohorts()}
    options = [EVERYTHING.name, *saved]
    if st.session_state.get("cohort_pick") not in options:
        st.session_state["cohort_pick"] = EVERYTHING.name
    pick = st.selectbox("Cohort applied to the charts", options, key="cohort_pick")
    cohort = saved.get(pick, EVERYTHING)
    st.caption(f"Retrain ({res.retrain.name}) is pinned beside the two models. Cohort: "
               f"**{cohort.describe(names)}**.")
    if lacks_models(run, shown, "The contrast view"):
        return res, EVERYTHING
    try:
        forget = _facts(run, "forget")
        test = _facts(run, "test")
        f_mask, t_mask = cohort.mask(forget), cohort.mask(test)
    except UnlearnError as err:
        st.warning(str(err))
        return res, EVERYTHING

    # --- per-class accuracy -------------------------------------------------------------
    split = st.radio("Samples", ["test", "forget"], horizontal=True, key="contrast_split",
                     format_func={"test": "test (unseen)", "forget": "forget set"}.get)
    facts, mask = (test, t_mask) if split == "test" else (forget, f_mask)
    st.markdown(f"**Per-class accuracy** ({int(mask.sum())} {split} samples in the cohort)")
    acc = {m: per_class_accuracy(facts, m, len(names), mask) for m in shown}
    st.plotly_chart(per_class_figure(names, acc, colors), key="contrast_perclass")
    st.caption("A forgotten class should drop to the retrain bar; the others should stay.")

    # --- prediction matrix (issue 10's confusion bubbles) -------------------------------
    try:
        from unlearn_core.analysis.prediction_matrix import (
            prediction_matrix,
            prediction_matrix_figure,
        )

        samples = run.data.test if split == "test" else run.data.forget
        mats = [prediction_matrix(run.models[m], samples.X[mask], samples.y[mask], len(names),
                                  m, split, names) for m in shown]
        st.markdown("**Prediction matrix**")
        st.plotly_chart(prediction_matrix_figure(mats, highlight=res.forget_classes,
                                                 cols=len(mats)), key="contrast_matrix")
        st.caption("Rows: true class; columns: predicted. Bubble size: share of the row; "
                   "colour: mean confidence. Good: the two models' bubbles where retrain's are.")
    except ImportError:
        pass

    # --- the attack's threshold sweep and each sample's outcome -------------------------
    st.markdown(f"**Membership attack by threshold** ({int(f_mask.sum())} forget samples in "
                "the cohort)")
    if not f_mask.any():
        st.info("No forget sample in this cohort.")
        return res, cohort
    grid = threshold_grid(*(forget.loss[m] for m in shown), *(unseen_loss(res, m) for m in shown))
    sweeps = [threshold_sweep(m, forget.loss[m][f_mask], unseen_loss(res, m), grid)
              for m in shown]
    t0 = audit_threshold(res, res.retrain.name)
    lo, hi = round(float(np.log10(grid[0])), 2), round(float(np.log10(grid[-1])), 2)
    hi = max(hi, lo + 0.05)
    default = float(np.clip(round(float(np.log10(t0)), 2), lo, hi))
    held = st.session_state.get("contrast_threshold")
    if held is not None and not lo <= held <= hi:  # another audit's range
        del st.session_state["contrast_threshold"]
    t_log = st.slider("Threshold (log10 of the membership loss)", lo, hi, default, 0.05,
                      key="contrast_threshold")
    threshold = 10 ** t_log
    st.plotly_chart(sweep_figure(sweeps, colors, threshold), key="contrast_sweep")
    rates = ", ".join(f"{s.model}: {100 * s.at(threshold)[0]:.0f}% of forget vs "
                      f"{100 * s.at(threshold)[1]:.0f}% of unseen" for s in sweeps)
    st.caption(f"Called members at this threshold: {rates}. Good: a model's solid line on its "
               "dotted one (forget samples look unseen), as for retrain. The audit's calibrated "
               f"threshold for retrain is {t0:.3g}.")
    ids = forget.ids[f_mask]
    won = {m: attack_success(forget.loss[m][f_mask], threshold) for m in shown}
    st.plotly_chart(per_sample_figure(ids, forget.loss[a][f_mask], forget.loss[b][f_mask],
                                      won[res.retrain.name], a, b, threshold),
                    key="contrast_samples")
    only_a = int((won[a] & ~won[b]).sum())
    only_b = int((won[b] & ~won[a]).sum())
    st.caption(f"Each forget sample's loss under {a} and {b}; the dashed lines are the "
               f"threshold. The attack still calls {int(won[a].sum())} samples members under "
               f"{a}, {int(won[b].sum())} under {b} and {int(won[res.retrain.name].sum())} under "
               f"retrain ({only_a} under {a} only, {only_b} under {b} only).")
    return cohort_result(res, f_mask), cohort
