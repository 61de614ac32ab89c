"""Language models: audit the unlearning of facts from a small causal LM (the text track).

Train (or load) the model once (cached: ``st.cache_resource`` here, safetensors on disk in
``unlearn_core.text.cache``), pick people or single facts to forget by clicking on the 2-D map
of the model's embeddings of every trained item or in the searchable table, pick methods, run
them beside the retrain ensemble, then read the verdict per method (headline first), the judged
checks, the metric table, the completions side by side and each answer's per-token loss as
coloured text before / after / retrain (the text analogue of relevance maps)."""

import dataclasses
import hashlib
import html
import json
import tempfile
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pages.shared import progress_bar, show_error, through_app
from unlearn_core.checks.judge import FAIL, PASS, fmt
from unlearn_core.cli.text import result_table, verdict_lines
from unlearn_core.errors import UnlearnError
from unlearn_core.report.build import signoff_record
from unlearn_core.report.exports import text_pdf_export
from unlearn_core.report.text import build_text_json_report, render_text_html
from unlearn_core.text.audit import (
    TextAuditConfig,
    TextMethodSpec,
    base_train_seconds,
    estimate_text_audit,
    load_items,
    run_text_audit,
    trained_base,
    trained_items,
)
from unlearn_core.text.embed import item_map
from unlearn_core.text.facts import FactSetConfig
from unlearn_core.text.lm import LMTrainConfig
from unlearn_core.text.methods import TEXT_METHODS
from unlearn_core.text.metrics import answer_token_losses
from unlearn_core.verify.text_track import config_from_dict


@st.cache_resource(show_spinner=False, max_entries=4)
def trained_original(cfg_json: str):
    """The original model for these settings (trained once per process, and from the disk
    cache across processes) and its 2-D embedding map of every trained item."""
    cfg = config_from_dict(json.loads(cfg_json))
    items = load_items(cfg)
    lm, cached = trained_base(cfg, items, trained_items(items))
    train = [it for it in items if it.split == "train"]
    return lm, cached, [it.id for it in train], item_map(lm, train, "pca", cfg.seed)


@st.cache_data(show_spinner=False, max_entries=8)
def original_seconds(cfg_json: str) -> float | None:
    """The original's recorded training time (the model cache's), for the audit's estimate."""
    cfg = config_from_dict(json.loads(cfg_json))
    return base_train_seconds(cfg, load_items(cfg))


def model_key(cfg: TextAuditConfig) -> str:
    """What the original model depends on (not the forget set, methods or retrains)."""
    d = dataclasses.asdict(dataclasses.replace(cfg, forget="", methods=[], retrain_seeds=1))
    return json.dumps(d, sort_keys=True, default=str)


through_app()  # opened by its own address before the app ran: through app.py first
st.title("Language models")
st.caption("A TOFU-style fictitious fact set (or your JSONL/CSV) and a tiny GPT-2 trained from "
           "scratch (or your model folder); forget people or facts, compare every method with "
           "retraining.")

source = st.radio("Data", ["Built-in fact set", "Your data"], horizontal=True,
                  key="text_source")
c1, c2, c3, c4, c5 = st.columns(5)
seed = int(c1.number_input("Seed", 0, 10_000, 0, key="text_seed"))
epochs = int(c2.number_input("Training epochs", 1, 500, 40, key="text_epochs"))
people = int(c3.number_input("People", 4, 400, 40, key="text_people",
                             disabled=source != "Built-in fact set"))
attributes = int(c4.number_input("Facts per person", 1, 6, 6, key="text_attributes",
                                 disabled=source != "Built-in fact set"))
retrains = int(c5.number_input("Reference retrains", 2, 20, 5, key="text_retrains",
                               help="K models retrained from scratch without the forget set "
                                    "(seeds seed..seed+K-1, cached): their spread gives each "
                                    "check's band"))
data_path = model_path = None
if source == "Your data":
    upload = st.file_uploader("Question/answer pairs or documents (.jsonl, .csv): id, "
                              "question, answer (or text), optional group, split, "
                              "perturbed_answers", type=["jsonl", "csv"], key="text_upload")
    model_path = st.text_input("Model folder on this machine (optional: config.json, "
                               "*.safetensors, tokenizer.json)", key="text_model_path") or None
    if upload is not None:
        content = upload.getvalue()
        # one folder per content, so a rerun names the same file (and hits the caches)
        folder = Path(tempfile.gettempdir()) / \
            f"text-upload-{hashlib.sha256(content).hexdigest()[:16]}"
        folder.mkdir(exist_ok=True)
        data_path = str(folder / Path(upload.name).name)
        Path(data_path).write_bytes(content)

cfg = TextAuditConfig(seed=seed, data_path=data_path, model_path=model_path,
                      facts=FactSetConfig(n_people=people, n_holdout=max(4, people // 5),
                                          n_attributes=attributes),
                      train=LMTrainConfig(epochs=epochs), retrain_seeds=retrains)
try:
    if source == "Your data" and data_path is None:
        st.info("Upload a .jsonl or .csv file to continue.")
        st.stop()
    items = load_items(cfg)
except UnlearnError as err:
    show_error(err)
    st.stop()

key = model_key(cfg)
trained = st.session_state.get("text_trained_key") == key
label = "Use this model" if model_path else "Train the model"
if not trained and st.button(label, key="text_train", type="primary"):
    with st.spinner("Training the model (cached: a second time is instant)..."):
        try:
            trained_original(key)
            st.session_state["text_trained_key"] = key
            trained = True
        except UnlearnError as err:
            show_error(err)
if trained:
    lm, was_cached, map_ids, xy = trained_original(key)
    st.caption(f"Model ready ({'from the cache' if was_cached else 'trained'}; "
               f"{sum(p.numel() for p in lm.model.parameters()):,} weights).")

st.subheader("Forget set")
train = [it for it in items if it.split == "train"]
by_id = {it.id: it for it in train}
groups = list(dict.fromkeys(it.group for it in train))
facts = {g: [it for it in train if it.group == g] for g in groups}
unit = st.radio("Forget", ["People", "Single facts"], horizontal=True, key="text_unit")
pick_key = "text_forget" if unit == "People" else "text_forget_facts"
st.session_state.setdefault("text_forget", [])
st.session_state.setdefault("text_forget_facts", [])
seen = st.session_state.setdefault("text_seen_selections", set())


def take(values: list[str], where: str) -> None:
    """Add picked people or facts (each selection once: reruns repeat the same event)."""
    signature = (where, unit, tuple(values))
    if not values or signature in seen:
        return
    seen.add(signature)
    current = st.session_state[pick_key]
    st.session_state[pick_key] = current + [v for v in dict.fromkeys(values) if v not in current]


def map_points(event) -> list[list[str]]:
    selection = event.get("selection") if isinstance(event, dict) else \
        getattr(event, "selection", None)
    points = selection.get("points") if isinstance(selection, dict) else \
        getattr(selection, "points", None)
    return [p.get("customdata") for p in points or [] if p.get("customdata")]


def map_widget_key() -> str:
    """The map's widget key after taking in the last map's selection; each selection gets a
    fresh map (as on the classifier forget page), so no click is lost."""
    n = st.session_state.setdefault("text_map_round", 0)
    points = map_points(st.session_state.get(f"text_map_{n}"))
    if points:
        take([p[1] if unit == "People" else p[0] for p in points], f"map-{n}")
        n = st.session_state["text_map_round"] = n + 1
    return f"text_map_{n}"


tab_map, tab_table = st.tabs(["Embedding map", "Table"])
with tab_map:
    if not trained:
        st.info("Train the model to see its embedding map of every trained fact.")
    else:
        widget_key = map_widget_key()
        chosen_now = set(st.session_state[pick_key])
        fig = go.Figure()
        attrs = list(dict.fromkeys(by_id[i].attribute or "item" for i in map_ids))
        for attr in attrs:
            idx = [k for k, i in enumerate(map_ids) if (by_id[i].attribute or "item") == attr]
            fig.add_trace(go.Scatter(
                x=xy[idx, 0], y=xy[idx, 1], mode="markers", name=attr,
                customdata=[[map_ids[k], by_id[map_ids[k]].group] for k in idx],
                hovertemplate="%{customdata[0]}<extra>" + attr + "</extra>",
                marker=dict(size=7, opacity=0.75)))
        ring = [k for k, i in enumerate(map_ids)
                if (by_id[i].group if unit == "People" else i) in chosen_now]
        if ring:
            fig.add_trace(go.Scatter(
                x=xy[ring, 0], y=xy[ring, 1], mode="markers", name=f"selected ({len(ring)})",
                hoverinfo="skip", marker=dict(symbol="circle-open", size=14, color="#111827",
                                              line=dict(width=3, color="#111827"))))
        fig.update_layout(height=460, margin=dict(t=10, b=10), dragmode="pan",
                          legend=dict(title="fact"), xaxis_title="PCA 1", yaxis_title="PCA 2")
        st.plotly_chart(fig, on_select="rerun", selection_mode=("points", "box", "lasso"),
                        key=widget_key)
        st.caption("Each point is one trained fact (the model's mean hidden state over the "
                   "question and answer). Click a point to add "
                   + ("its person" if unit == "People" else "that fact")
                   + "; use the toolbar's box or lasso to add many. Selected: bold ring.")
with tab_table:
    query = st.text_input("Search people, values or answers", key="text_search")
    q = query.lower()
    if unit == "People":
        table = pd.DataFrame({"group": groups, "facts": [len(facts[g]) for g in groups],
                              "example": [facts[g][0].answer for g in groups]})
        if q:
            table = table[[any(q in it.answer.lower() or q in g.lower() for it in facts[g])
                           for g in groups]]
    else:
        table = pd.DataFrame({"id": [it.id for it in train], "group": [it.group for it in train],
                              "answer": [it.answer for it in train]})
        if q:
            table = table[[q in a.lower() or q in i.lower()
                           for a, i in zip(table["answer"], table["id"])]]
    picked = st.dataframe(table, key=f"text_table_{unit}", on_select="rerun",
                          selection_mode="multi-row", hide_index=True, width="stretch")
    rows = picked.selection.rows if picked else []
    take([table.iloc[i, 0] for i in rows], "table")

options = groups if unit == "People" else [it.id for it in train]
chosen = st.multiselect("People to forget" if unit == "People" else "Facts to forget", options,
                        key=pick_key)
n_facts = sum(len(facts[g]) for g in chosen) if unit == "People" else len(chosen)
st.caption(f"{len(chosen)} {'people' if unit == 'People' else 'facts'}, {n_facts} facts "
           "selected")

st.subheader("Methods")
names = [n for n in sorted(TEXT_METHODS) if n != "retrain"]
methods = st.multiselect("Run beside retraining", names,
                         default=[n for n in ("gradient_difference", "npo") if n in names],
                         key="text_methods",
                         help="; ".join(f"{n}: {TEXT_METHODS[n].paper}"
                                        + "".join(f" (departs: {d})"
                                                  for d in TEXT_METHODS[n].departures)
                                        for n in names))
seconds = original_seconds(key) if trained and chosen else None
if seconds:  # what the run will train, said before it starts (the user's folder: no record)
    n_trained = len(trained_items(items))
    st.caption(estimate_text_audit(seconds, n_trained, n_trained - n_facts, cfg.retrain_seeds,
                                   cfg.extend_references)[1], help="Each retrain trains the "
               "original's recipe on the kept items, so it takes the original's time scaled by "
               "their share. The sequential rule trains more retrains only when a verdict is "
               "borderline (a pass near its band's edge, or uncertain).")
if st.button("Run text audit", key="text_go", type="primary", disabled=not chosen):
    cfg.forget = ("group:" if unit == "People" else "ids:") + ",".join(chosen)
    cfg.methods = [TextMethodSpec(m) for m in methods]
    progress, bar = progress_bar("Training")
    try:
        run = run_text_audit(cfg, progress)
        st.session_state["text_run"] = run
        st.session_state["text_run_date"] = signoff_record()["date"]  # the sign-off's date
    except UnlearnError as err:
        show_error(err)
    finally:
        bar.empty()

run = st.session_state.get("text_run")
if run is None:
    st.stop()
result = run.result
st.subheader("Verdict")
for v in result.verdicts:
    box = {PASS: st.success, FAIL: st.error}.get(v.status, st.warning)
    box(f"**{v.method}: {v.headline}**  \n{v.reason}")
for line in verdict_lines(result):
    if line.startswith("warning:"):
        st.warning(line)
    elif line.startswith("note:"):  # the sequential rule trained more retrains: why
        st.info(line.removeprefix("note: "), icon=":material/add_circle:")
checks = pd.DataFrame([{"method": v.method, "check": c.title, "status": c.status,
                        "figure": fmt(c.figure, c.unit),
                        "interval": f"{fmt(c.ci_low, c.unit)} to {fmt(c.ci_high, c.unit)}",
                        "retrain band": f"{fmt(c.band_low, c.unit)} to "
                                        f"{fmt(c.band_high, c.unit)}",
                        "original": fmt(c.control, c.unit),
                        "powered": {True: "yes", False: "no", None: "–"}[c.powered],
                        "reason": c.reason} for v in result.verdicts for c in v.checks])
st.dataframe(checks, hide_index=True, key="text_checks")
auditor = st.text_input("Auditor (who signs the report)", key="text_auditor")
payload = build_text_json_report(result, signoff=signoff_record(
    None, auditor or None, date=st.session_state.get("text_run_date")))
st.session_state["text_report"] = payload  # what the downloads hold
d1, d2, d3 = st.columns(3)
d1.download_button("Download JSON report", json.dumps(payload, indent=1),
                   file_name="text_report.json", mime="application/json", key="text_dl_json")
d2.download_button("Download HTML report", render_text_html(payload),
                   file_name="text_report.html", mime="text/html", key="text_dl_html")
if d3.button("Build PDF", key="text_pdf_go", icon=":material/picture_as_pdf:"):
    try:
        with st.spinner("Printing the report with chromium..."):
            st.session_state["text_pdf"] = (payload["content_sha256"], text_pdf_export(payload))
    except UnlearnError as err:
        show_error(err)
built = st.session_state.get("text_pdf")
if built and built[0] == payload["content_sha256"]:  # this audit and sign-off, never another's
    d3.download_button("Download PDF report", built[1], file_name="text_report.pdf",
                       mime="application/pdf", key="text_dl_pdf")

st.subheader("Metrics")
st.code(result_table(result), language=None)

run_items = {it.id: it for it in run.items}
forget_items = [run_items[i] for i in result.forget_ids]
evals = [result.original, result.retrain, *result.methods]
st.subheader("Completions on the forget set")
completions = pd.DataFrame({"question": [it.question for it in forget_items],
                            "answer": [it.answer for it in forget_items],
                            **{ev.name: ev.forget.completions for ev in evals}})
st.dataframe(completions, hide_index=True, key="text_completions")

st.subheader("Per-token loss")
pick = st.selectbox("Fact", [it.id for it in forget_items], key="text_token_item")


def coloured(tokens: list[tuple[str, float]]) -> str:
    """Tokens shaded by NLL: white at 0, full red at 6 nats and above."""
    spans = []
    for text, nll in tokens:
        alpha = min(1.0, max(0.0, nll / 6.0))
        spans.append(f"<span title='{nll:.2f} nats' style='background: rgba(220,40,40,"
                     f"{alpha:.2f}); padding: 1px 3px; border-radius: 3px'>"
                     f"{html.escape(text)}</span>")
    return " ".join(spans)


shaded = []
for ev in evals:
    losses = answer_token_losses(run.models[ev.name], run_items[pick])
    shaded.append(f"<div style='margin: 4px 0'><b>{html.escape(ev.name)}</b>: "
                  f"{coloured(losses)}</div>")
st.markdown("".join(shaded), unsafe_allow_html=True)
st.caption("Darker = higher loss (less expected by the model). A model that forgot the fact "
           "shows the value token dark, as the retrained one does.")
