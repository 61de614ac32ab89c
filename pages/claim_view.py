"""The Unlearn page's "Audit a submitted model" (a third-party claim, docs/claims.md) and the
Audit page's "Third-party claim" section. Thin: the uploads are kept and the claim is built by
``unlearn_core.audit.submission``, read only through the claim's safe loaders and judged by
``run_claim_audit``, and the section draws the report's own rows (``report.claim``)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

import pandas as pd
import streamlit as st

from pages.shared import (
    Workspace,
    progress_bar,
    record_run,
    run_store,
    show_error,
)
from unlearn_core.audit.run import AuditResult, AuditRun, run_claim_audit
from unlearn_core.audit.submission import (
    APP_RECIPE,
    SUBMITTED,
    Upload,
    recipe_text,
    submission_claim,
)
from unlearn_core.report.claim import claim_lines, file_rows, fit_rows

# the uploader takes TorchScript and .pt2 only so that the claim loader refuses them by name
WEIGHT_TYPES = ["safetensors", "pt", "pth", "pt2", "ts"]
RECIPE_TYPES = ["yaml", "yml", "json"]


def app_recipe(ws: Workspace) -> Optional[Upload]:
    """The recipe the app trained the session's original with (its seed the setup's), as a
    recipe file; None when the original was uploaded or reopened (its recipe is not known)."""
    origin = ws.baseline_origins.get(id(ws.baseline)) or {}
    if origin.get("source") != "trained here" or ws.recipe is None:
        return None
    return Upload(APP_RECIPE, recipe_text(ws.recipe, ws.seed).encode("utf-8"))


def submitted_folder() -> Path:
    """Where uploaded claim files are kept: beside the run store (so that its runs' recorded
    paths stay valid for verify and bundles), else a temporary folder."""
    try:
        return run_store().artifact_root / SUBMITTED
    except Exception:  # no store: the files last as long as the machine's temporary folder
        return Path(tempfile.gettempdir()) / f"unlearn-{SUBMITTED}"


def show_claim_form(ws: Workspace, settings: dict) -> None:
    """The form of a claim audit: claimed weights, the recipe (the app's own by default when
    it trained the original), optional retrains of the claimant's; ``settings``: the page's
    other audit settings (reference retrains, attacks, checks)."""
    st.subheader("Audit a submitted model")
    st.caption("Someone else unlearned the session's model their way: upload the model(s) they "
               "claim forgot the forget set. Each is judged blind, like a method's output, "
               "against retrains of the recipe that trained the original, once that recipe is "
               "shown to reproduce the original. Uploaded files never run: safetensors or a "
               "weights-only state dict of the original's architecture only.")
    claimed = st.file_uploader("Claimed unlearned model(s) (.safetensors / .pt)",
                               type=WEIGHT_TYPES, accept_multiple_files=True,
                               key="claim_weights")
    recipe_file = st.file_uploader("Recipe that trained the original (.yaml / .json)",
                                   type=RECIPE_TYPES, key="claim_recipe",
                                   help="optimizer, lr, epochs, batch_size, and optional "
                                        "weight_decay, schedule, augment, seed, ...")
    default = app_recipe(ws)
    if recipe_file is None and default is not None:
        st.caption("The app trained the session's original with this recipe; the audit uses it "
                   "unless you upload another:")
        st.code(default.raw.decode("utf-8"), language="yaml")
    elif recipe_file is None:
        st.info("The session's original was not trained here: upload the recipe that trained "
                "it.", icon=":material/info:")
    with st.expander("The claimant's own retrains and the fit check (optional)"):
        retrains = st.file_uploader("Retrains made by the claimant (two or more)",
                                    type=WEIGHT_TYPES, accept_multiple_files=True,
                                    key="claim_retrains",
                                    help="used as the reference once they look like retrains "
                                         "trained here with the recipe")
        fit_k = int(st.number_input("Originals trained for the fit check", 2, 20, 3,
                                    key="claim_fit_originals",
                                    help="trained with the recipe on the whole training split: "
                                         "the session's original must land among them"))
    if st.button("Audit the submitted model(s)", key="claim_go", disabled=not claimed):
        run_claim(ws, list(claimed or []), recipe_file, default, list(retrains or []), fit_k,
                  settings)


def run_claim(ws: Workspace, claimed: list, recipe_file, default: Optional[Upload],
              retrains: list, fit_k: int, settings: dict) -> Optional[AuditRun]:
    """Run the claim audit against the session's original, on the session's data set and
    forget request, and record it like any audit; every error is one message, the session
    kept."""
    try:
        request = ws.selection.to_request()
        recipe = Upload(recipe_file.name, recipe_file.getvalue()) if recipe_file is not None \
            else default
        claim = submission_claim(submitted_folder(), ws.baseline,
                                 [Upload(f.name, f.getvalue()) for f in claimed], recipe,
                                 [Upload(f.name, f.getvalue()) for f in retrains], fit_k)
        options = {k: v for k, v in ws.data_options.items() if v is not None}
        with st.status("Auditing the claim...", expanded=True) as status:
            update, _ = progress_bar("starting")
            try:  # ensembles kept in the run store's artifact area
                cache = run_store().ensemble_cache()
            except Exception:  # no store: the default cache ($UNLEARN_CACHE_DIR)
                cache = None
            try:
                run = run_claim_audit(claim, ws.source, request, update, cache,
                                      loaded=ws.dataset, seed=ws.seed, device=ws.device,
                                      **options, **settings)
            except BaseException:
                status.update(label="Stopped", state="error")
                raise
            status.update(label="Done", state="complete")
    except Exception as err:  # a refused file, recipe or original: one message, session kept
        show_error(err)
        return None
    record_run(ws, run)
    labels = [e.name for e in run.result.methods if e.role == "claim"]
    st.success(f"Audited: {', '.join(labels)}. See the **Audit** page.")
    return run


def show_claim(result: AuditResult) -> None:
    """The Audit page's "Third-party claim" section: the fit check and every submitted file,
    from the rows the report and the command line print (``report.claim``); nothing for an
    audit of the tool's own unlearning."""
    rec = getattr(result, "claim", None)
    if rec is None:
        return
    st.subheader("Third-party claim")
    lines = claim_lines(result)
    st.caption(f"{_upper_first(lines[0])}, against retrains {rec.reference} with the declared "
               "recipe.")
    fit = rec.fit
    (st.success if fit.fits else st.warning)(
        f"**Fit check** ({fit.k} originals trained here with the recipe): {fit.reason}.")
    st.dataframe(pd.DataFrame(fit_rows(result)), hide_index=True, width="stretch")
    if rec.submitted is not None:
        st.info(f"Submitted retrains: {rec.submitted.reason}.")
    recipe = next((ln for ln in lines if ln.startswith("  recipe: ")), "").strip()
    st.caption(_upper_first(recipe))
    st.dataframe(pd.DataFrame(file_rows(result)), hide_index=True, width="stretch")


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]
