"""Unlearning Auditor: the dashboard. Run with `make run` (or `streamlit run app.py`).

The tab icon is a bundled file: a ``:material/...:`` page icon makes the browser fetch the
favicon from fonts.gstatic.com, which fails offline. Material icons elsewhere (navigation,
buttons) come from the font bundled with Streamlit and need no network."""

from pathlib import Path

import streamlit as st

FAVICON = str(Path(__file__).resolve().parent / "assets" / "favicon.png")
st.set_page_config(page_title="Unlearning Auditor", page_icon=FAVICON, layout="wide")

from pages.shared import sidebar_summary  # noqa: E402

pages = [
    st.Page("pages/setup.py", title="1 · Setup", icon=":material/settings:", default=True),
    st.Page("pages/forget.py", title="2 · Forget set", icon=":material/select:"),
    st.Page("pages/unlearn.py", title="3 · Unlearn", icon=":material/auto_delete:"),
    st.Page("pages/audit.py", title="4 · Audit", icon=":material/fact_check:"),
    st.Page("pages/report.py", title="5 · Report", icon=":material/description:"),
    st.Page("pages/text.py", title="6 · Language models", icon=":material/article:"),
]
nav = st.navigation(pages)
summary = st.sidebar.empty()
sidebar_summary(summary)  # the state as this run starts: never older than the last run's edits
try:
    nav.run()
finally:  # again after the page, with its edits, even when the page stopped or reran
    sidebar_summary(summary)
