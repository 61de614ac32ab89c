"""The audit page's relevance panel: maps (images) or bars (tabular) before, after, retrain and
their differences, from ``unlearn_core.relevance``."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from unlearn_core.relevance import ATTRIBUTIONS, class_relevance, sample_relevance

PANELS = [("before", "original"), ("after", "after"), ("retrain", "retrain"),
          ("after_minus_before", "after − original"),
          ("retrain_minus_before", "retrain − original")]


def _figure(maps, image: bool, colors: dict, method: str) -> go.Figure:
    arrays = [np.asarray(getattr(maps, attr)) for attr, _ in PANELS]
    titles = [t.replace("after", method) for _, t in PANELS]
    fig = make_subplots(rows=1, cols=len(PANELS), subplot_titles=titles)
    if image:
        lim = float(max(np.abs(a).max() for a in arrays) or 1.0)
        for i, a in enumerate(arrays):
            img = a.sum(0) if a.ndim == 3 else a  # channels summed
            fig.add_trace(go.Heatmap(z=img, zmin=-lim, zmax=lim, colorscale="RdBu_r",
                                     showscale=i == len(arrays) - 1), 1, i + 1)
            fig.update_yaxes(autorange="reversed", showticklabels=False, row=1, col=i + 1)
            fig.update_xaxes(showticklabels=False, row=1, col=i + 1)
        fig.update_layout(height=260)
    else:
        role = ["baseline", method, "retrain", method, "retrain"]
        for i, a in enumerate(arrays):
            fig.add_trace(go.Bar(x=np.arange(a.size), y=a.ravel(), showlegend=False,
                                 marker_color=colors.get(role[i], "#444")), 1, i + 1)
        fig.update_layout(height=280)
    fig.update_layout(margin=dict(t=30, b=10, l=10, r=10))
    return fig


def show_relevance(run, colors: dict) -> None:
    res = run.result
    methods = [e.name for e in res.methods]
    if not methods:
        st.info("No method ran, so there is nothing to compare.")
        return
    c1, c2, c3 = st.columns(3)
    method = c1.selectbox("Method", methods, key="rel_method")
    attribution = c2.selectbox("Attribution", ATTRIBUTIONS, key="rel_attr",
                               format_func={"ig": "Integrated Gradients", "shap": "SHAP "
                                            "(expected gradients)", "saliency": "Saliency"}.get)
    ds = run.data.dataset
    scopes = []
    if res.forget_classes:
        scopes += [f"class:{c}" for c in res.forget_classes]
    scopes += ["sample"]
    scope = c3.selectbox("Explain", scopes, key="rel_scope", format_func=lambda s: (
        f"mean over test samples of class {ds.class_names[int(s[6:])]}" if s.startswith("class")
        else "one forget sample (click one above, or the first)"))
    if st.button("Compute relevance maps", key="rel_go"):
        with st.spinner("Attributing..."):
            if scope.startswith("class:"):
                maps = class_relevance(run, int(scope[6:]), method, attribution, seed=0)
            else:
                ws_sample = st.session_state["ws"].open_sample
                ids = set(res.forget_ids.tolist())
                sid = ws_sample if ws_sample in ids else int(res.forget_ids[0])
                maps = sample_relevance(run, sid, method, attribution, seed=0)
        st.session_state["rel_maps"] = (maps, method)
    if st.session_state.get("rel_maps"):
        maps, m = st.session_state["rel_maps"]
        st.markdown(f"**{maps.title}**, explained for class {ds.class_names[maps.target]} "
                    f"({maps.attribution})")
        st.plotly_chart(_figure(maps, ds.kind == "image", colors, m), key="rel_fig")
        st.caption("Red: evidence for the class, blue: against. After good forgetting of a "
                   "class, the method's map loses the evidence the original used, like the "
                   "retrained model's map.")
