"""The audit page's inversion panel: what an attacker holding the model before and after
unlearning reconstructs of the forgotten data, next to the forget set's mean image. The
reconstructions come from ``unlearn_core.scenarios.checks.feature_inversions``."""

import streamlit as st

from pages.shared import lacks_models
from unlearn_core.errors import UnlearnError
from unlearn_core.scenarios.checks import feature_inversions
from unlearn_core.scenarios.inversion import display_image

TITLES = {"gradient": "from the parameter difference", "output": "from the probability drop"}


def show_inversion(run, run_index: int) -> None:
    res = run.result
    st.markdown("**Unlearning inversion: what the two models reveal of the forgotten data**")
    if lacks_models(run, ["baseline", *(e.name for e in res.methods)], "The inversion"):
        return
    method = st.selectbox("Method to invert", [e.name for e in res.methods], key="inv_method")
    cache = st.session_state.setdefault("inv_cache", {})
    key = (run_index, id(run), method)
    if key not in cache:
        with st.spinner("Reconstructing..."):
            try:
                cache[key] = feature_inversions(run, [method]).get(method, [])
            except UnlearnError as err:
                st.error(str(err))
                return
    recs = cache[key]
    sim = next((r.similarity for r in recs if r.similarity is not None), None)
    cols = st.columns(1 + len(recs))
    if sim is not None:
        cols[0].image(display_image(sim.forget_mean), width=120, caption="forget-set mean")
    for col, r in zip(cols[1:], recs):
        if r.nothing_to_invert:
            col.info(f"{TITLES[r.mode]}: {r.reason}")
            continue
        s = r.similarity
        note = "" if s is None else (
            f" · r = {s.forget_correlation:.2f} with the forget set · closest class mean "
            f"{res.class_names[s.closest_class]} · {s.rank} other classes closer")
        col.image(display_image(r.image), width=120, caption=f"{TITLES[r.mode]}{note}")
    st.caption("An attacker with both models reconstructs inputs of the forgotten class "
               "(Hu et al., S&P 2024): by matching the loss gradient of dummy inputs to the "
               "parameter difference, or by finding inputs whose class probability dropped "
               "most. r: correlation with the forget set's mean image. The closer to it (and "
               "not to the other classes' means), the more releasing both models leaks. "
               "Contrast-stretched.")
