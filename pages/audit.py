"""Audit: before / after / retrain side by side: accuracy, membership inference, per-sample
shifts, relevance maps and the verdict."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pages.shared import color_for, image_of, need_setup, point_id, show_error, workspace
from unlearn_core.errors import UnlearnError
from unlearn_core.metrics import roc_points
from unlearn_core.models import predict_proba

st.title("Audit")
if need_setup():
    st.stop()
ws = workspace()
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
evals = res.evaluations()
methods = [e.name for e in res.methods]
colors = {e.name: color_for(e.name, methods) for e in evals}
for failure in res.failures:
    st.error(f"{failure.name} failed: {failure.message}")

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
    "speed-up": res.retrain.seconds / max(e.seconds, 1e-9) if e.role == "method" else None,
} for e in evals])
st.dataframe(table, hide_index=True, width="stretch",
             column_config={c: st.column_config.NumberColumn(format="%.2f")
                            for c in table.columns if c != "model"})
st.caption(f"Forget set: {res.forget_description} ({res.n_forget} samples). Good unlearning "
           "looks like the **retrain** row, not like the original.")

# --- accuracy bars --------------------------------------------------------------------------
st.subheader("Accuracy before / after / retrain")
fig = go.Figure()
splits = ["forget", "retain", "test"]
for e in evals:
    vals = [100 * getattr(e.accuracy, s) for s in splits]
    shift = [v - 100 * getattr(res.baseline.accuracy, s) for v, s in zip(vals, splits)]
    fig.add_trace(go.Bar(name=e.name, x=splits, y=vals, marker_color=colors[e.name],
                         text=[f"{v:.0f}" + ("" if e.role == "baseline" else f" ({d:+.0f})")
                               for v, d in zip(vals, shift)], textposition="outside"))
fig.update_layout(barmode="group", height=380, yaxis_title="accuracy %",
                  yaxis_range=[0, 115], margin=dict(t=10, b=10))
st.plotly_chart(fig, key="audit_acc")
st.caption("Shift against the original in brackets. Good: forget accuracy near the retrain "
           "bar; retain and test close to the original.")

st.subheader("Per-class test accuracy")
pc = go.Figure()
for e in evals:
    pc.add_trace(go.Bar(name=e.name, x=res.class_names, y=100 * e.accuracy.per_class_test,
                        marker_color=colors[e.name]))
pc.update_layout(barmode="group", height=320, yaxis_title="accuracy %", margin=dict(t=10, b=10))
st.plotly_chart(pc, key="audit_perclass")
st.caption("A forgotten class should drop to the retrain level; the others should not move.")

# --- membership inference -------------------------------------------------------------------
st.subheader("Membership inference")
c1, c2 = st.columns(2)
with c1:
    hist = go.Figure()
    for e in evals:
        hist.add_trace(go.Histogram(x=e.mia.forget_scores, name=f"{e.name} · forget",
                                    marker_color=colors[e.name], opacity=0.55, nbinsx=40,
                                    histnorm="probability"))
    hist.add_trace(go.Histogram(x=res.retrain.mia.test_scores, name="unseen (retrain)",
                                marker_color="#111827", opacity=0.35, nbinsx=40,
                                histnorm="probability"))
    hist.update_layout(barmode="overlay", height=340, xaxis_title=f"{res.config.mia_score} score "
                       "(higher = looks like a member)", margin=dict(t=10, b=10))
    st.plotly_chart(hist, key="audit_hist")
    st.caption("Forget-set scores of each model. Good: the method's distribution sits on the "
               "retrain one, which is what never-seen data looks like.")
with c2:
    roc = go.Figure()
    for e in evals:
        fpr, tpr = roc_points(e.mia.forget_scores, e.mia.test_scores)
        roc.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", line=dict(color=colors[e.name]),
                                 name=f"{e.name} (AUC {e.mia.auc_forget_vs_test:.2f})"))
    roc.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance",
                             line=dict(dash="dot", color="#9ca3af")))
    roc.update_layout(height=340, xaxis_title="false positive rate",
                      yaxis_title="true positive rate", margin=dict(t=10, b=10))
    st.plotly_chart(roc, key="audit_roc")
    st.caption("Attack telling forget samples from unseen ones. Good: the curve close to the "
               "retrain curve (AUC near the retrain AUC).")

# --- per-sample shifts ----------------------------------------------------------------------
st.subheader("Per-sample score shifts")
target = st.selectbox("Model", [e.name for e in evals if e.role != "baseline"],
                      key="audit_shift_model")
ev = next(e for e in evals if e.name == target)
ids = res.forget_ids
sc = go.Figure(go.Scatter(
    x=res.baseline.mia.forget_scores, y=ev.mia.forget_scores, mode="markers",
    customdata=ids[:, None], marker=dict(color=colors[target], size=7, opacity=0.7),
    hovertemplate="id %{customdata[0]}<br>before %{x:.3f}<br>after %{y:.3f}<extra></extra>"))
lo = float(min(sc.data[0].x.min(), sc.data[0].y.min())) if len(ids) else 0
sc.add_trace(go.Scatter(x=[lo, 0], y=[lo, 0], mode="lines", line=dict(dash="dot"),
                        name="no change", hoverinfo="skip"))
sc.update_layout(height=380, xaxis_title="score before", yaxis_title=f"score after {target}",
                 showlegend=False, margin=dict(t=10, b=10))
pick = st.plotly_chart(sc, on_select="rerun", selection_mode=("points",), key="audit_shift")
st.caption("Each forget sample: below the diagonal it looks less like a member after "
           "unlearning. Click a sample to open it.")
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
    for e in evals:
        p = predict_proba(run.models[e.name], ds.X[pos:pos + 1])[0]
        probs.add_trace(go.Bar(name=e.name, x=ds.class_names, y=p, marker_color=colors[e.name]))
    probs.update_layout(barmode="group", height=260, yaxis_title="probability",
                        margin=dict(t=10, b=10))
    cols[1].plotly_chart(probs, key="audit_sample_probs")

# --- relevance maps -------------------------------------------------------------------------
st.subheader("Relevance maps")
try:
    from pages.relevance_view import show_relevance

    from unlearn_core import relevance  # noqa: F401

    show_relevance(run, colors)
except ImportError:
    st.info("Relevance maps are not available in this installation.")
except UnlearnError as err:
    show_error(err)

# --- verdict --------------------------------------------------------------------------------
st.subheader("Verdict")
verdicts = getattr(res, "verdicts", None)
if verdicts:
    from pages.verdict_view import show_verdicts

    show_verdicts(verdicts)
else:
    st.info("No verdict recorded for this audit.")
