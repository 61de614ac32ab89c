"""The audit page's relevance panel: maps (images) or bars (tabular) before, after, retrain and
their differences, from ``unlearn_core.relevance``."""

import streamlit as st

from unlearn_core.charts import relevance_figure
from unlearn_core.relevance import ATTRIBUTIONS, class_relevance, sample_relevance


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
                                            "(expected gradients)", "saliency": "Saliency",
                                            "lrp": "LRP (epsilon rule)"}.get)
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
        st.plotly_chart(relevance_figure(maps, ds.kind == "image", colors, m), key="rel_fig")
        st.caption("Red: evidence for the class, blue: against. After good forgetting of a "
                   "class, the method's map loses the evidence the original used, like the "
                   "retrained model's map.")
