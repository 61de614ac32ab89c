"""Foreign models as ``torch.export`` programs (``.pt2``), checked before torch reads them.

TorchScript (``torch.jit.save`` / ``torch.jit.load``) is deprecated in torch 2.13 in favour of
``torch.export`` (Ansel et al., "PyTorch 2", ASPLOS 2024): a program is an ATen-level graph in
JSON plus raw tensor files in a ZIP. ``torch.export.load`` itself is not safe for an uploaded
file: it unpickles (``pickle.loads`` for opaque constants, ``torch.load(weights_only=False)``
for weights marked ``use_pickle`` and as the fallback when a weights-only load fails), it
``exec``s the program's ``guards_code`` when the module is built, it resolves every node target
by ``getattr`` from ``torch`` (so ``torch.os.system`` is a reachable target), it parses shape
expressions with ``sympy.sympify`` (an ``eval``), it imports modules named in ``__enum__``
objects and tree specs, and it loads AOTInductor shared libraries. So an archive is read here
only after ``check_program`` has accepted it, entry by entry, with an allow list:

- only the files ``torch.export.save`` writes (stored, not compressed, as it writes them:
  nothing to inflate) for one program named ``model`` (format and
  version stamps, ``models/model.json``, the weights and constants configs, raw ``weight_N`` /
  ``tensor_N`` files, ``sample_inputs/model.pt``); no AOTInductor, ExecuTorch, legacy ``.pt``
  weights, custom or opaque objects, extra files;
- every payload raw (``use_pickle`` false); the sample inputs load with
  ``torch.load(weights_only=True)`` (so torch's fallback is never taken);
- every graph node calls an ATen operator (``torch.ops.aten.*``), ``operator`` indexing or
  arithmetic on sizes, or ``torch.sym_*`` (max, min...);
  no ``guards_code``, no custom objects, no named tuples, tree specs of tuples, lists and
  dicts only, no ``__enum__``; every shape expression made of sympy's integer vocabulary
  (``Symbol('s0', positive=True, integer=True)``, ``Mul``, ``FloorDiv``...) and nothing else;
  names and qualified names plain identifiers.

A program's train / eval behaviour is fixed when it is exported (BatchNorm uses its running
statistics, dropout is off, as in ``model.eval()``): ``ExportedModel`` keeps ``train()`` from
reaching the graph, so methods can still fine-tune its weights.
"""

from __future__ import annotations

import copy
import io
import json
import re
import warnings
import zipfile
from pathlib import Path
from typing import Union

import torch
from torch import nn

from unlearn_core.errors import ModelError
from unlearn_core.models.io import MAX_JSON_DEPTH, MAX_MODEL_BYTES, Source, _read_bytes
from unlearn_core.serialize import json_depth

MAX_ENTRIES = 20_000  # files in a .pt2 archive
MAX_JSON_BYTES = 256 * 2**20  # the program's JSON
MAX_BATCH = 1_000_000  # the exported batch dimension's upper bound
PROGRAM = "model"  # the one program a .pt2 may hold (torch.export.save's name)
_FIXED_FILES = {
    "archive_format", "archive_version", "byteorder", ".data/version",
    ".data/serialization_id", f"models/{PROGRAM}.json",
    f"data/weights/{PROGRAM}_weights_config.json",
    f"data/constants/{PROGRAM}_constants_config.json",
    f"data/sample_inputs/{PROGRAM}.pt",
}
_RAW_FILE = re.compile(r"^data/(weights/weight|constants/tensor)_\d{1,6}$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,199}$")
_QUALNAME = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+){0,63}$")
# symbolic-size arithmetic and indexing of the outputs of multi-output operators
_ALLOWED_TARGETS = {f"_operator.{op}" for op in (
    "getitem", "add", "sub", "mul", "floordiv", "truediv", "mod", "neg", "pow", "eq", "ne",
    "lt", "le", "gt", "ge", "and_", "or_")} | {f"torch.sym_{op}" for op in (
        "max", "min", "not", "float", "int", "ite", "sqrt", "sum")}
_ATEN = re.compile(r"^torch\.ops\.aten\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+$")
_BLOCKED_ATEN = {"from_file", "_from_file"}  # reads a file into a tensor
_SPEC_TYPES = {None, "builtins.tuple", "builtins.list", "builtins.dict"}
# the sympy vocabulary of integer shape expressions (torch.utils._sympy.functions included)
_SYMPY_NAMES = {
    "Symbol", "Integer", "Rational", "Float", "Add", "Mul", "Pow", "Max", "Min", "Abs",
    "FloorDiv", "ModularIndexing", "Mod", "PythonMod", "CeilToInt", "FloorToInt",
    "TruncToInt", "IntTrueDiv", "FloatTrueDiv", "ToFloat", "CleanDiv", "floor", "ceiling",
    "Eq", "Ne", "Lt", "Le", "Gt", "Ge", "And", "Or", "Not", "True", "False", "oo",
    "positive", "negative", "nonnegative", "integer", "real", "finite",
}
_EXPR_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<str>'[A-Za-z_][A-Za-z0-9_]{0,63}')|(?P<op>[()+\-*/,=]))")


class ExportedModel(nn.Module):
    """A ``torch.export`` program as a module: ``forward`` runs the graph; ``train()`` and
    ``eval()`` set this wrapper's flag only (the graph's behaviour was fixed at export)."""

    def __init__(self, program: nn.Module) -> None:
        super().__init__()
        self.program = program

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.program(x)

    def train(self, mode: bool = True) -> "ExportedModel":
        self.training = bool(mode)
        return self

    def __deepcopy__(self, memo: dict) -> "ExportedModel":
        """A copy (``clone_model``) without torch's FutureWarning about its own tree specs."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            program = copy.deepcopy(self.program, memo)
        return ExportedModel(program).train(self.training)


def export_model(model: nn.Module, sample_shape: tuple[int, ...],
                 path: Union[str, Path, None] = None) -> bytes:
    """Export ``model`` (in eval mode) for inputs ``(batch, *sample_shape)`` with a dynamic
    batch size and return the ``.pt2`` bytes (also written to ``path`` when given)."""
    model.eval()
    batch = torch.export.Dim("batch", min=1, max=MAX_BATCH)
    example = torch.zeros((2, *sample_shape), dtype=torch.float32)
    try:
        program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
    except Exception as err:
        raise ModelError(f"the model cannot be exported with torch.export: "
                         f"{_first_line(err)}") from None
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.export.save(program, buf)
    data = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def load_exported(source: Source) -> ExportedModel:
    """A ``.pt2`` program (``torch.export.save``) as a module, after ``check_program``
    accepted every entry of the archive; anything else is a one-line ``ModelError``."""
    raw = _read_bytes(source)
    check_program(raw)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            program = torch.export.load(io.BytesIO(raw))
            module = program.module()
    except Exception as err:
        raise ModelError(f"the torch.export program cannot be loaded: {_first_line(err)}") \
            from None
    wrapped = ExportedModel(module)
    wrapped.eval()
    return wrapped


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__


def _refuse(why: str) -> ModelError:
    return ModelError(f"the .pt2 file is refused: {why} (only torch.export programs of ATen "
                      "operators with raw tensor weights are read; nothing is unpickled)")


def check_program(raw: bytes) -> None:
    """Accept a ``.pt2`` archive only if loading it cannot unpickle, ``exec``, ``eval`` or
    import anything (see the module docstring); raise a one-line ``ModelError`` otherwise."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise ModelError("not a torch.export program (.pt2 is a ZIP archive written by "
                         "torch.export.save)") from None
    with zf:
        if len(infos) > MAX_ENTRIES:
            raise _refuse(f"it has {len(infos)} entries")
        if sum(i.file_size for i in infos) > 2 * MAX_MODEL_BYTES:
            raise _refuse("it unpacks to more than the model size limit")
        roots = {i.filename.split("/", 1)[0] for i in infos}
        if len(roots) != 1 or not _QUALNAME.match(next(iter(roots)).replace("-", "_")):
            raise _refuse("its entries are not under one folder")
        root = next(iter(roots)) + "/"
        files = {}
        for info in infos:
            if info.is_dir():
                continue
            rel = info.filename[len(root):]
            if info.compress_type != zipfile.ZIP_STORED:  # torch.export.save stores entries
                raise _refuse(f"entry {rel!r} is compressed (torch.export.save stores them)")
            if rel not in _FIXED_FILES and not _RAW_FILE.match(rel):
                raise _refuse(f"it holds {rel!r}, which is not part of a plain exported program")
            files[rel] = info
        for need in ("archive_format", f"models/{PROGRAM}.json",
                     f"data/weights/{PROGRAM}_weights_config.json"):
            if need not in files:
                raise _refuse(f"it has no {need}")

        def read(rel: str, cap: int) -> bytes:
            with zf.open(files[rel]) as fh:
                data = fh.read(cap + 1)
            if len(data) > cap:
                raise _refuse(f"{rel} is larger than {cap // 2**20} MiB")
            return data

        if read("archive_format", 64).strip() != b"pt2":
            raise _refuse("its archive_format is not pt2")
        for config in (f"data/weights/{PROGRAM}_weights_config.json",
                       f"data/constants/{PROGRAM}_constants_config.json"):
            if config in files:
                _check_payloads(_json(read(config, MAX_JSON_BYTES), config), config, files)
        sample = f"data/sample_inputs/{PROGRAM}.pt"
        if sample in files:
            try:
                torch.load(io.BytesIO(read(sample, MAX_MODEL_BYTES)), weights_only=True)
            except Exception:
                raise _refuse("its sample inputs are not a weights-only tensor file") from None
        program = _json(read(f"models/{PROGRAM}.json", MAX_JSON_BYTES), "the program")
        _check_graph(program)


def _json(data: bytes, what: str) -> object:
    """JSON of the archive, its nesting bounded before it is parsed (``json_depth``)."""
    if json_depth(data) > MAX_JSON_DEPTH:
        raise _refuse(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise _refuse(f"{what} is not valid JSON") from None


def _check_payloads(config: object, name: str, files: dict) -> None:
    entries = config.get("config") if isinstance(config, dict) else None
    if not isinstance(entries, dict):
        raise _refuse(f"{name} has no config mapping")
    folder = "weights" if "weights" in name else "constants"
    for fqn, meta in entries.items():
        if not isinstance(fqn, str) or not _QUALNAME.match(fqn):
            raise _refuse(f"{name} names a tensor {str(fqn)[:60]!r}")
        if not isinstance(meta, dict) or meta.get("use_pickle") is not False:
            raise _refuse(f"tensor {fqn!r} is stored as a pickle")
        path = meta.get("path_name")
        rel = f"data/{folder}/{path}" if isinstance(path, str) else ""
        if not _RAW_FILE.match(rel) or rel not in files:
            raise _refuse(f"tensor {fqn!r} is not a raw tensor file of the archive")


def _check_expr(text: object) -> None:
    """A shape expression made only of sympy's integer vocabulary, numbers, quoted symbol
    names and arithmetic: what ``sympy.sympify`` may evaluate without harm."""
    if not isinstance(text, str) or len(text) > 10_000:
        raise _refuse("a shape expression is not a short string")
    pos = 0
    while pos < len(text):
        match = _EXPR_TOKEN.match(text, pos)
        if not match or match.end() == pos:
            if text[pos:].strip() == "":
                return
            raise _refuse(f"shape expression {text[:60]!r} holds {text[pos:pos + 20]!r}")
        name = match.group("name")
        if name is not None and name not in _SYMPY_NAMES and not re.match(r"^[a-z]\d+$", name):
            raise _refuse(f"shape expression {text[:60]!r} uses {name!r}")
        pos = match.end()


def _check_spec(text: object) -> None:
    """A pytree spec (JSON text) of tuples, lists and dicts only: other types are imported."""
    if text is None or text == "":
        return
    if not isinstance(text, str):
        raise _refuse("a tree spec is not text")
    spec = _json(text.encode(), "a tree spec")

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "type" in node and node["type"] not in _SPEC_TYPES:
                raise _refuse(f"a tree spec names the type {str(node['type'])[:60]!r}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)


def _check_graph(program: object) -> None:
    if not isinstance(program, dict) or "graph_module" not in program:
        raise _refuse("the program JSON has no graph")
    if program.get("guards_code"):
        raise _refuse("it carries guard code, which torch would execute")
    gm = program["graph_module"]
    if not isinstance(gm, dict) or gm.get("treespec_namedtuple_fields"):
        raise _refuse("it uses named tuples")
    for key in (program.get("range_constraints") or {}):
        _check_expr(key)
    stack = [program]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key == "__enum__" or key in ("as_custom_obj", "as_opaque", "custom_obj_values") \
                    and value:
                raise _refuse(f"it holds {key!r} values")
            if key == "target" and isinstance(value, str):
                _check_target(value)
            elif key == "expr_str":
                _check_expr(value)
            elif key in ("in_spec", "out_spec"):
                _check_spec(value)
            elif key == "name" and isinstance(value, str) and not _IDENTIFIER.match(value):
                raise _refuse(f"a graph value is named {value[:60]!r}")
            elif key in ("parameter_name", "buffer_name", "tensor_constant_name", "fqn") \
                    and isinstance(value, str) and value and not _QUALNAME.match(value):
                raise _refuse(f"a module path is {value[:60]!r}")
            elif key == "metadata":
                continue  # free text (stack traces) that torch keeps as strings
            if isinstance(value, (dict, list)):
                stack.append(value)


def _check_target(target: str) -> None:
    if target in _ALLOWED_TARGETS:
        return
    if not _ATEN.match(target) or target.split(".")[3] in _BLOCKED_ATEN:
        raise _refuse(f"a graph node calls {target[:80]!r}, not an ATen operator")
