"""The audit page's relevance panel: maps (images) or bars (tabular) before, after, retrain and
their differences, from ``unlearn_core.analysis.relevance``.

Computed maps are cached in ``st.session_state["rel_maps"]`` under the audit they explain (the
run object itself, compared by identity) and the choices that made them, so an audit never
shows the maps of another one, e.g. after a data-set switch or a new audit."""

from __future__ import annotations

from typing import Any

import streamlit as st

from pages.shared import lacks_models
from unlearn_core.analysis.relevance import ATTRIBUTIONS, class_relevance, sample_relevance
from unlearn_core.charts.audit import relevance_caption, relevance_figure

ATTRIBUTION_NAMES = {"ig": "Integrated Gradients", "shap": "SHAP (expected gradients)",
                     "saliency": "Saliency", "lrp": "LRP (epsilon rule)"}


def maps_key(run: Any, method: str, attribution: str, scope: str,
             sample: int | None) -> tuple:
    """The cache key of one set of maps: the audit's identity and every choice behind them."""
    return (id(run), method, attribution, scope, sample if scope == "sample" else None)


def cached_maps(run: Any, key: tuple):
    """The maps cached under ``key`` for this very run, or None (stale entries are dropped)."""
    cache = st.session_state.setdefault("rel_maps", {})
    live = {id(r) for r in st.session_state["ws"].runs} if "ws" in st.session_state else set()
    for k in [k for k, (r, _) in cache.items() if id(r) not in live]:
        del cache[k]  # audits no longer in the session
    hit = cache.get(key)
    return hit[1] if hit is not None and hit[0] is run else None


def show_relevance(run, colors: dict) -> None:
    """The relevance panel of one audit: choices, a compute button and the cached figure."""
    res = run.result
    methods = [e.name for e in res.methods]
    if not methods:
        st.info("No method ran, so there is nothing to compare.")
        return
    ds = run.data.dataset
    c1, c2, c3 = st.columns(3)
    method = c1.selectbox("Method", methods, key="rel_method")
    if lacks_models(run, ["baseline", method, res.retrain.name], "Relevance maps"):
        return
    attribution = c2.selectbox("Attribution", ATTRIBUTIONS, key="rel_attr",
                               format_func=ATTRIBUTION_NAMES.get)
    scopes = [f"class:{c}" for c in res.forget_classes] + ["sample"]
    scope = c3.selectbox("Explain", scopes, key="rel_scope", format_func=lambda s: (
        f"mean over test samples of class {ds.class_names[int(s[6:])]}" if s.startswith("class")
        else "one forget sample (click one above, or the first)"))
    forget_ids = set(res.forget_ids.tolist())
    open_sample = st.session_state["ws"].open_sample
    sid = open_sample if open_sample in forget_ids else int(res.forget_ids[0])
    key = maps_key(run, method, attribution, scope, sid)
    if st.button("Compute relevance maps", key="rel_go"):
        with st.spinner("Attributing..."):
            if scope.startswith("class:"):
                maps = class_relevance(run, int(scope[6:]), method, attribution, seed=0)
            else:
                maps = sample_relevance(run, sid, method, attribution, seed=0)
        st.session_state.setdefault("rel_maps", {})[key] = (run, maps)
    maps = cached_maps(run, key)
    if maps is None:
        st.caption("Press **Compute relevance maps** to explain this audit's models.")
        return
    target = ds.class_names[maps.target] if 0 <= maps.target < len(ds.class_names) \
        else str(maps.target)
    st.markdown(f"**{maps.title}**, explained for class {target} "
                f"({ATTRIBUTION_NAMES.get(maps.attribution, maps.attribution)})")
    image = ds.kind == "image"
    st.plotly_chart(relevance_figure(maps, image, colors, maps.method, ds.feature_names),
                    key="rel_fig")
    st.caption(relevance_caption(image))
