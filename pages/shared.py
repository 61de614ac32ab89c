"""What every page shares: the session's workspace, caches, colours and progress bars.

The pages only arrange widgets; every number comes from ``unlearn_core``.
"""

from __future__ import annotations

import runpy
from dataclasses import dataclass, field
from pathlib import Path
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
    runs: list[AuditRun] = field(default_factory=list)  # the audits of the loaded data set
    run_ids: list[str] = field(default_factory=list)  # the store's id of each run
    open_sample: Optional[int] = None
    fingerprint: str = ""  # of the loaded data set (``switch_data``)
    # the audits of the other data sets of this session, by fingerprint: back when it returns
    shelved: dict = field(default_factory=dict)
    # how the loaded file was read (label, id and dropped columns): the audit's config says it
    data_options: dict = field(default_factory=dict)
    run_notes: dict = field(default_factory=dict)  # run id -> what its reopening left out

    @property
    def ready(self) -> bool:
        return self.dataset is not None and self.baseline is not None

    @property
    def current(self) -> Optional[AuditRun]:
        return self.runs[-1] if self.runs else None


VIA_APP = "via_app"  # set by app.py around each page it runs
APP_SCRIPT = Path(__file__).resolve().parents[1] / "app.py"


def through_app() -> None:
    """Run this page inside app.py; the first call of every page. Until the server has run
    app.py's ``st.navigation`` once, Streamlit serves a page's own address (``/audit?run=...``,
    a reload after a restart) in its ``pages/`` folder mode: the page file alone, with no
    sidebar, no address to follow and a narrow layout. Then app.py runs here, in this very
    run (a click or an upload of this run stays), draws the page as always, and this bare run
    of the page stops."""
    if not st.session_state.get(VIA_APP):
        runpy.run_path(str(APP_SCRIPT), run_name="__main__")
        st.stop()


def workspace() -> Workspace:
    """The session's workspace (session_state keeps browser tabs apart); a page that runs
    outside app.py is first run inside it (``through_app``)."""
    through_app()
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


def sidebar_summary(slot: Optional["st.delta_generator.DeltaGenerator"] = None,
                    track: str = "classifier") -> None:
    """The sidebar's summary of the session (data, model, forget set, audits), written into
    ``slot`` (a sidebar ``st.empty``) when given, replacing what it showed. On the language-
    model page (``track="text"``) it says that page's state, not the classifier setup."""
    ws = workspace()
    with slot.container() if slot is not None else st.sidebar:
        from unlearn_core.store.db import default_project

        st.caption(f"Project **{default_project()}**")  # the run history's scope
        if track == "text":
            result = getattr(st.session_state.get("text_run"), "result", None)
            st.caption("Language-model audit: " + (f"{len(result.methods)} method(s) audited"
                                                    if result is not None else "none yet"))
            return
        if ws.dataset is None:
            st.caption("No dataset loaded.")
            return
        st.caption(f"**{ws.source}** · model `{ws.arch}` · seed {ws.seed}")
        st.caption(f"Forget: {selection_text(ws)}")
        st.caption(f"Audits this session: {len(ws.runs)}")


def selection_text(ws: Workspace) -> str:
    """The forget selection in words: ``class 3``, ``random 10%``, ``4 sample(s)``."""
    sel = ws.selection
    if sel.classes and ws.dataset is not None:
        return "class " + ", ".join(ws.dataset.class_names[c] for c in sel.classes)
    if sel.random_fraction is not None:
        return f"random {sel.random_fraction:.0%}"
    return f"{len(sel.ids)} sample(s)"


def point_id(point: dict) -> int | None:
    """The sample id carried in a selected plotly point's customdata (list, dict or scalar)."""
    cd = point.get("customdata")
    while isinstance(cd, (list, tuple, dict)) and cd:
        cd = next(iter(cd.values())) if isinstance(cd, dict) else cd[0]
    try:
        return int(cd)
    except (TypeError, ValueError):
        return None


# --- one data set at a time; every audit has an address (?run=<id>) -------------------------

ADDRESS_KEY = "address_run"  # the run id the address shows (what ?run= says, once followed)
# session keys of views tied to the loaded data set and its list of audits: dropped on a switch
_DATA_STATE = ("audit_", "verdict_", "cohort", "contrast_", "forget_", "grid_", "map_cache",
               "difficulty_", "inside_", "inv_", "rel_", "report_pick", "report_payload_",
               "cur_pdf")


def switch_data(ws: Workspace, dataset: Dataset) -> bool:
    """Make ``dataset`` the session's data set: the audits of the previous one are shelved
    (back when it is loaded again), this one's come back, and the forget selection and every
    view tied to the previous data are dropped. True when the data set changed."""
    new = dataset.fingerprint()
    if ws.dataset is not None and new == (ws.fingerprint or ws.dataset.fingerprint()):
        ws.fingerprint = new
        return False
    if ws.fingerprint and ws.runs:
        ws.shelved[ws.fingerprint] = (ws.runs, ws.run_ids)
    ws.runs, ws.run_ids = ws.shelved.pop(new, ([], []))
    ws.fingerprint = new
    ws.selection, ws.seen_selections, ws.open_sample = ForgetSelection(), set(), None
    for key in [k for k in st.session_state if str(k).startswith(_DATA_STATE)]:
        del st.session_state[key]
    show_latest_address(ws)
    return True


def md(text: object) -> str:
    """User-named text (a file name, a class) safe inside Markdown: its markup characters
    escaped, so a name shows as written and never as a link or emphasis."""
    return "".join("\\" + c if c in "\\`*_[]<>#|~$" else c for c in str(text))


def context_line(dataset: str, forget: str, run_id: Optional[str]) -> str:
    """``Data set X · forget request Y · run <id>``: what a page shows, named at its top."""
    run = f"run `{run_id[:12]}`" if run_id else "run: not recorded" if run_id == "" else \
        "run: none yet"
    return f"Data set **{md(dataset)}** · forget request **{md(forget)}** · {run}"


def run_id_of(run: AuditRun) -> str:
    """The store's id of a run of this session ('' when it was not recorded)."""
    ws = workspace()
    for r, rid in zip(ws.runs, ws.run_ids):
        if r is run:
            return rid
    return ""


def show_context(run: Optional[AuditRun], slot=None) -> None:
    """The context line of ``run`` (the data set, the forget request and the run's id), or of
    the session's selection when there is no run yet, at the top of a page (in ``slot``)."""
    ws = workspace()
    if run is not None:
        text = context_line(run.result.dataset_name, run.result.forget_description,
                            run_id_of(run))
    elif ws.dataset is not None:
        text = context_line(ws.source, selection_text(ws), None)
    else:
        return
    (slot or st).caption(text)


def set_address(run_id: str) -> None:
    """Show ``?run=<id>`` in the browser's address: a reload or a new tab reopens the run."""
    if not run_id:
        return
    st.session_state[ADDRESS_KEY] = run_id
    if st.query_params.get("run") != run_id:
        st.query_params["run"] = run_id


def open_run(run_id: str) -> int:
    """Make a recorded run the shown audit: the session's own when it holds it, else reopened
    from the run store (``store.reopen``) with its data set, splits and models; its index in
    ``ws.runs``. A ``UnlearnError`` of one line when it cannot be opened."""
    from unlearn_core.store.reopen import reopen_run

    ws = workspace()
    store = run_store()
    full = store.resolve_id(run_id)
    for runs, ids in list(ws.shelved.values()):
        if full in ids:  # an audit of a shelved data set of this session: bring it back
            install_data(ws, runs[ids.index(full)])
            break
    if full not in ws.run_ids:
        held = [ws.dataset, *(r[0][0].data.dataset for r in ws.shelved.values() if r[0])]
        reopened = reopen_run(store, full, candidates=held)
        install_data(ws, reopened.run)
        ws.runs.append(reopened.run)
        ws.run_ids.append(full)
        ws.run_notes[full] = reopened.notes
    idx = ws.run_ids.index(full)
    st.session_state["audit_pick"] = idx
    set_address(full)
    return idx


def install_data(ws: Workspace, run: AuditRun) -> None:
    """Load a run's data set into the session (shelving the other's audits). The setup (model,
    seed, recipe) becomes the run's when the data set changed or nothing was set up."""
    ds = run.data.dataset
    changed = switch_data(ws, ds)
    if not changed and ws.ready:
        return
    cfg, res = run.result.config, run.result
    ws.dataset, ws.splits = ds, run.data.splits
    ws.baseline = run.models.get("baseline")
    ws.arch, ws.seed, ws.recipe, ws.device = cfg.model, cfg.seed, res.train_config, cfg.device
    ws.source, ws.source_bytes = cfg.dataset, None
    ws.baseline_seconds = res.baseline.seconds
    ws.data_options = {"label_column": cfg.label_column, "id_column": cfg.id_column,
                       "drop_columns": list(cfg.drop_columns)}


def follow_address() -> None:
    """Before a page runs: a new ``?run=<id>`` in the address (typed, reloaded, a new tab)
    opens that run; otherwise the address keeps showing the session's shown audit (a page
    switch drops it), or none once the data set has no audit."""
    from unlearn_core.errors import UnlearnError

    ws = workspace()
    asked = st.query_params.get("run") or ""
    if asked and asked != st.session_state.get(ADDRESS_KEY):
        st.session_state[ADDRESS_KEY] = asked
        try:
            open_run(asked)
            return
        except UnlearnError as err:
            show_error(err)
        except Exception as err:  # a bug: said in the page, the session stays
            show_error(err)
    shown = st.session_state.get(ADDRESS_KEY)
    if shown and shown in ws.run_ids:
        set_address(shown)
    else:
        show_latest_address(ws)


def show_latest_address(ws: Workspace) -> None:
    """The address of the data set's latest recorded audit, or none when it has none."""
    shown = next((r for r in reversed(ws.run_ids) if r), "")
    if shown:
        set_address(shown)
    else:
        st.session_state.pop(ADDRESS_KEY, None)
        if "run" in st.query_params:
            del st.query_params["run"]


def lacks_models(run: AuditRun, names, what: str) -> bool:
    """Say so (and return True) when a view needs live models that ``run`` does not hold: a
    reopened run has only the models the store keeps (registry models with a spec)."""
    missing = [n for n in dict.fromkeys(names) if n not in run.models]
    if missing:
        st.info(f"{what} needs the live model(s) {', '.join(missing)}, which the run store does "
                "not keep for this run (only models with a registry spec are kept; a "
                "TorchScript or .pt2 model is not): re-run the audit to see it.",
                icon=":material/info:")
    return bool(missing)


def keep_run_data(ws: Workspace) -> None:
    """Keep the loaded data set by fingerprint beside the run store when it is a file (a
    built-in is rebuilt from its name), so that its audits reopen after a reload."""
    from unlearn_core.data import BUILTIN_DATASETS
    from unlearn_core.store.reopen import keep_dataset

    if ws.dataset is not None and ws.source not in BUILTIN_DATASETS:
        keep_dataset(run_store(), ws.dataset)


def show_request_context(slot=None) -> None:
    """The Unlearn page's context line: the loaded data set, the forget selection and the id
    of the session's last audit of that very request (none yet when it has not run)."""
    ws = workspace()
    if ws.dataset is None:
        return
    request = None
    if not ws.selection.is_empty:
        try:
            request = ws.selection.to_request()
        except Exception:  # a selection that cannot be a request yet: no run matches it
            request = None
    rid = next((i for r, i in zip(reversed(ws.runs), reversed(ws.run_ids))
                if request is not None and r.result.config.forget == request), None)
    (slot or st).caption(context_line(ws.source, selection_text(ws), rid))


def record_run(ws: Workspace, run: AuditRun) -> None:
    """Keep ``run`` in the session and the run store, as the page records a method audit: its
    address ``?run=<id>`` and, for an uploaded data file, the data kept for its reopening."""
    ws.runs.append(run)
    try:
        ws.run_ids.append(run_store().record(run))
    except Exception as err:  # the audit stays in the session even if the store fails
        ws.run_ids.append("")
        st.warning(f"The run could not be recorded in the run database: {err}")
    if ws.run_ids[-1]:
        set_address(ws.run_ids[-1])
        try:
            keep_run_data(ws)
        except Exception as err:
            st.warning(f"The data set could not be kept beside the run database ({err}): "
                       "the run reopens only while this data set is loaded.")
