"""Report: download the audit report (HTML, JSON, PDF) and browse earlier recorded runs."""

import contextlib

import pandas as pd
import streamlit as st

from pages.shared import (
    md,
    open_run,
    run_store,
    show_context,
    show_error,
    through_app,
    workspace,
)
from unlearn_core.errors import UnlearnError
from unlearn_core.report import build_json_report
from unlearn_core.report.build import baseline_record, data_record, signoff_record
from unlearn_core.report.exports import html_export, json_export, pdf_export
from unlearn_core.report.names import report_file_name
from unlearn_core.report.table import audit_table

through_app()  # opened by its own address before the app ran: app.py first
st.title("Report")
ws = workspace()
context_slot = st.empty()  # data set · forget request · run of the audit exported
try:
    store = run_store()
except UnlearnError as err:  # a bad $UNLEARN_DB_URL, an unreachable server: said in the page
    show_error(err)
    st.stop()


def provenance(result, run) -> dict:
    """The baseline's origin as Setup recorded it (trained here, or uploaded weights with their
    SHA-256); a reopened stored run does not say."""
    origin = ws.baseline_origins.get(id(run.models.get("baseline"))) if run is not None else None
    if origin is None:
        return baseline_record(result, known=False)
    return baseline_record(result, None if origin.get("source") == "trained here" else origin)


def signoff(run_id: str) -> dict:
    """The sign-off block: the auditor and operator named above, the run's recorded date."""
    date = None
    if run_id:
        with contextlib.suppress(Exception):  # a record without a date: now
            date = str(store.load(run_id).summary.created_at)
    return signoff_record(run_id or None, st.session_state.get("report_auditor") or None,
                          st.session_state.get("report_run_by") or None, date)


def downloads(result, run, run_id: str, key: str) -> None:
    artifacts = store.artifacts(run_id) if run_id else []
    uploaded = ws.source_bytes if ws.source == result.config.dataset else None
    payload = build_json_report(result, artifacts,
                                data=data_record(result.config.dataset, uploaded),
                                signoff=signoff(run_id), baseline=provenance(result, run))
    st.session_state[f"report_payload_{key}"] = payload  # what the downloads hold
    page = html_export(result, run, payload)  # the buttons hand out exactly these exports
    names = {ext: report_file_name(result.dataset_name, run_id, ext)
             for ext in ("html", "json", "pdf")}  # audit_<dataset>_<run id>.<ext>
    printed = (run_id or id(result), st.session_state.get("report_auditor"),
               st.session_state.get("report_run_by"))  # what a built PDF belongs to
    c1, c2, c3 = st.columns(3)
    c1.download_button("Download HTML report", page, file_name=names["html"],
                       mime="text/html", key=f"{key}_html", icon=":material/download:")
    c2.download_button("Download JSON report", json_export(payload),
                       file_name=names["json"], mime="application/json",
                       key=f"{key}_json", icon=":material/download:")
    if c3.button("Build PDF", key=f"{key}_pdf_go", icon=":material/picture_as_pdf:"):
        try:
            with st.spinner("Printing the report with chromium..."):
                # SVG charts: no toolbar, no clipping
                st.session_state[f"{key}_pdf"] = (printed, pdf_export(result, run, payload))
        except UnlearnError as err:
            show_error(err)
    built = st.session_state.get(f"{key}_pdf")
    if built and built[0] == printed:  # the PDF of this run and sign-off only, never another's
        c3.download_button("Download PDF report", built[1],
                           file_name=names["pdf"], mime="application/pdf",
                           key=f"{key}_pdf_dl")
    st.caption("The HTML works offline (charts inlined). The JSON holds every figure, the config, "
               "seeds, fingerprints, model and weight-file hashes: "
               f"`python -m unlearn_core verify {names['json']}` re-checks it.")


st.subheader("Sign-off")
c1, c2 = st.columns(2)
c1.text_input("Auditor (who signs the report)", key="report_auditor",
              placeholder="left blank: a line to sign by hand")
c2.text_input("Run by", key="report_run_by", placeholder="left blank: not named",
              help="Who ran the audit; printed in the report's sign-off block with the date "
                   "and run id.")
st.caption("The report opens with a one-page summary: the verdict per method with its reasons, "
           "what was audited, where the baseline came from, and this sign-off block with lines "
           "to sign.")

st.subheader("This session's audits")
if ws.current is None:
    st.info("No audit in this session yet: run methods on the **Unlearn** page.")
else:
    idx = st.selectbox("Audit to export", range(len(ws.runs)), index=len(ws.runs) - 1,
                       key="report_pick", format_func=lambda i: f"#{i + 1}: "
                       f"{ws.runs[i].result.forget_description}, "
                       f"{', '.join(e.name for e in ws.runs[i].result.methods)}")
    run_id = ws.run_ids[idx] if idx < len(ws.run_ids) else ""
    show_context(ws.runs[idx], context_slot)
    downloads(ws.runs[idx].result, ws.runs[idx], run_id, "cur")

st.subheader("Run history")
st.caption(f"Runs of project **{store.project}** in `{store.url}` (set `UNLEARN_PROJECT` and "
           "`UNLEARN_DB_URL` to share a history with a team).")
c1, c2 = st.columns(2)
dataset = c1.text_input("Filter by dataset", key="hist_dataset")
method = c2.text_input("Filter by method", key="hist_method")
runs = store.list_runs(dataset or None, method or None)


def open_on_audit_page(run_id: str) -> None:
    """Open a recorded run with all its views on the Audit page (its address: ?run=<id>)."""
    try:
        open_run(run_id)
    except UnlearnError as err:
        show_error(err)
        return
    st.switch_page("pages/audit.py")


if not runs:
    st.caption("No recorded runs match.")
else:
    table = st.dataframe(
        pd.DataFrame([{"id": r.id[:12], "created": r.created_at, "dataset": r.dataset,
                       "model": r.model, "forget": r.forget, "methods": r.methods,
                       "seed": r.seed, "verdict": r.verdict or "-",
                       "seconds": round(r.seconds, 1)} for r in runs]),
        hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
        key="hist_table")
    st.caption("Tick a row (the box on its left) to open that run on the Audit page, with "
               "all its views.")
    clicked = list(getattr(getattr(table, "selection", None), "rows", None) or [])
    if clicked and clicked[0] < len(runs):
        open_on_audit_page(runs[clicked[0]].id)
    pick = st.selectbox("Open a recorded run", [r.id for r in runs], key="hist_pick",
                        format_func=lambda i: i[:12])
    if st.button("Open on the Audit page", key="hist_open", icon=":material/fact_check:"):
        open_on_audit_page(pick)
    stored = store.load(pick)
    figures = pd.DataFrame([{"model": m, "metric": k, "value": v} for _, m, k, v in
                            store.metrics([pick])])
    if stored.result is not None:
        st.code(audit_table(stored.result), language=None)
        downloads(stored.result, None, pick, "hist")
    elif stored.data.get("kind") == "text":  # a language-model audit (the text track)
        st.info("A language-model audit (the text track): its figures and verdicts as "
                "recorded. It opens on the command line (`runs show`), and its report or bundle "
                "re-checks with `verify`; the Audit page shows classifier audits.",
                icon=":material/article:")
        for v in stored.data.get("verdicts") or []:
            st.markdown(f"**{md(v.get('method'))}**: "
                        f"{md(v.get('headline') or v.get('status'))}")
        st.dataframe(figures, hide_index=True, width="stretch")
    else:  # recorded by an older version: show what the record has
        st.warning(f"This run was recorded by an older version (record format "
                   f"{stored.summary.record_format}); its full result cannot be rebuilt "
                   f"({stored.problem}). Its figures:", icon=":material/history:")
        st.dataframe(figures, hide_index=True, width="stretch")
    if stored.lacks:
        st.caption(f"This record lacks: {', '.join(stored.lacks)} (recorded before they "
                   "existed, or not computed).")
