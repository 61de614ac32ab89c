"""Report: download the audit record and browse this session's earlier audits."""

import json

import pandas as pd
import streamlit as st

from pages.shared import need_setup, workspace

st.title("Report")
if need_setup():
    st.stop()
ws = workspace()
if ws.current is None:
    st.info("No audit yet: run methods on the **Unlearn** page.")
    st.stop()

rows = [{"#": i + 1, "forget set": r.result.forget_description, "samples": r.result.n_forget,
         "methods": ", ".join(e.name for e in r.result.methods),
         "retrain forget acc %": 100 * r.result.retrain.accuracy.forget,
         "seconds": r.result.seconds} for i, r in enumerate(ws.runs)]
st.subheader("Audits in this session")
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
idx = st.selectbox("Audit to export", range(len(ws.runs)), index=len(ws.runs) - 1,
                   format_func=lambda i: f"#{i + 1}", key="report_pick")
result = ws.runs[idx].result
st.download_button("Download JSON report", json.dumps(result.to_dict(), indent=1),
                   file_name=f"audit_{idx + 1}.json", mime="application/json",
                   key="report_json", icon=":material/download:")
st.caption("The JSON holds every figure, the config, seeds, data and forget-set fingerprints and "
           "model hashes: `python -m unlearn_core audit --config` re-runs it.")
