"""What every page shares: the session's workspace, caches, colours and progress bars.

The pages only arrange widgets; every number comes from ``unlearn_core``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import streamlit as st
from torch import nn

from unlearn_core.audit.run import AuditRun
from unlearn_core.charts.audit import BASELINE, METHOD_COLORS, RETRAIN, color_for  # noqa: F401
from unlearn_core.data import Dataset, Splits
from unlearn_core.data.selection import ForgetSelection
from unlearn_core.errors import UnlearnError
from unlearn_core.models import TrainConfig
from unlearn_core.progress import ProgressFn


@dataclass
class Workspace:
    """One browser session's state: its data, baseline, forget selection and audit runs."""

    dataset: Optional[Dataset] = None
    splits: Optional[Splits] = None
    baseline: Optional[nn.Module] = None
    arch: str = "cnn"
    seed: int = 0
    device: str = "auto"  # where models train and predict (Setup's "Device")
    recipe: Optional[TrainConfig] = None
    source: str = ""
    source_bytes: Optional[bytes] = None  # an uploaded data file, for its SHA-256 in reports
    # where each baseline came from, by id() of the model: "trained here" or the uploaded
    # weights' name and SHA-256 (the report's provenance of the baseline)
    baseline_origins: dict = field(default_factory=dict)
    baseline_seconds: float = 0.0
    selection: ForgetSelection = field(default_factory=ForgetSelection)
    seen_selections: set = field(default_factory=set)
    runs: list[AuditRun] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)  # the store's id of each run
    open_sample: Optional[int] = None

    @property
    def ready(self) -> bool:
        return self.dataset is not None and self.baseline is not None

    @property
    def current(self) -> Optional[AuditRun]:
        return self.runs[-1] if self.runs else None


def workspace() -> Workspace:
    """The session's workspace (session_state keeps browser tabs apart)."""
    if "ws" not in st.session_state:
        st.session_state["ws"] = Workspace()
    return st.session_state["ws"]


@st.cache_resource(show_spinner=False)
def model_store() -> dict:
    """Trained baselines shared across sessions, keyed by data fingerprint, model, seed, recipe.

    Shared models are never modified: every method works on a copy.
    """
    return {}


def run_store():
    """The run database ($UNLEARN_DB_URL, else $UNLEARN_DATA_DIR or ./runs) and project
    ($UNLEARN_PROJECT), shared by all sessions; a changed setting opens the store it names."""
    import os

    return _run_store(os.environ.get("UNLEARN_DB_URL"), os.environ.get("UNLEARN_DATA_DIR"),
                      os.environ.get("UNLEARN_PROJECT"))


@st.cache_resource(show_spinner=False)
def _run_store(url, data_dir, project):
    from unlearn_core.store.db import RunStore

    return RunStore()


@st.cache_resource(show_spinner=False)
def builtin_dataset(name: str, seed: int) -> Dataset:
    from unlearn_core.data import load_builtin

    return load_builtin(name, seed=seed)


def progress_bar(label: str) -> tuple[ProgressFn, "st.delta_generator.DeltaGenerator"]:
    """A Streamlit progress bar driven by the core's (task, done, total) callback."""
    bar = st.progress(0.0, text=label)

    def update(task: str, done: int, total: int) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=f"{task}: {done}/{total}")

    return update, bar


def show_error(err: Exception) -> None:
    """A user-facing error in the page; the session and earlier results stay."""
    if isinstance(err, UnlearnError):
        st.error(str(err), icon=":material/error:")
    else:  # a bug: say so plainly, keep the session
        st.error(f"Unexpected error ({type(err).__name__}): {err}", icon=":material/bug_report:")


def need_setup() -> bool:
    """Stop a page that needs a baseline, with a pointer to the setup page."""
    ws = workspace()
    if not ws.ready:
        st.info("No model yet: start on the **Setup** page (the default is one click).")
        st.page_link("pages/setup.py", label="Go to Setup", icon=":material/settings:")
        return True
    return False


def image_of(ds: Dataset, position: int) -> np.ndarray:
    """An image sample as an (h, w) or (h, w, 3) array in [0, 1] for st.image."""
    x = ds.X[position]
    img = x[0] if x.shape[0] == 1 else np.transpose(x, (1, 2, 0))
    return np.clip(img, 0, 1)


def sidebar_summary(slot: Optional["st.delta_generator.DeltaGenerator"] = None) -> None:
    """The sidebar's summary of the session (data, model, forget set, audits), written into
    ``slot`` (a sidebar ``st.empty``) when given, replacing what it showed."""
    ws = workspace()
    with slot.container() if slot is not None else st.sidebar:
        from unlearn_core.store.db import default_project

        st.caption(f"Project **{default_project()}**")  # the run history's scope
        if ws.dataset is None:
            st.caption("No dataset loaded.")
            return
        st.caption(f"**{ws.source}** · model `{ws.arch}` · seed {ws.seed}")
        sel = ws.selection
        if sel.classes:
            names = ", ".join(ws.dataset.class_names[c] for c in sel.classes)
            st.caption(f"Forget: class {names}")
        elif sel.random_fraction is not None:
            st.caption(f"Forget: random {sel.random_fraction:.0%}")
        else:
            st.caption(f"Forget: {len(sel.ids)} sample(s)")
        st.caption(f"Audits this session: {len(ws.runs)}")


def point_id(point: dict) -> int | None:
    """The sample id carried in a selected plotly point's customdata (list, dict or scalar)."""
    cd = point.get("customdata")
    while isinstance(cd, (list, tuple, dict)) and cd:
        cd = next(iter(cd.values())) if isinstance(cd, dict) else cd[0]
    try:
        return int(cd)
    except (TypeError, ValueError):
        return None
