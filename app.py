"""Unlearning Auditor: the dashboard. Run with `make run` (or `streamlit run app.py`).

The tab icon is a bundled file: a ``:material/...:`` page icon makes the browser fetch the
favicon from fonts.gstatic.com, which fails offline. Material icons elsewhere (navigation,
buttons) come from the font bundled with Streamlit and need no network.

The page list is drawn here (``st.page_link``), right after ``st.navigation`` and before the
package loads: Streamlit's own list would first show the ``pages/`` folder's file names
(``contrast_view``, ``shared``, ...) for the seconds torch takes to import, so it is hidden
(``client.showSidebarNavigation = false`` in ``.streamlit/config.toml``, and ``position``)."""

from pathlib import Path

import streamlit as st

FAVICON = str(Path(__file__).resolve().parent / "assets" / "favicon.png")
st.set_page_config(page_title="Unlearning Auditor", page_icon=FAVICON, layout="wide")

pages = [
    st.Page("pages/setup.py", title="1 · Setup", icon=":material/settings:", default=True),
    st.Page("pages/forget.py", title="2 · Forget set", icon=":material/select:"),
    st.Page("pages/unlearn.py", title="3 · Unlearn", icon=":material/auto_delete:"),
    st.Page("pages/audit.py", title="4 · Audit", icon=":material/fact_check:"),
    st.Page("pages/report.py", title="5 · Report", icon=":material/description:"),
    st.Page("pages/text.py", title="6 · Language models", icon=":material/article:"),
]
nav = st.navigation(pages, position="hidden")
with st.sidebar:
    for page in pages:
        st.page_link(page)

from pages.shared import VIA_APP, follow_address, sidebar_summary  # noqa: E402

track = "text" if nav.url_path == "text" else "classifier"  # the LM page has its own setup
st.session_state[VIA_APP] = True  # the page runs inside the app (``through_app``)
summary = st.sidebar.empty()
sidebar_summary(summary, track)  # the state as this run starts: never older than the last run's
if track == "classifier":
    follow_address()  # ?run=<id>: a reload or a new tab reopens that audit
try:
    nav.run()
finally:  # again after the page, with its edits, even when the page stopped or reran
    sidebar_summary(summary, track)
    st.session_state[VIA_APP] = False
