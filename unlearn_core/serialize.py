"""Plain-data <-> JSON: dataclasses of numpy arrays and floats, written and read back exactly."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import re
import secrets
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np


def to_jsonable(obj: Any) -> Any:
    """Dataclasses become dicts, arrays lists, NaN/inf None-safe strings; recursively."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()] if obj.dtype.kind == "f" else obj.tolist()
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else ("NaN" if math.isnan(v) else ("Infinity" if v > 0
                                                                          else "-Infinity"))
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    return obj


def _float(v: Any) -> float:
    return float("nan") if v is None else float(v)


def from_jsonable(cls: Any, data: Any) -> Any:
    """Rebuild ``cls`` (a dataclass or a typed container of them) from ``to_jsonable`` output."""
    origin = typing.get_origin(cls)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(cls) if a is not type(None)]
        return None if data is None else from_jsonable(args[0], data)
    if cls is Any:
        return data
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        kwargs = {f.name: from_jsonable(hints[f.name], data[f.name])
                  for f in dataclasses.fields(cls) if f.init and f.name in data}
        return cls(**kwargs)
    if cls is np.ndarray:
        arr = np.array([_float(v) if isinstance(v, str) else v for v in data]) if data and \
            isinstance(data[0], (str, float, type(None))) else np.array(data)
        return arr
    if origin in (list, tuple):
        args = typing.get_args(cls)
        inner = args[0] if args else Any
        items = [from_jsonable(inner, v) for v in data]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        _, vt = typing.get_args(cls) or (Any, Any)
        return {k: from_jsonable(vt, v) for k, v in data.items()}
    if cls is float:
        return _float(data)
    if cls in (int, str, bool):
        return cls(data)
    return data


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def json_depth(text: str | bytes) -> int:
    """How deep the arrays and objects of JSON text nest, counted on the text before it is
    parsed (strings skipped), in bounded memory: a document nested 100,000 deep makes
    ``json.loads`` and every recursive walk over its result fail, so callers refuse it first."""
    data = _JSON_STRING.sub(b'""', text.encode() if isinstance(text, str) else bytes(text))
    deepest = depth = 0
    step = 1 << 24
    for start in range(0, len(data), step):
        chunk = np.frombuffer(data, np.uint8, count=min(step, len(data) - start), offset=start)
        moves = np.isin(chunk, (0x5B, 0x7B)).astype(np.int32) - \
            np.isin(chunk, (0x5D, 0x7D)).astype(np.int32)
        running = np.cumsum(moves) + depth
        deepest, depth = max(deepest, int(running.max())), int(running[-1])
    return deepest


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` through a temporary file in the same folder
    renamed over it: a reader sees the old file or the whole new one, and a full disk or a
    file-size limit (``OSError``, re-raised) leaves no truncated file behind."""
    return write_files_atomic({Path(path): data})[0]


def write_files_atomic(files: dict[Path, str | bytes]) -> list[Path]:
    """Write several files as ``write_atomic`` does, all or none: every temporary file is
    written (where a full disk or a size limit fails) before the first is renamed into place,
    so a report's JSON and HTML never end up from two different audits."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            path = Path(path)
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
            staged.append((tmp, path))
            with open(tmp, "xb") as fh:
                fh.write(data.encode("utf-8") if isinstance(data, str) else bytes(data))
                fh.flush()
                os.fsync(fh.fileno())
        for tmp, path in staged:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    return [path for _, path in staged]
