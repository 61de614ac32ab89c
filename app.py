"""Unlearning Auditor: the dashboard. Run with `make run` (or `streamlit run app.py`).

Icons are emoji, never ``:material/...:`` names: Streamlit fetches a material page icon from
fonts.gstatic.com as the tab's favicon, which fails offline."""

import streamlit as st

st.set_page_config(page_title="Unlearning Auditor", page_icon="🛡️", layout="wide")

from pages.shared import sidebar_summary  # noqa: E402

pages = [
    st.Page("pages/setup.py", title="1 · Setup", icon="⚙️", default=True),
    st.Page("pages/forget.py", title="2 · Forget set", icon="🎯"),
    st.Page("pages/unlearn.py", title="3 · Unlearn", icon="🧹"),
    st.Page("pages/audit.py", title="4 · Audit", icon="🔍"),
    st.Page("pages/report.py", title="5 · Report", icon="📄"),
]
nav = st.navigation(pages)
try:
    nav.run()
finally:  # after the page, so it shows the page's latest edits, even when the page stopped
    sidebar_summary()
