"""Unlearn: choose methods and hyperparameters; run them beside the retrain reference."""

import dataclasses

import streamlit as st

from pages.claim_view import show_claim_form
from pages.estimate_view import record_duration, show_estimate
from pages.shared import (
    need_setup,
    record_run,
    run_store,
    show_error,
    show_request_context,
    through_app,
    workspace,
)
from unlearn_core.attacks.stage import ATTACKS
from unlearn_core.audit.run import AuditConfig, MethodSpec, run_audit
from unlearn_core.checks import CHECKS as CHECKS_REGISTRY
from unlearn_core.checks import available_checks
from unlearn_core.errors import UnlearnError
from unlearn_core.methods import METHODS, available_methods
from unlearn_core.reference.retrains import DEFAULT_REFERENCE_SEEDS
from unlearn_core.scenarios.checks import CHECKS

through_app()  # opened by its own address before the app ran: app.py first
st.title("Unlearn")
if need_setup():
    st.stop()
ws = workspace()
context_slot = st.empty()  # data set · forget request · run (again at the end: a new run)
show_request_context(context_slot)
names = [m for m in available_methods() if m != "retrain"]
chosen = st.multiselect("Methods (the retrain reference always runs)", names,
                        default=["finetune"] if "finetune" in names else names[:1],
                        key="unlearn_methods")
class_request = bool(ws.selection.classes)
params: dict[str, dict] = {}
for name in chosen:
    cls = METHODS[name]
    with st.expander(f"{name} · {cls.paper}", expanded=False):
        doc = (cls.__module__ and __import__(cls.__module__, fromlist=["x"]).__doc__) or ""
        st.caption(" ".join(doc.split()))
        if cls.class_level_only and not class_request:
            st.warning(f"{name} forgets whole classes only: pick classes on the Forget set page "
                       "or it will be reported as failed.")
        helps = cls.param_help()
        values = {}
        cols = st.columns(3)
        for i, f in enumerate(dataclasses.fields(cls)):
            key = f"hp_{name}_{f.name}"
            with cols[i % 3]:
                if isinstance(f.default, bool):
                    values[f.name] = st.checkbox(f.name, f.default, key=key, help=helps[f.name])
                elif isinstance(f.default, int):
                    values[f.name] = int(st.number_input(f.name, value=f.default, step=1,
                                                         key=key, help=helps[f.name]))
                elif isinstance(f.default, float):
                    values[f.name] = float(st.number_input(f.name, value=f.default,
                                                           format="%g", key=key,
                                                           help=helps[f.name]))
                else:
                    values[f.name] = st.text_input(f.name, str(f.default), key=key,
                                                   help=helps[f.name])
        defaults = cls().get_params()
        params[name] = {k: v for k, v in values.items() if v != defaults[k]}

st.caption("The verdict judges each method against the spread of several models retrained from "
           "scratch on the retain set with other seeds, and puts the untouched original through "
           "the same checks: a check on which doing nothing would pass has no power and cannot "
           "support a pass. The default request, a whole class, gives the checks that power.")
reference_k = int(st.number_input(
    "Reference retrains", 2, 50, DEFAULT_REFERENCE_SEEDS, key="unlearn_reference_seeds",
    help="retrains from scratch with other seeds; every check's band comes from their spread. "
         "More retrains: narrower bands and a surer verdict, and a longer run (cached for "
         "the next audit of the same request)"))

with st.expander("Audit depth: shadow-model attacks, looking inside and verification "
                 "scenarios (slower)"):
    attacks = st.multiselect(
        "Extra membership attacks", list(ATTACKS), key="unlearn_attacks",
        help="threshold: loss/confidence/entropy/modified-entropy family; lira and ulira train "
             "shadow models (U-LiRA also unlearns in each); rmia: the low-cost strong attack")
    shadows = int(st.number_input("Shadow models", 2, 64, 8, key="unlearn_shadows",
                                  help="more shadows, stronger attacks, longer runs"))
    opt_in = [c for c in available_checks() if not CHECKS_REGISTRY[c].default]
    inside = st.multiselect(
        "Looking inside the model", [*opt_in, "klom"], key="unlearn_inside",
        help="; ".join(f"{c}: {CHECKS_REGISTRY[c].paper}" for c in opt_in)
        + "; klom: KL of margins over K originals and K unlearned runs (Georgiev et al. 2024), "
          "needs many reference retrains to decide")
    checks = st.multiselect(
        "Verification scenarios", list(CHECKS), key="unlearn_checks",
        help="inversion: can an attacker holding both models name what was forgotten? "
             "backdoor: a planted trigger must stop working; restor: forgetting label-flipped "
             "samples must bring the clean behaviour back; confusion: forgetting a label swap "
             "between two classes must remove their confusion (Goel et al.). Each is judged "
             "against retraining.")


def audit_config(request: str) -> AuditConfig:
    """The audit the page would run for ``request`` (the file's columns as Setup read it)."""
    options = {k: v for k, v in ws.data_options.items() if v is not None}
    return AuditConfig(dataset=ws.source, model=ws.arch, forget=request, seed=ws.seed,
                       methods=[MethodSpec(m, params.get(m, {})) for m in chosen],
                       train=ws.recipe, attacks=list(attacks), shadows=shadows,
                       checks=[*inside, *checks], reference_seeds=reference_k,
                       device=ws.device, **options)


if chosen:  # before the user starts: how long, roughly
    show_estimate(audit_config("" if ws.selection.is_empty else ws.selection.to_request()))
if st.button("Run unlearning", type="primary", key="unlearn_go", disabled=not chosen):
    try:
        request = ws.selection.to_request()
        config = audit_config(request)
        with st.status("Unlearning...", expanded=True) as status:
            bar = st.progress(0.0, text="starting")

            def update(task: str, done: int, total: int) -> None:
                bar.progress(min(1.0, done / max(total, 1)), text=f"{task}: {done}/{total}")

            try:  # ensembles and shadow sets kept in the run store's artifact area
                cache = run_store().ensemble_cache()
            except Exception:  # no store: the default cache ($UNLEARN_CACHE_DIR)
                cache = None
            run = run_audit(config, update, dataset=ws.dataset, baseline=ws.baseline,
                            baseline_seconds=ws.baseline_seconds, cache=cache)
            status.update(label="Done", state="complete")
        record_duration(config, run.result.seconds)  # scales the next estimate of this setup
        record_run(ws, run)  # the session, the run store, ?run=<id> and the data kept
        for failure in run.result.failures:
            st.error(f"{failure.name} failed: {failure.message}")
        done = [ev.name for ev in run.result.methods]
        if done:
            st.success(f"Finished: retrain, {', '.join(done)}. See the **Audit** page.")
    except UnlearnError as err:
        show_error(err)

# instead of, or beside, running methods: a model unlearned elsewhere, judged blind
show_claim_form(ws, dict(reference_seeds=reference_k, attacks=list(attacks), shadows=shadows,
                         checks=[*inside, *checks]))

if ws.current is not None:
    st.page_link("pages/audit.py", label="Open the audit", icon=":material/arrow_forward:")
show_request_context(context_slot)
