"""TOFU's data layout (Maini et al., arXiv 2401.06121; ``locuslab/TOFU``) mapped onto the text
track's rows: which split file is what, how the ``*_perturbed`` variants merge into their split,
and the ids and groups TOFU does not carry.

TOFU publishes one JSON-lines file per split: ``full``, ``forget01`` / ``forget05`` /
``forget10``, ``retain90`` / ``retain95`` / ``retain99`` (``question``, ``answer``),
``holdout01``..., their ``*_perturbed`` variants (adding ``paraphrased_answer`` and
``perturbed_answer``, a list of wrong answers; ``paraphrased_question`` is not read), and
``real_authors`` / ``world_facts`` (with ``_perturbed``). Here:

- ``holdout*`` rows are never trained (split ``holdout``), ``real_authors*`` and
  ``world_facts*`` rows are shared facts every model trains on (``world``), the rest train;
- a ``*_perturbed`` row is matched to the loaded split row with the same question and fills
  in its paraphrase and wrong answers; one with no such row is an item of its own;
- ids, where a row has none, are ``FILE:ROW`` (``forget01:0``; the ``_perturbed`` suffix
  dropped, so a split and its variant give the same ids); groups are the forget split itself
  (``--forget group:forget01`` forgets TOFU's forget01) and otherwise TOFU's authors, 20
  consecutive questions each (``retain99:author0``);
- a question in two non-perturbed files is refused (TOFU's splits overlap: ``full`` holds
  ``forget01``; load a forget split with its retain split, forget01 with retain99).

The row checks (non-empty answer, list of wrong answers, unique ids) are
``userdata.rows_to_items``'; this module reads no file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from unlearn_core.errors import DataError

QUESTIONS_PER_AUTHOR = 20
TOFU_KEYS = ("question", "answer", "paraphrased_answer", "perturbed_answer")
OWN_KEYS = ("id", "group", "split", "text", "perturbed_answers", "attribute", "value")
PERTURBED = "_perturbed"


def tofu_files(paths: Sequence[str | Path]) -> list[Path]:
    """The files to read: each path given, and for a folder its ``*.json`` files by name."""
    out: list[Path] = []
    for p in (Path(x) for x in paths):
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() == ".json")
            if not found:
                raise DataError(f"folder '{p}' holds no TOFU .json files")
            out += found
        else:
            out.append(p)
    if not out:
        raise DataError("no TOFU files given")
    names = [p.name for p in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataError(f"two TOFU files are named '{twice[0]}'")
    return out


def split_of(base: str) -> str:
    """The text track's split of a TOFU file (by its name without ``_perturbed``)."""
    if base.startswith("holdout"):
        return "holdout"
    if base.startswith(("real_authors", "world_facts")):
        return "world"
    return "train"


def _stem(name: str) -> tuple[str, bool]:
    stem = Path(name).stem
    return (stem[: -len(PERTURBED)], True) if stem.endswith(PERTURBED) else (stem, False)


def _row(raw: dict, base: str, n: int, ident: str) -> dict:
    row = {k: v for k, v in raw.items() if k in TOFU_KEYS + OWN_KEYS}
    row.setdefault("id", ident)
    row.setdefault("split", split_of(base))
    if "group" not in row:
        row["group"] = base if base.startswith("forget") else \
            f"{base}:author{n // QUESTIONS_PER_AUTHOR}"
    return row


def _has_wrong(row: dict) -> bool:
    return bool(row.get("perturbed_answer") or row.get("perturbed_answers"))


def tofu_rows(files: dict[str, list[dict]]) -> tuple[list[dict], str]:
    """Rows in the text track's schema from TOFU files (name -> parsed JSON rows, in the
    given order), and one line naming every unread or missing key ("" when none)."""
    rows: list[dict] = []
    by_question: dict[str, tuple[dict, str]] = {}
    plain_bases = {_stem(n)[0] for n in files if not _stem(n)[1]}
    order = [n for n in files if not _stem(n)[1]] + [n for n in files if _stem(n)[1]]
    no_id = 0
    for name in order:
        base, perturbed = _stem(name)
        for n, raw in enumerate(files[name]):
            no_id += "id" not in raw
            question = str(raw.get("question", "")).strip()
            if perturbed and question in by_question:
                target = by_question[question][0]
                if "paraphrased_answer" in raw:
                    target.setdefault("paraphrased_answer", raw["paraphrased_answer"])
                if "perturbed_answer" in raw and not _has_wrong(target):
                    target["perturbed_answer"] = raw["perturbed_answer"]
                continue
            prefix = Path(name).stem if perturbed and base in plain_bases else base
            row = _row(raw, base, n, f"{prefix}:{n}")
            if question and question in by_question:
                raise DataError(
                    f"'{name}' row {n + 1}: its question is also in '{by_question[question][1]}' "
                    "(TOFU's splits overlap: load a forget split with its retain split, "
                    "forget01 with retain99, not with full)")
            if question:
                by_question[question] = (row, name)
            rows.append(row)
    unread = sorted({k for raws in files.values() for raw in raws for k in raw}
                    - set(TOFU_KEYS + OWN_KEYS))
    missing = []
    if no_id:
        missing.append(f"id in {no_id} rows (assigned as FILE:ROW)")
    wrong = sum(not _has_wrong(r) for r in rows)
    if wrong:
        missing.append(f"perturbed_answer in {wrong} of {len(rows)} items (no truth ratio "
                       "there: forget quality is n/a when the forget set has none; add the "
                       "*_perturbed files)")
    para = sum(not r.get("paraphrased_answer") for r in rows)
    if para:
        missing.append(f"paraphrased_answer in {para} of {len(rows)} items (the truth ratio's "
                       "paraphrase side uses the answer there)")
    parts = []
    if unread:
        parts.append(f"keys not read (ignored): {', '.join(unread)}")
    if missing:
        parts.append(f"missing: {'; '.join(missing)}")
    note = f"TOFU data ({', '.join(files)}): {'; '.join(parts)}" if parts else ""
    return rows, note
