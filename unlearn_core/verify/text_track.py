"""``verify`` for text audit reports: judge the verdicts again from the recorded measurements,
check that an HTML report shows what its embedded JSON renders to, check a user data file by
SHA-256, and (``rerun``) run the recorded config again, training every model afresh (no cache),
and compare every recorded figure.

Integrity (content hash, report version) and signatures are checked by
``verify.run`` before it hands a text report over (``reproducibility.kind == "text"``).
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np

from unlearn_core.checks.judge import judging_rules
from unlearn_core.errors import ConfigError
from unlearn_core.progress import ProgressFn
from unlearn_core.serialize import sha256_file
from unlearn_core.text.checks import (
    judge_text,
    measure_text_checks,
    measurements_from_dicts,
    specs_from_dicts,
)
from unlearn_core.text.metrics import MIA_NAMES, SetScores, mia_auc, model_utility
from unlearn_core.verify.claim import check_claim_files
from unlearn_core.verify.last_step import Announce, may_rerun
from unlearn_core.verify.rejudge import rules_notes
from unlearn_core.version import JUDGE_RULES

ACC_TOL = 0.02  # answer accuracies, in share
SCORE_TOL = 0.05  # every other figure, times max(1, |figure|)


def _close(a: Optional[float], b: Optional[float], tol: float) -> bool:
    a = math.nan if a is None else float(a)
    b = math.nan if b is None else float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol


def rejudge_text(result: dict, out: Any, rules: int = JUDGE_RULES) -> None:
    """Judge the recorded measurements again with the recorded alpha, under the judging rules
    the report recorded (``rules``): a verdict or a check status edited in the report (even with
    its hash recomputed) differs from what its own figures give."""
    try:
        ms = measurements_from_dicts(result.get("measurements") or [])
        specs = specs_from_dicts(result.get("check_specs") or [])
        refs = [r["name"] for r in result["retrains"]]
        audited = [v["method"] for v in result.get("verdicts") or []]
        alpha = float(result.get("alpha", 0.05))
    except (KeyError, TypeError, ValueError) as err:
        out.differences.append(f"the text result's measurements cannot be read: {err}")
        return
    if audited and not ms:
        out.differences.append("the verdicts have no recorded measurements to judge again")
        return
    with judging_rules(rules):
        verdicts = judge_text(ms, specs, audited, refs, "original", alpha)
    if rules < JUDGE_RULES:  # what today's rules read otherwise: said, not an edit
        for then_v, today_v in zip(verdicts, judge_text(ms, specs, audited, refs, "original",
                                                        alpha)):
            out.notes += rules_notes(then_v, today_v, rules)
    claim = result.get("claim")
    if claim:  # a third-party claim's rules, applied again from the recorded figures
        from unlearn_core.text.claim import apply_text_claim_rules, fit_from_dict

        methods = result.get("methods") or []
        apply_text_claim_rules(verdicts, fit_from_dict(claim.get("fit")),
                               {m["name"]: m.get("model_hash") for m in methods},
                               [m["name"] for m in methods if m.get("method") == "claim"],
                               (result.get("original") or {}).get("model_hash", ""), alpha)
    again = {v.method: v for v in verdicts}
    before = len(out.differences)
    for v in result.get("verdicts") or []:
        new = again[v["method"]]
        if new.status != v.get("status"):
            out.differences.append(f"{v['method']}: the recorded verdict says {v.get('status')}, "
                                   f"its recorded figures judge to {new.status}")
        by_check = {c.check: c for c in new.checks}
        for c in v.get("checks") or []:
            n = by_check.get(c.get("check"))
            if n is None:
                out.differences.append(f"{v['method']}: check {c.get('title')} cannot be "
                                       "judged again from the recorded figures")
            elif n.status != c.get("status") or not _close(n.figure, c.get("figure"), 1e-9):
                out.differences.append(
                    f"{v['method']}: check {c.get('title')} recorded {c.get('status')} at "
                    f"{c.get('figure')}, its figures give {n.status} at {n.figure:.4g}")
    if len(out.differences) == before:
        out.notes.append("the recorded text verdicts follow from the recorded figures")


def _array(values) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values or []], dtype=np.float64)


def scores_from_dict(d: Optional[dict]) -> Optional[SetScores]:
    """Recorded per-sample scores of one model on one set, back as ``SetScores``."""
    if d is None:
        return None
    return SetScores(list(d["ids"]), *(_array(d.get(k)) for k in (
        "mean_nll", "prob", "truth_ratio", "exact_memorization", "extraction_strength",
        "answer_correct", "exact_match", "rouge_l")), list(d.get("completions") or []),
        _array(d.get("option_prob")), {k: _array(v) for k, v in (d.get("mia") or {}).items()})


def evaluation_from_dict(d: dict):
    """A recorded model evaluation, its aggregates recomputed from its per-sample scores."""
    from unlearn_core.text.evaluation import ModelEvaluation

    forget, retain = scores_from_dict(d["forget"]), scores_from_dict(d["retain"])
    holdout, world = scores_from_dict(d["holdout"]), scores_from_dict(d.get("world"))
    aucs = {m: mia_auc(forget.mia.get(m, []), holdout.mia.get(m, [])) for m in MIA_NAMES}
    return ModelEvaluation(d["name"], float(d.get("seconds") or 0.0), forget, retain, holdout,
                           world, _num(d.get("forget_quality")),
                           model_utility(retain, world), aucs, _num(d.get("privleak")))


def _num(v) -> float:
    return math.nan if v is None else float(v)


def check_text_evidence(result: dict, out: Any) -> None:
    """Every recorded check figure and its error measured again from the per-sample scores the
    report records (and each model's utility and attack AUCs): a figure edited alone, even
    with its verdict edited to match and the hash recomputed, differs from its own evidence."""
    try:
        models = [result["original"], *result["retrains"], *result["methods"]]
        evals = {d["name"]: evaluation_from_dict(d) for d in models}
        seed = int((result.get("config") or {}).get("seed", 0))
        refs = [d["name"] for d in result["retrains"]]
        ms, _ = measure_text_checks(evals, refs, "original",
                                    [d["name"] for d in result["methods"]], seed)
    except (KeyError, TypeError, ValueError, IndexError) as err:
        out.differences.append(f"the per-sample scores cannot be read: {err}")
        return
    before = len(out.differences)
    for d in models:
        ev = evals[d["name"]]
        if not _close(ev.model_utility, d.get("model_utility"), 1e-9):
            out.differences.append(f"{d['name']}: model utility recorded {d.get('model_utility')}"
                                   f", its per-sample scores give {ev.model_utility:.6g}")
        for attack, auc in ev.mia_auc.items():
            if not _close(auc, (d.get("mia_auc") or {}).get(attack), 1e-9):
                out.differences.append(f"{d['name']}: {attack} AUC recorded "
                                       f"{(d.get('mia_auc') or {}).get(attack)}, its per-sample "
                                       f"scores give {auc:.6g}")
    again = {(m.check, m.model): m for m in ms}
    for m in measurements_from_dicts(result.get("measurements") or []):
        n = again.get((m.check, m.model))
        tol = 1e-9 * max(1.0, abs(m.figure)) if math.isfinite(m.figure) else 0.0
        if n is None:
            out.differences.append(f"{m.model}: {m.check} has no per-sample scores behind it")
        elif not _close(m.figure, n.figure, tol) or not _close(m.se, n.se, 1e-6):
            out.differences.append(f"{m.model}: {m.check} recorded {m.figure:.6g} "
                                   f"(se {m.se:.3g}), its per-sample scores give "
                                   f"{n.figure:.6g} (se {n.se:.3g})")
    if len(out.differences) == before:
        out.notes.append("every recorded text figure follows from the recorded per-sample "
                         "scores")


def compare_text_html(page: str, payload: dict, out: Any, name: str = "report.html") -> None:
    """The HTML's visible text must be what its embedded report renders to (every section:
    the text report draws nothing from live models), and its hash tag the report's hash."""
    from unlearn_core.report.envelope import _where_differs
    from unlearn_core.report.text import render_text_html
    from unlearn_core.verify.rendering import rendered_again

    pair = rendered_again(page, payload, out, name, lambda: render_text_html(payload))
    if pair is None:
        return
    seen, again = pair
    before = len(out.differences)
    for sid in again.order:
        shown, expected = seen.canonical(sid), again.canonical(sid)
        if shown != expected:
            title = again.titles.get(sid, sid)
            out.differences.append(f"{name}: the visible text of '{title}' differs from the "
                                   f"report it embeds: {_where_differs(shown, expected)}")
    if len(out.differences) == before:
        out.notes.append(f"{name}: its visible text is what its embedded report renders")


def compare_text_pdf(text: str, hash_entry: Optional[str], payload: dict, out: Any,
                     name: str = "report.pdf") -> None:
    """A text audit's PDF report against the report it embeds: its verdict lines, status words
    and figures are those its HTML page renders (``rendering.compare_printed``)."""
    from unlearn_core.report.text import render_text_html
    from unlearn_core.verify.rendering import compare_printed

    def rendered() -> tuple[list[tuple[str, str]], str]:
        return [(str(v["method"]), str(v["status"])) for v in payload["result"]["verdicts"]], \
            render_text_html(payload)

    compare_printed(text, hash_entry, payload, out, name, rendered)


def check_text_data(payload: dict, out: Any, data: Optional[str | Path] = None,
                    base: Optional[Path] = None) -> Optional[Path]:
    """The user data file of a text audit, found (``data``, the recorded path, or beside the
    report) and checked by SHA-256; None for the built-in fact set or when not usable."""
    cfg = payload["reproducibility"].get("config") or {}
    rec = payload["reproducibility"].get("data")
    if not cfg.get("data_path"):
        return None
    name = (rec or {}).get("file") or Path(cfg["data_path"]).name
    candidates = [Path(data).expanduser()] if data is not None else \
        [Path(cfg["data_path"]).expanduser()] + ([base / name] if base is not None else [])
    for path in candidates:
        if not path.is_file():
            continue
        if rec and rec.get("sha256") and sha256_file(path) != rec["sha256"]:
            out.differences.append(f"data: the file at {path} is not the audited '{name}' "
                                   "(its sha256 differs)")
            return None
        out.notes.append(f"data file {name} matches its recorded sha256")
        return path
    out.differences.append(f"data: the audited file '{name}' is not at '{cfg['data_path']}': "
                           "pass --data PATH to re-run on it")
    return None


def config_from_dict(d: dict):
    """A ``TextAuditConfig`` from its recorded JSON."""
    from unlearn_core.text.audit import TextAuditConfig, TextMethodSpec
    from unlearn_core.text.facts import FactSetConfig
    from unlearn_core.text.lm import LMTrainConfig, TinyGPTConfig

    try:
        known = {f.name for f in dataclasses.fields(TextAuditConfig)}
        plain = {k: v for k, v in d.items() if k in known and k not in
                 ("facts", "model", "train", "methods", "claim")}
        plain.setdefault("extend_references", 0)  # recorded before the sequential rule
        if d.get("claim"):  # a third-party claim: its folders and recipe, as recorded
            from unlearn_core.text.claim import TextClaimSpec

            plain["claim"] = TextClaimSpec(**d["claim"])
        return TextAuditConfig(
            **plain, facts=FactSetConfig(**d.get("facts", {})),
            model=TinyGPTConfig(**d.get("model", {})), train=LMTrainConfig(**d.get("train", {})),
            methods=[TextMethodSpec(m["name"], dict(m.get("params", {})))
                     for m in d.get("methods", [])])
    except (TypeError, KeyError) as err:
        raise ConfigError(f"the recorded text config cannot be read: {err}")


def rerun_text(payload: dict, out: Any, data: Optional[Path] = None,
               progress: Optional[ProgressFn] = None) -> None:
    """Run the recorded config again with every model trained afresh and compare: forget set
    and fingerprint exactly, each recorded check figure within tolerance, every verdict."""
    from unlearn_core.text.audit import run_text_audit
    from unlearn_core.text.cache import ModelCache

    old = payload["result"]
    cfg = config_from_dict(payload["reproducibility"].get("config") or {})
    if data is not None:
        cfg.data_path = str(data)
    new = run_text_audit(cfg, progress, ModelCache(enabled=False)).result
    if list(new.forget_ids) != list(old.get("forget_ids", [])):
        out.differences.append("the forget set differs: the data or request is not the one "
                               "audited")
    new_by = {(m.check, m.model): m for m in new.measurements}
    for m in measurements_from_dicts(old.get("measurements") or []):
        n = new_by.get((m.check, m.model))
        if n is None:
            out.differences.append(f"{m.model}: check {m.check} was not measured again")
            continue
        tol = ACC_TOL if m.check.endswith("accuracy") else SCORE_TOL * max(1.0, abs(m.figure)) \
            if math.isfinite(m.figure) else SCORE_TOL
        if not _close(m.figure, n.figure, tol):
            out.differences.append(f"{m.model}: {m.check} recorded {m.figure:.4f}, reproduced "
                                   f"{n.figure:.4f} (tolerance {tol:.3g})")
    again = {v.method: v.status for v in new.verdicts}
    for v in old.get("verdicts") or []:
        if again.get(v["method"]) != v.get("status"):
            out.differences.append(f"{v['method']}: verdict recorded {v.get('status')}, "
                                   f"reproduced {again.get(v['method'])}")
    hashes = payload["reproducibility"].get("model_hashes") or {}
    same = [e.name for e in [new.original, *new.retrains, *new.methods]
            if hashes.get(e.name) == e.model_hash]
    if same:
        out.notes.append(f"bit-identical models on re-run: {', '.join(same)}")


def _gathered(folder: str, mine: list[dict], found: dict[str, Path], scratch: Path) -> str:
    """A model folder as a re-run loads it, from the records of its files (``mine``): the
    recorded folder when they are all there, else a copy of the files found (a bundle keeps
    each in its own folder) under ``scratch``, in a folder of the same name (a claim's
    default label is its folder's)."""
    where = [found.get(str(f.get("path"))) for f in mine]
    names = [Path(folder).name, *(Path(str(f.get("path"))).name for f in mine)]
    if not mine or None in where or all(w == Path(str(f["path"])) for w, f in zip(where, mine)) \
            or not all(_plain(n) for n in names):
        return folder  # at its place, missing (said already), or a name no folder may hold
    target = scratch / str(len(list(scratch.iterdir()))) / Path(folder).name
    target.mkdir(parents=True)
    for w, f in zip(where, mine):
        shutil.copyfile(w, target / Path(str(f["path"])).name)
    return str(target)


def _plain(name: str) -> bool:
    """A file or folder name a report may make us create: no path, no '.' or '..'."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\\" not in name


def relocated_text_inputs(payload: dict, found: dict[str, Path], scratch: Path) -> dict:
    """The payload with its recorded model folders and recipe (a claim's, or the user's own
    ``model_path`` and ``recipe``) read from where ``check_claim_files`` found their files,
    for the stored weights' and the re-run's models; nothing else changes (integrity was
    checked on the payload as recorded)."""
    repro = payload.get("reproducibility") or {}
    cfg = dict(repro.get("config") or {})
    if not found:
        return payload

    def files(block: str) -> list[dict]:
        return [f for f in (repro.get(block) or {}).get("files") or [] if isinstance(f, dict)]

    def recipe(path: str) -> str:
        return str(found.get(path, path)) if path else path

    claim = cfg.get("claim")
    if isinstance(claim, dict):
        recorded = files("claim")

        def folder(path: str) -> str:
            mine = [f for f in recorded if Path(str(f.get("path", ""))).parent == Path(path)]
            return _gathered(path, mine, found, scratch)

        cfg["claim"] = dict(claim, original=folder(str(claim.get("original", ""))),
                            claimed=[folder(str(c)) for c in claim.get("claimed") or []],
                            recipe=recipe(str(claim.get("recipe") or "")))
    elif cfg.get("model_path"):
        model = [f for f in files("inputs") if f.get("role") == "model"]
        cfg["model_path"] = _gathered(str(cfg["model_path"]), model, found, scratch)
        cfg["recipe"] = recipe(str(cfg.get("recipe") or "")) or cfg.get("recipe")
    return {**payload, "reproducibility": {**repro, "config": cfg}}


def _weights_file(art: dict, artifacts: dict[str, Path], base: Optional[Path]) -> Path:
    if art.get("name") in artifacts:
        return artifacts[art["name"]]
    path = Path(str(art.get("path", "")))
    if not path.exists() and base is not None and (base / "artifacts" / path.name).exists():
        return base / "artifacts" / path.name
    return path


def _architecture(cfg, data: Optional[Path]):
    """A model of the audited architecture and tokenizer, whose weights the stored ones
    replace: the user's or claimant's folder, else the built-in tiny GPT built from the data."""
    from unlearn_core.text.audit import load_items
    from unlearn_core.text.lm import build_tiny_gpt, item_texts, load_lm

    folder = cfg.claim.original if cfg.claim is not None else cfg.model_path
    if folder:
        return load_lm(folder) if Path(folder).is_dir() else None
    if cfg.data_path and data is None:
        return None
    if data is not None:
        cfg = dataclasses.replace(cfg, data_path=str(data))
    return build_tiny_gpt(item_texts(load_items(cfg)), cfg.model, seed=cfg.seed)


def check_text_weights(payload: dict, out: Any, artifacts: Optional[dict[str, Path]] = None,
                       base: Optional[Path] = None, data: Optional[Path] = None) -> None:
    """The weights the run store recorded (a bundle's ``artifacts/<label>.safetensors``),
    loaded into the audited architecture: each must give the model hash the report records
    for that label (integrity has checked the files' SHA-256; this ties them to the models
    that were scored)."""
    from unlearn_core.text.cache import model_hash

    repro = payload.get("reproducibility") or {}
    weights = [a for a in repro.get("artifacts") or [] if a.get("kind") == "weights"]
    if not weights:
        return
    hashes = repro.get("model_hashes") or {}
    lm = _architecture(config_from_dict(repro.get("config") or {}), data)
    if lm is None:
        out.notes.append("stored weights not loaded: the audited model folder or data file "
                         "is not here")
        return
    before = len(out.differences)
    for art in weights:
        label = str(art["name"]).removesuffix(".safetensors")
        path = _weights_file(art, artifacts or {}, base)
        if not path.is_file():
            continue  # integrity has said it is missing
        try:
            got = model_hash(lm.load_weights(path))
        except Exception as err:
            out.differences.append(f"stored weights of {label} do not load into the audited "
                                   f"architecture: {str(err).splitlines()[0][:160]}")
            continue
        if hashes.get(label) != got:
            out.differences.append(f"stored weights of {label} are not the model the report "
                                   "scored (its model hash differs)")
    if len(out.differences) == before:
        out.notes.append(f"the {len(weights)} stored weights give the recorded model hashes")


def verify_text_payload(payload: dict, out: Any, progress: Optional[ProgressFn] = None,
                        rerun: bool = True, data: Optional[str | Path] = None,
                        base: Optional[Path] = None, announce: Optional[Announce] = None,
                        artifacts: Optional[dict[str, Path]] = None) -> Any:
    """The text-specific part of ``verify``: verdicts judged again, the data file by hash,
    then (``rerun``) a fresh re-run compared, last, and only when nothing before differed
    (``announce`` is told when it starts)."""

    result = payload.get("result")
    if not isinstance(result, dict) or "original" not in result:
        out.differences.append("the text result block cannot be read")
        return out
    check_text_evidence(result, out)
    try:
        rules = int(((payload.get("reproducibility") or {}).get("versions") or {})
                    .get("judge_rules", 1))
    except (TypeError, ValueError):
        rules = 1
    rejudge_text(result, out, rules)
    # a claim's files, or the user's own model folder and recipe: recorded place or bundle
    found = {**check_claim_files(payload, out, base),
             **check_claim_files(payload, out, base, block="inputs")}
    data_path = check_text_data(payload, out, data, base) if rerun or data is not None else None
    with tempfile.TemporaryDirectory(prefix="verify-inputs-") as scratch:
        payload = relocated_text_inputs(payload, found, Path(scratch))
        check_text_weights(payload, out, artifacts, base, data_path)  # hashed, not evaluated
        if rerun:
            if may_rerun(out, announce):
                rerun_text(payload, out, data_path, progress)
        else:
            out.notes.append("not re-run (--no-rerun): the recorded figures were judged again "
                             "only")
    return out
