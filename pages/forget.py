"""Forget set: point at samples on the embedding map, tick images, take classes or cells."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from pages.shared import (
    METHOD_COLORS,
    image_of,
    need_setup,
    point_id,
    show_error,
    through_app,
    workspace,
)
from unlearn_core.analysis.difficulty import forget_difficulty, train_embeddings
from unlearn_core.analysis.embedding_map import project
from unlearn_core.analysis.prediction_matrix import pair_counts
from unlearn_core.data.forget import resolve_forget
from unlearn_core.data.selection import parse_id_list
from unlearn_core.errors import UnlearnError
from unlearn_core.metrics import predictions
from unlearn_core.models import embed

MAP_POINTS = 3000  # points drawn on the map; larger training sets are subsampled (seeded)

through_app()  # opened by its own address before the app ran: app.py first
st.title("Forget set")
if need_setup():
    st.stop()
ws = workspace()
ds, sp, sel = ws.dataset, ws.splits, ws.selection
train_ids = ds.ids[sp.train]


def add(ids, what: str) -> None:
    n = sel.add_ids(ids)
    if n:
        st.toast(f"Added {n} sample(s) from {what}")


def selected_points(event) -> list:
    """The points of a plotly chart's selection event or session-state value."""
    selection = event.get("selection") if isinstance(event, dict) else \
        getattr(event, "selection", None)
    points = selection.get("points") if isinstance(selection, dict) else \
        getattr(selection, "points", None)
    return list(points or [])


def consume(event, key: str, what: str) -> bool:
    """Add the points of a new plotly selection once (reruns repeat the same event); True
    when the event held a selection."""
    ids = sorted({i for i in map(point_id, selected_points(event)) if i is not None})
    signature = (key, tuple(ids))
    if ids and signature not in ws.seen_selections:
        ws.seen_selections.add(signature)
        add(ids, what)
    return bool(ids)


def map_widget_key() -> str:
    """The embedding map's widget key, after taking in the last map's selection.

    Each selection is read from the previous map's state *before* the map is drawn, and the
    map then gets a fresh key: a map that kept its selection would answer the next click with
    an empty selection (Streamlit resets it when the figure changes), so every second click
    was lost. A fresh map also never fades the unselected points."""
    n = st.session_state.setdefault("forget_map_round", 0)
    if consume(st.session_state.get(f"forget_map_{n}"), f"map-{n}", "the map"):
        n = st.session_state["forget_map_round"] = n + 1
    return f"forget_map_{n}"


def show_difficulty(fs) -> None:
    """The set's difficulty before unlearning (Zhao et al., NeurIPS 2024): entanglement with
    the retained samples and memorisation, read in plain words, with the methods that tend to
    serve such a set. Cached per setup and forget set."""
    st.subheader("How hard is this set to unlearn?")
    cache = st.session_state.setdefault("difficulty_cache", {})
    key = (ws.source, ws.arch, ws.seed, id(ws.baseline), fs.fingerprint())
    emb = st.session_state.setdefault("difficulty_embeddings", {})
    base_key = key[:4]
    try:
        if key not in cache:
            if base_key not in emb:  # the training split's embeddings: once per baseline
                emb.clear()
                emb[base_key] = train_embeddings(ws.baseline, ds, sp)
            cache.clear()  # one set at a time: the current one
            cache[key] = forget_difficulty(ws.baseline, ds, sp, fs, ws.seed,
                                           embeddings=emb[base_key])
    except UnlearnError as err:
        show_error(err)
        return
    d = cache[key]
    c1, c2 = st.columns(2)
    c1.metric("Entanglement", f"{d.entanglement_level}", f"ES {d.entanglement:.3g}",
              delta_color="off", help="Entanglement score (Zhao et al. 2024): the spread of "
              "the forget and retain embeddings over the distance of their centres. A random "
              f"sample of this size scores {d.entanglement_random:.3g}; this set is "
              f"{d.entanglement_ratio:.2f} of that.")
    c2.metric("Memorisation", f"{d.memorisation_level}", f"mean {d.memorisation_mean:.2f}",
              delta_color="off", help="Per sample: the baseline's confidence in its label minus "
              f"the share of its {d.k} nearest training neighbours with that label (a C-score "
              "proxy, Jiang et al. 2021). 0: typical; 1: fitted against its neighbours. Retained "
              f"samples average {d.memorisation_retain:.2f}.")
    st.markdown(d.reading())
    st.markdown("**Methods that tend to serve such a set**\n" +
                "\n".join(f"- {s}" for s in d.suggestions))
    st.caption(f"{100 * d.high_memorisation_share:.0f}% of the set scores above 0.5 "
               "(memorised). Measured on the baseline before unlearning; findings of Zhao et "
               "al., \"What makes unlearning hard and what to do about it\", NeurIPS 2024.")


left, right = st.columns([3, 2], gap="large")
with left:
    tabs = st.tabs(["Embedding map", "Image grid", "Classes", "Confusion cells", "Ids",
                    "Random"])
    with tabs[0]:
        c_proj, c_tool = st.columns(2)
        method = c_proj.radio("Projection", ["pca", "tsne"], horizontal=True, key="map_method",
                              format_func={"pca": "PCA (instant)", "tsne": "t-SNE (seconds)"}.get)
        tool = c_tool.radio("Select by", ["click", "box", "lasso"], horizontal=True,
                            key="map_tool", help="click: one point at a time; box or lasso: "
                                                 "drag over the map to take many")
        cache = st.session_state.setdefault("map_cache", {})
        key = (ws.source, ws.arch, ws.seed, method)
        note = st.empty()  # always present, so the chart keeps its place between reruns
        if key not in cache:
            rng = np.random.default_rng(ws.seed)
            pos = sp.train if len(sp.train) <= MAP_POINTS else np.sort(
                rng.choice(sp.train, MAP_POINTS, replace=False))
            note.caption(f"Projecting the model's embeddings ({method})...")
            cache[key] = (pos, project(embed(ws.baseline, ds.X[pos]), method, ws.seed))
        note.empty()
        pos, xy = cache[key]
        widget_key = map_widget_key()  # takes in the last click first, so rings are current
        chosen = np.isin(ds.ids[pos], list(sel.ids)) | np.isin(ds.y[pos], sel.classes)
        fig = go.Figure()
        for c, cname in enumerate(ds.class_names):
            m = ds.y[pos] == c
            fig.add_trace(go.Scatter(
                x=xy[m, 0], y=xy[m, 1], mode="markers", name=cname,
                customdata=ds.ids[pos][m][:, None],
                hovertemplate="id %{customdata[0]}<extra>class " + cname + "</extra>",
                marker=dict(size=6, opacity=0.75)))
        if chosen.any():  # a bold ring over each selected point, drawn above the classes
            fig.add_trace(go.Scatter(
                x=xy[chosen, 0], y=xy[chosen, 1], mode="markers",
                name=f"selected ({int(chosen.sum())})", hoverinfo="skip",  # a decoration:
                # clicks pass through to the class points below (a ring must not swallow them)
                marker=dict(symbol="circle-open", size=13, color="#111827",
                            line=dict(width=3, color="#111827"))))
        fig.update_layout(height=520, margin=dict(t=10, b=10),
                          dragmode={"click": "pan", "box": "select", "lasso": "lasso"}[tool],
                          legend=dict(title="class"), xaxis_title=f"{method} 1",
                          yaxis_title=f"{method} 2")
        st.plotly_chart(fig, on_select="rerun", selection_mode=("points", "box", "lasso"),
                        key=widget_key)
        st.caption("Click a point to add it, or choose box / lasso and drag to add many. "
                   "Selected samples have a bold black ring. Points close together are samples "
                   "the model sees alike.")
    with tabs[1]:
        if ds.kind != "image":
            st.info("This dataset is tabular: use the map, classes or ids.")
        else:
            per_page = 48
            pages = max(1, (len(sp.train) + per_page - 1) // per_page)
            page = int(st.number_input("Page", 1, pages, 1, key="grid_page")) - 1
            pos_page = sp.train[page * per_page:(page + 1) * per_page]
            with st.form("grid_form"):
                cols = st.columns(8)
                for i, p in enumerate(pos_page):
                    with cols[i % 8]:
                        st.image(image_of(ds, p), width=56, clamp=True)
                        st.checkbox(f"{ds.ids[p]}", key=f"grid_{ds.ids[p]}",
                                    value=int(ds.ids[p]) in sel.ids)
                if st.form_submit_button("Apply ticks"):
                    ticked = [int(ds.ids[p]) for p in pos_page
                              if st.session_state.get(f"grid_{ds.ids[p]}")]
                    unticked = [int(ds.ids[p]) for p in pos_page
                                if not st.session_state.get(f"grid_{ds.ids[p]}")]
                    add(ticked, "the grid")
                    if set(unticked) & sel.ids:
                        sel.remove_ids(unticked)
    with tabs[2]:
        classes = st.multiselect("Whole classes to forget", range(ds.n_classes),
                                 format_func=lambda c: ds.class_names[c], key="forget_classes")
        if st.button("Forget these classes", key="forget_classes_go", disabled=not classes):
            sel.set_classes(classes)
        st.caption("Class forgetting: the model should stop recognising the class while keeping "
                   "the others. Some methods (lrp_path, unsir) serve class requests only.")
    with tabs[3]:
        pred = predictions(ws.baseline, ds.subset(sp.train))
        ytrain = ds.y[sp.train]
        cm = pair_counts(ytrain, pred, ds.n_classes)
        gx, gy = np.meshgrid(range(ds.n_classes), range(ds.n_classes))
        cells = go.Figure(go.Heatmap(z=cm, x=ds.class_names, y=ds.class_names, text=cm,
                                     texttemplate="%{text}", colorscale="Blues", showscale=False,
                                     customdata=(gy * ds.n_classes + gx)))
        cells.update_layout(height=420, xaxis_title="predicted", yaxis_title="true",
                            yaxis_autorange="reversed", margin=dict(t=10, b=10))
        cev = st.plotly_chart(cells, on_select="rerun", selection_mode=("points",),
                              key="forget_cells")
        pts = getattr(getattr(cev, "selection", None), "points", None) or []
        for p in pts:
            t = ds.class_names.index(str(p["y"]))
            q = ds.class_names.index(str(p["x"]))
            signature = ("cell", t, q)
            if signature not in ws.seen_selections:
                ws.seen_selections.add(signature)
                add(train_ids[(ytrain == t) & (pred == q)], f"cell true {t} / predicted {q}")
        st.caption("Training split. Click a cell to take its samples: off-diagonal cells are "
                   "the samples the model gets wrong (candidates for a mislabeled batch).")
    with tabs[4]:
        text = st.text_area("Paste sample ids (commas, spaces or lines)", key="forget_ids_text")
        file = st.file_uploader("...or upload a .txt/.csv of ids", type=["txt", "csv"],
                                key="forget_ids_file")
        if st.button("Add ids", key="forget_ids_go"):
            try:
                raw = text + "\n" + (file.getvalue().decode("utf-8", "replace") if file else "")
                ids = parse_id_list(raw)
                unknown = sorted(set(ids) - set(train_ids.tolist()))
                if unknown:
                    raise UnlearnError(f"{len(unknown)} id(s) are not training samples "
                                       f"(e.g. {unknown[0]}): only training samples can be "
                                       f"forgotten")
                add(ids, "the list")
            except UnlearnError as err:
                show_error(err)
    with tabs[5]:
        frac = st.slider("Share of the training set", 0.01, 0.5, 0.1, 0.01, key="forget_frac")
        if st.button("Forget a random share", key="forget_random_go"):
            sel.set_random(frac)
        st.caption(f"Drawn with the session seed ({ws.seed}); the same seed gives the same set.")

with right:
    st.subheader("Current forget set")
    try:
        fs = None if sel.is_empty else resolve_forget(ds, sp, sel.to_request(), ws.seed)
    except UnlearnError as err:
        fs = None
        show_error(err)
    n = 0 if fs is None else len(fs.forget)
    st.metric("Samples to forget", n, help=fs.description if fs else None)
    c1, c2 = st.columns(2)
    if c1.button("Undo", key="forget_undo", disabled=not sel.history, icon=":material/undo:"):
        sel.undo()
        st.rerun()
    if c2.button("Clear", key="forget_clear", disabled=sel.is_empty, icon=":material/delete:"):
        sel.clear()
        st.rerun()
    if fs is not None:
        counts = np.bincount(ds.y[fs.forget], minlength=ds.n_classes)
        bars = go.Figure(go.Bar(x=ds.class_names, y=counts, marker_color=METHOD_COLORS[0]))
        bars.update_layout(height=220, margin=dict(t=10, b=10), yaxis_title="samples",
                           xaxis=dict(type="category", title="class"))
        st.plotly_chart(bars, key="forget_bars")
        if ds.kind == "image":
            thumbs = st.columns(8)
            for i, p in enumerate(fs.forget[:16]):
                thumbs[i % 8].image(image_of(ds, p), width=40, clamp=True,
                                    caption=str(ds.ids[p]))
        if not fs.is_class_level:
            drop = st.text_input("Remove ids from the set", key="forget_remove")
            if st.button("Remove", key="forget_remove_go") and drop:
                try:
                    sel.remove_ids(parse_id_list(drop))
                    st.rerun()
                except UnlearnError as err:
                    show_error(err)
        show_difficulty(fs)
        st.page_link("pages/unlearn.py", label="Next: unlearn", icon=":material/arrow_forward:")
    else:
        st.caption("Nothing selected yet.")
