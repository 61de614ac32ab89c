"""User text data: JSONL or CSV of question/answer pairs (or plain documents) mapped onto the
fact set's schema (``QAItem``), so every method and metric of the text track runs on it.

Columns / keys: ``id`` and ``answer`` (or ``text`` for a plain document, which then has an
empty question) are required; ``question``, ``group`` (the unit to forget, e.g. the person;
defaults to the id), ``split`` (``train``; ``holdout``: never-trained non-members for the
membership attacks; ``world``: shared facts every model trains on and none forgets, scored for
utility), ``paraphrased_answer``, ``perturbed_answers`` (a JSON list, or in CSV
``|``-separated) and ``value`` (the word(s) a correct answer must contain; without it the whole
answer must be reproduced) are optional; TOFU's ``perturbed_answer`` is read as
``perturbed_answers``, and every other key is named in one ``TextDataWarning`` line, never
dropped in silence. A ``.json`` file is one of TOFU's split files (JSON lines, no ids:
``text/tofu.py``). The built-in set's ``--export-facts`` file is an
example. Without paraphrase the answer itself is the truth-ratio's "true"
side (as OpenUnlearning does for real authors and world facts, Maini et al. 2024).
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path
from typing import Sequence

from unlearn_core.errors import DataError
from unlearn_core.text.facts import QAItem
from unlearn_core.text.tofu import tofu_files, tofu_rows

MAX_ROWS = 50_000
MAX_CHARS = 4_000
SPLITS = ("train", "holdout", "world")
KEYS = ("id", "group", "question", "answer", "text", "split", "paraphrased_answer",
        "perturbed_answers", "perturbed_answer", "attribute", "value")


class TextDataWarning(UserWarning):
    """Keys of a text data file that are not read, or TOFU keys that are missing."""


def load_text_data(path: str | Path) -> list[QAItem]:
    """Read a ``.jsonl`` or ``.csv`` file of QA pairs or documents; one clear error per fault."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        return load_tofu([p])
    if p.suffix.lower() not in (".jsonl", ".csv"):
        raise DataError(f"'{p.name}': text data must be .jsonl or .csv (or a TOFU .json "
                        f"file), not '{p.suffix}'")
    text = read_text(p)
    rows = _jsonl_rows(text, p.name) if p.suffix.lower() == ".jsonl" else _csv_rows(text, p.name)
    warn_unread_keys(rows, p.name)
    return rows_to_items(rows, p.name)


def load_tofu(paths: Sequence[str | Path]) -> list[QAItem]:
    """TOFU's split files as published (``forget01.json``, ``retain99.json``,
    ``holdout01.json``, their ``*_perturbed`` variants, ``world_facts.json``...; JSON lines)
    merged into one item list; a folder stands for the TOFU files in it. Ids are assigned
    where absent (``forget01:0``...) and every unread or missing key is named in one
    ``TextDataWarning`` line (``text/tofu.py`` says how the files map onto items)."""
    files: dict[str, list[dict]] = {}
    for path in tofu_files(paths):
        files[path.name] = _jsonl_rows(read_text(path), path.name)
    rows, note = tofu_rows(files)
    if note:
        warnings.warn(note, TextDataWarning, stacklevel=2)
    return rows_to_items(rows, ", ".join(files))


def save_text_data(items: Sequence[QAItem], path: str | Path) -> Path:
    """Write items as one ``.jsonl`` file that ``load_text_data`` reads back unchanged (merged
    TOFU split files become one file an audit report can pin by SHA-256)."""
    p = Path(path)
    p.write_text("".join(json.dumps(it.to_dict()) + "\n" for it in items), encoding="utf-8")
    return p


def read_text(path: Path) -> str:
    """A data file's text as UTF-8, one clear error when it cannot be read."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read '{path}': {err.strerror}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DataError(f"'{path.name}' is not UTF-8 text")


def warn_unread_keys(rows: list[dict], name: str) -> None:
    """One ``TextDataWarning`` naming every key of ``rows`` that nothing reads."""
    unread = sorted({k for row in rows for k in row} - set(KEYS))
    if unread:
        warnings.warn(f"'{name}': keys not read (ignored): {', '.join(unread)}",
                      TextDataWarning, stacklevel=3)


def _jsonl_rows(text: str, name: str) -> list[dict]:
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as err:  # RecursionError: nested deep
            raise DataError(f"'{name}' line {n} is not valid JSON: "
                            f"{getattr(err, 'msg', 'it nests too deep')}")
        if not isinstance(row, dict):
            raise DataError(f"'{name}' line {n} must be a JSON object")
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise DataError(f"'{name}' has more than {MAX_ROWS} rows")
    return rows


def _csv_rows(text: str, name: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for row in reader:
        if None in row:
            raise DataError(f"'{name}' row {reader.line_num} has more cells than the header")
        rows.append({k.strip(): v for k, v in row.items() if k is not None})
        if len(rows) > MAX_ROWS:
            raise DataError(f"'{name}' has more than {MAX_ROWS} rows")
    return rows


def _text(row: dict, key: str, where: str) -> str:
    value = row.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, (str, int, float)):
        raise DataError(f"{where}: '{key}' must be text")
    value = str(value).strip()
    if len(value) > MAX_CHARS:
        raise DataError(f"{where}: '{key}' is longer than {MAX_CHARS} characters")
    return value


def rows_to_items(rows: list[dict], name: str = "data") -> list[QAItem]:
    """Validate parsed rows and turn them into ``QAItem``s."""
    if not rows:
        raise DataError(f"'{name}' holds no rows")
    items: list[QAItem] = []
    seen: set[str] = set()
    for n, row in enumerate(rows, 1):
        where = f"'{name}' row {n}"
        if "id" not in row or _text(row, "id", where) == "":
            raise DataError(f"{where} has no 'id'")
        ident = _text(row, "id", where)
        if ident in seen:
            raise DataError(f"{where}: duplicate id '{ident}'")
        seen.add(ident)
        answer = _text(row, "answer", where) or _text(row, "text", where)
        if not answer:
            raise DataError(f"{where} needs a non-empty 'answer' (or 'text' for a document)")
        split = _text(row, "split", where) or "train"
        if split not in SPLITS:
            raise DataError(f"{where}: split must be one of {', '.join(SPLITS)}, not '{split}'")
        pert = row.get("perturbed_answers", row.get("perturbed_answer", []))
        if isinstance(pert, str):
            pert = [p.strip() for p in pert.split("|") if p.strip()]
        if not isinstance(pert, list) or not all(isinstance(p, str) for p in pert):
            raise DataError(f"{where}: 'perturbed_answers' must be a list of texts")
        items.append(QAItem(
            id=ident, group=_text(row, "group", where) or ident,
            question=_text(row, "question", where), answer=answer,
            paraphrased_answer=_text(row, "paraphrased_answer", where),
            perturbed_answers=tuple(p.strip() for p in pert), split=split,
            attribute=_text(row, "attribute", where), value=_text(row, "value", where)))
    if not any(it.split == "train" for it in items):
        raise DataError(f"'{name}' has no training rows (split 'train')")
    return items
