"""Setup's choices for an uploaded CSV: which column holds the sample ids and which columns to
drop (a text id, a leak), the id column proposed when one named ``id`` holds ids."""

from __future__ import annotations

import hashlib

import streamlit as st

from pages.shared import md
from unlearn_core.data.load import csv_columns
from unlearn_core.errors import UnlearnError

ROW_NUMBERS = "(none: number the rows)"


def csv_column_choices(upload, label_column: str, where=st) -> tuple[str, list[str]]:
    """The id column ("" for row numbers) and the columns to drop, chosen under the upload;
    a new file starts from its proposal (a column named ``id`` of distinct whole numbers)."""
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    try:
        header, proposed = csv_columns(data)
    except UnlearnError:  # a bad file: Load says why
        return "", []
    if st.session_state.get("setup_csv_file") != digest:  # a new file: its own defaults
        st.session_state["setup_csv_file"] = digest
        st.session_state["setup_id_column"] = proposed or ROW_NUMBERS
        st.session_state["setup_drop_columns"] = []
    options = [ROW_NUMBERS, *[h for h in header if h != label_column]]
    if st.session_state.get("setup_id_column") not in options:
        st.session_state["setup_id_column"] = ROW_NUMBERS
    id_column = where.selectbox(
        "CSV id column", options, key="setup_id_column",
        help="the column of sample ids (whole numbers: what a forget request names); none: "
             "the rows are numbered 0, 1, 2, ... A column named id that holds distinct whole "
             "numbers is proposed: as a feature it would let the model learn the row order")
    chosen = "" if id_column == ROW_NUMBERS else id_column
    droppable = [h for h in header if h not in (label_column, chosen)]
    st.session_state["setup_drop_columns"] = [
        c for c in st.session_state.get("setup_drop_columns", []) if c in droppable]
    drop = where.multiselect("CSV columns to drop", droppable, key="setup_drop_columns",
                             help="columns that are not features: text, names, leaks")
    if proposed and chosen == proposed:
        where.caption(f"Column **{md(proposed)}** holds distinct whole numbers: taken as the "
                      "sample ids, not as a feature.")
    return chosen, list(drop)
