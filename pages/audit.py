"""Audit: before / after / retrain side by side: accuracy, membership inference, per-sample
shifts, relevance maps and the verdict."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pages.claim_view import show_claim
from pages.contrast_view import show_contrast
from pages.inside_view import show_inside
from pages.inversion_view import show_inversion
from pages.relevance_view import show_relevance
from pages.shared import (
    image_of,
    lacks_models,
    need_setup,
    point_id,
    run_id_of,
    set_address,
    show_context,
    show_error,
    through_app,
    workspace,
)
from unlearn_core.charts import audit as charts
from unlearn_core.errors import UnlearnError
from unlearn_core.models import predict_proba
from unlearn_core.report.rows import (
    check_rows,
    closest_line,
    extension_lines,
    ranked,
    verdict_rows,
)
from unlearn_core.report.table import speed_cell

through_app()  # opened by its own address before the app ran: app.py first
st.title("Audit")
ws = workspace()
if ws.current is None and need_setup():  # a reopened run shows without a live baseline
    st.stop()
context_slot = st.empty()  # data set · forget request · run of the audit shown
if ws.current is None:
    st.info("No audit yet: run methods on the **Unlearn** page.")
    st.page_link("pages/unlearn.py", label="Go to Unlearn", icon=":material/auto_delete:")
    st.stop()

labels = [f"#{i + 1}: {r.result.forget_description}, "
          f"{', '.join(e.name for e in r.result.methods) or 'no method'}"
          for i, r in enumerate(ws.runs)]
idx = st.selectbox("Audit", range(len(ws.runs)), index=len(ws.runs) - 1,
                   format_func=lambda i: labels[i], key="audit_pick")
run = ws.runs[idx]
res = run.result
show_context(run, context_slot)
set_address(run_id_of(run))  # ?run=<id>: this audit after a reload or in a new tab
for note in ws.run_notes.get(run_id_of(run), []):  # what its reopening left out
    st.caption(f"Reopened from the run store: {note}.")
evals = res.evaluations()
colors = charts.colors_of(res)
for failure in res.failures:
    st.error(f"{failure.name} failed: {failure.message}")

# --- the verdict first: what an auditor signs -----------------------------------------------
verdicts = verdict_rows(res.verdicts)  # built once: the headlines here, the table below
if verdicts:
    st.subheader("Verdict per method")
    order = ranked(verdicts)  # strictest level first, then closest to retraining
    if any(v.grade is not None for v in verdicts):
        st.markdown(f"**{closest_line(order)}**")
        st.dataframe(pd.DataFrame([v.ranking_cells() for v in order]), hide_index=True,
                     width="stretch", key="audit_ranking")
        st.caption("Levels of assurance, strict to weaker: 1 indistinguishable from retraining; "
                   "2 the forgotten data looks unseen and the model kept its utility (the "
                   "retraining's exact loss levels not required); 3 forgotten on the outputs "
                   "only (output suppression not ruled out). Distance: the largest distance of "
                   "a figure from its retrain band, in band half-widths (0: inside every band).")
    shown = {"pass": st.success, "fail": st.warning}
    for v in verdicts:  # a pass on outputs only is not shown as a plain pass
        shown.get("qualified" if v.qualifier else v.status, st.info)(
            f"**{v.method}**: {v.headline}" + (f"  \n{v.assurance}" if v.qualifier else ""))
    st.caption("Each check judged against the spread of "
               f"{res.ensembles[0].k if res.ensembles else 0} retrains with other seeds, with "
               "the untouched original as the do-nothing control; the reasons, intervals and "
               "bands are in the Verdict section at the end of this page.")
show_claim(res)  # a third-party claim: its fit check and submitted files (pages/claim_view.py)

# --- headline table -------------------------------------------------------------------------
st.subheader("Accuracy and membership at a glance")
table = pd.DataFrame([{
    "model": e.name,
    "forget acc %": 100 * e.accuracy.forget,
    "retain acc %": 100 * e.accuracy.retain,
    "test acc %": 100 * e.accuracy.test,
    "test (other classes) %": 100 * e.accuracy.test_other_classes,
    "MIA AUC forget vs unseen": e.mia.auc_forget_vs_test,
    "called members %": 100 * e.mia.forget_member_rate,
    "MIA-efficacy %": 100 * e.mia_efficacy,
    "seconds": e.seconds,
    "speed-up": speed_cell(e, res.retrain.seconds),  # an en dash where none applies
} for e in evals])
st.dataframe(table, hide_index=True, width="stretch",
             column_config={c: st.column_config.NumberColumn(format="%.2f")
                            for c in table.columns if c not in ("model", "speed-up")})
st.caption(f"Forget set: {res.forget_description} ({res.n_forget} samples). Good unlearning "
           "looks like the **retrain** row, not like the original.")

# --- contrast view: two models beside retrain, cohorts (the Unlearning Comparator) ----------
cohort_res, cohort = show_contrast(run, colors)  # the forget-sample charts below show the cohort

# --- accuracy and membership charts (shared with the report) -------------------------------
st.subheader("Accuracy before / after / retrain")
st.plotly_chart(charts.accuracy_bars(res), key="audit_acc")
st.caption("Shift against the original in brackets. Good: forget accuracy near the retrain "
           "bar; retain and test close to the original.")
st.subheader("Per-class test accuracy")
st.plotly_chart(charts.per_class_bars(res), key="audit_perclass")
st.caption("A forgotten class should drop to the retrain level; the others should not move.")
st.subheader("Membership inference")
if cohort.name != "everything":
    st.caption(f"Forget samples of the cohort **{cohort.name}** ({cohort_res.n_forget} samples).")
c1, c2 = st.columns(2)
with c1:
    st.plotly_chart(charts.mia_histogram(cohort_res), key="audit_hist")
    st.caption("Forget-set scores of each model. Good: the method's distribution sits on the "
               "retrain one, which is what never-seen data looks like.")
with c2:
    st.plotly_chart(charts.mia_roc(cohort_res), key="audit_roc")
    st.caption("Attack telling forget samples from unseen ones, on log-log axes (the low "
               "false-positive corner is what counts). Good: the curve close to the retrain "
               "curve (AUC near the retrain AUC).")

if res.attack_summaries or res.ulira:
    st.markdown("**Attack suite** (forget samples vs unseen test samples)")
    rows = [{"attack": a.attack, "model": a.model, "AUC": a.auc,
             "TPR at 1% FPR": a.tpr_at_1pct_fpr, "TPR at 0.1% FPR": a.tpr_at_01pct_fpr}
            for a in res.attack_summaries]
    rows += [{"attack": "U-LiRA", "model": u.method, "AUC": u.auc} for u in res.ulira]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption("Good: each method's AUC close to the retrain row; U-LiRA near 0.5 means "
               "'unlearned' cannot be told from 'never seen'.")

# --- per-sample shifts ----------------------------------------------------------------------
st.subheader("Per-sample score shifts")
target = st.selectbox("Model", [e.name for e in evals if e.role != "baseline"],
                      key="audit_shift_model")
ev = next(e for e in evals if e.name == target)
ids = cohort_res.forget_ids
sc = charts.score_shift(cohort_res, target)
pick = st.plotly_chart(sc, on_select="rerun", selection_mode=("points",), key="audit_shift")
st.caption("Each forget sample's loss before and after, on log axes: above the diagonal it "
           "looks less like a member after unlearning. Click a sample to open it.")
points = getattr(getattr(pick, "selection", None), "points", None) or []
if points and point_id(points[0]) is not None:
    ws.open_sample = point_id(points[0])
if ws.open_sample is not None and ws.open_sample in set(ids.tolist()):
    ds = run.data.dataset
    pos = int(ds.positions_of(np.array([ws.open_sample]))[0])
    st.markdown(f"**Sample {ws.open_sample}** · true class {ds.class_names[ds.y[pos]]}")
    cols = st.columns([1, 3])
    if ds.kind == "image":
        cols[0].image(image_of(ds, pos), width=120, clamp=True)
    probs = go.Figure()
    lacks_models(run, [e.name for e in evals], "Each model's probabilities for this sample")
    for e in [e for e in evals if e.name in run.models]:
        p = predict_proba(run.models[e.name], ds.X[pos:pos + 1])[0]
        probs.add_trace(go.Bar(name=e.name, x=ds.class_names, y=p, marker_color=colors[e.name]))
    probs.update_layout(barmode="group", height=260, yaxis_title="probability",
                        margin=dict(t=10, b=10), xaxis=dict(type="category", dtick=1))
    cols[1].plotly_chart(probs, key="audit_sample_probs")

# --- relevance maps -------------------------------------------------------------------------
st.subheader("Relevance maps")
try:
    from pages.relevance_view import show_relevance
    from unlearn_core.analysis import relevance  # noqa: F401

    show_relevance(run, colors)
except ImportError:
    st.info("Relevance maps are not available in this installation.")
except UnlearnError as err:
    show_error(err)

# --- closeness and verdict ------------------------------------------------------------------
st.subheader("Closeness to retrain")
if res.closeness:
    st.dataframe(pd.DataFrame([{
        "method": c.name, "JS forget": c.js_forget, "JS test": c.js_test,
        "KL forget": c.kl_forget, "agreement forget %": 100 * c.agreement_forget,
        "agreement test %": 100 * c.agreement_test,
        "activation distance forget": c.activation_distance_forget,
        "weight L2": c.weight_l2} for c in res.closeness]), hide_index=True, width="stretch",
        column_config={"method": st.column_config.TextColumn()})
    st.caption("Distances of each method's outputs (and weights) to the retrained model. Good: "
               "JS and activation distance near 0, agreement near 100%.")
else:
    st.info("No method ran, so there is nothing to compare with retrain.")

if res.checks:
    st.subheader("Verification scenarios")
    st.dataframe(pd.DataFrame([{"check": c.name, "method": c.method, "figure": c.figure,
                                "retrain": c.reference, "result": "pass" if c.passed else "FAIL",
                                "reason": c.reason} for c in res.checks]),
                 hide_index=True, width="stretch")
    st.caption("inversion: the attacker's first right guess of the forgotten class (0 = first "
               "try); backdoor: the planted trigger's success rate after unlearning; restor: "
               "share of the clean accuracy recovered; confusion: share of clean test samples of "
               "the two swapped classes still confused. Good: no worse than the retrain column.")
    if (any(c.name == "inversion" for c in res.checks) and res.methods
            and run.data.dataset.kind == "image"):
        show_inversion(run, idx)

show_inside(run, idx, colors)

st.subheader("Verdict")
if verdicts:
    from unlearn_core.charts.verdict import verdict_figure

    # a failed verdict is a finding, not an error of the app: warnings, never st.error
    show = {"pass": st.success, "fail": st.warning}
    for v in verdicts:
        show.get("qualified" if v.qualifier else v.status, st.info)(
            f"**{v.method}**: {v.headline}. {v.reason}"
            + (f"  \n{v.assurance}" if v.assurance else ""))
    for warning in res.warnings:
        st.warning(warning)
    for line in extension_lines(res):  # the sequential rule trained more retrains: why
        st.info(line)
    columns = ["method", "check", "status", "figure", "interval", "n", "retrain band",
               "original", "powered", "band from", "reason"]
    rows = [c.cells(columns, unknown="-") for c in check_rows(verdicts)]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 height=36 * (len(rows) + 1) + 4)
    pick = st.selectbox("Draw the checks of", [v.method for v in res.verdicts],
                        key="verdict_method")
    chosen = next(v for v in res.verdicts if v.method == pick)
    st.plotly_chart(verdict_figure(chosen), key=f"verdict_chart_{pick}")
    st.caption("Grey: where genuine retrains land (the band of "
               f"{res.ensembles[0].k if res.ensembles else 0} retrains with other seeds, "
               "widened by sampling error); dot and whiskers: the method's figure and its "
               "interval; cross: the untouched original. pass = in the band; fail = outside "
               "beyond sampling error; uncertain = outside, interval reaches in; no power = the "
               "original lands in the band too, so the check cannot tell doing nothing from "
               "retraining (it still fails a model that forgot more than retraining would). "
               "A verdict passes only when a powered check passes and none fails. "
               "Fixed limits: `--threshold check=value` on the command line.")
else:
    st.info("No verdict recorded for this audit.")
