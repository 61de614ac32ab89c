"""Language models: audit the unlearning of facts from a small causal LM (the text track).

Pick people to forget in a searchable table, pick methods, run them beside retraining, then
read the metric table and verdict, the completions side by side and each answer's per-token
loss as coloured text before / after / retrain (the text analogue of relevance maps)."""

import html
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from pages.shared import progress_bar, show_error
from unlearn_core.errors import UnlearnError
from unlearn_core.text.audit import TextAuditConfig, TextMethodSpec, load_items, run_text_audit
from unlearn_core.text.cli import result_table, verdict_lines
from unlearn_core.text.facts import FactSetConfig
from unlearn_core.text.lm import LMTrainConfig
from unlearn_core.text.methods import TEXT_METHODS
from unlearn_core.text.metrics import answer_token_losses

st.title("Language models")
st.caption("A TOFU-style fictitious fact set (or your JSONL/CSV) and a tiny GPT-2 trained from "
           "scratch (or your model folder); forget people, compare every method with "
           "retraining.")

source = st.radio("Data", ["Built-in fact set", "Your data"], horizontal=True,
                  key="text_source")
c1, c2, c3, c4 = st.columns(4)
seed = int(c1.number_input("Seed", 0, 10_000, 0, key="text_seed"))
epochs = int(c2.number_input("Training epochs", 1, 500, 40, key="text_epochs"))
people = int(c3.number_input("People", 4, 400, 40, key="text_people",
                             disabled=source != "Built-in fact set"))
attributes = int(c4.number_input("Facts per person", 1, 6, 6, key="text_attributes",
                                 disabled=source != "Built-in fact set"))
data_path = model_path = None
if source == "Your data":
    upload = st.file_uploader("Question/answer pairs or documents (.jsonl, .csv): id, "
                              "question, answer (or text), optional group, split, "
                              "perturbed_answers", type=["jsonl", "csv"], key="text_upload")
    model_path = st.text_input("Model folder on this machine (optional: config.json, "
                               "*.safetensors, tokenizer.json)", key="text_model_path") or None
    if upload is not None:
        folder = Path(tempfile.mkdtemp(prefix="text-upload-"))
        data_path = str(folder / Path(upload.name).name)
        Path(data_path).write_bytes(upload.getvalue())

cfg = TextAuditConfig(seed=seed, data_path=data_path, model_path=model_path,
                      facts=FactSetConfig(n_people=people, n_holdout=max(4, people // 5),
                                          n_attributes=attributes),
                      train=LMTrainConfig(epochs=epochs))
try:
    if source == "Your data" and data_path is None:
        st.info("Upload a .jsonl or .csv file to continue.")
        st.stop()
    items = load_items(cfg)
except UnlearnError as err:
    show_error(err)
    st.stop()

st.subheader("Forget set")
train = [it for it in items if it.split == "train"]
groups = pd.DataFrame({"group": list(dict.fromkeys(it.group for it in train))})
facts = {g: [it for it in train if it.group == g] for g in groups["group"]}
groups["facts"] = [len(facts[g]) for g in groups["group"]]
groups["example"] = [facts[g][0].answer for g in groups["group"]]
query = st.text_input("Search people, values or answers", key="text_search")
shown = groups
if query:
    q = query.lower()
    shown = groups[[any(q in it.answer.lower() or q in g.lower() for it in facts[g])
                    for g in groups["group"]]]
picked = st.dataframe(shown, key="text_table", on_select="rerun", selection_mode="multi-row",
                      hide_index=True, width="stretch")
from_table = [shown["group"].iloc[i] for i in picked.selection.rows] if picked else []
chosen = st.multiselect("People to forget", list(groups["group"]), default=from_table,
                        key="text_forget")
st.caption(f"{len(chosen)} people, {sum(len(facts[g]) for g in chosen)} facts selected")

st.subheader("Methods")
names = [n for n in sorted(TEXT_METHODS) if n != "retrain"]
methods = st.multiselect("Run beside retraining", names,
                         default=["gradient_difference", "npo"], key="text_methods",
                         help="; ".join(f"{n}: {TEXT_METHODS[n].paper}" for n in names))
if st.button("Run text audit", key="text_go", type="primary", disabled=not chosen):
    cfg.forget = "group:" + ",".join(chosen)
    cfg.methods = [TextMethodSpec(m) for m in methods]
    progress, bar = progress_bar("Training")
    try:
        st.session_state["text_run"] = run_text_audit(cfg, progress)
    except UnlearnError as err:
        show_error(err)
    finally:
        bar.empty()

run = st.session_state.get("text_run")
if run is None:
    st.stop()
result = run.result
st.subheader("Audit")
st.code(result_table(result), language=None)
for line in verdict_lines(result):
    (st.success if "pass" in line and "fail" not in line else st.warning)(line)

by_id = {it.id: it for it in run.items}
forget_items = [by_id[i] for i in result.forget_ids]
evals = [result.original, result.retrain, *result.methods]
st.subheader("Completions on the forget set")
table = pd.DataFrame({"question": [it.question for it in forget_items],
                      "answer": [it.answer for it in forget_items],
                      **{ev.name: ev.forget.completions for ev in evals}})
st.dataframe(table, hide_index=True, key="text_completions")

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


rows = []
for ev in evals:
    losses = answer_token_losses(run.models[ev.name], by_id[pick])
    rows.append(f"<div style='margin: 4px 0'><b>{html.escape(ev.name)}</b>: "
                f"{coloured(losses)}</div>")
st.markdown("".join(rows), unsafe_allow_html=True)
st.caption("Darker = higher loss (less expected by the model). A model that forgot the fact "
           "shows the value token dark, as the retrained one does.")
