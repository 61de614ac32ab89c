"""Unlearning Auditor: the dashboard. Run with `make run` (or `streamlit run app.py`)."""

import streamlit as st

st.set_page_config(page_title="Unlearning Auditor", page_icon=":material/policy:", layout="wide")

from pages.shared import sidebar_summary  # noqa: E402

pages = [
    st.Page("pages/setup.py", title="1 · Setup", icon=":material/settings:", default=True),
    st.Page("pages/forget.py", title="2 · Forget set", icon=":material/select:"),
    st.Page("pages/unlearn.py", title="3 · Unlearn", icon=":material/auto_delete:"),
    st.Page("pages/audit.py", title="4 · Audit", icon=":material/fact_check:"),
    st.Page("pages/report.py", title="5 · Report", icon=":material/description:"),
]
nav = st.navigation(pages)
nav.run()
sidebar_summary()  # after the page, so it shows the page's latest edits
