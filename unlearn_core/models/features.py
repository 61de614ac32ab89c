"""Features read from a model's real computation: the activation that feeds its output layer
during an actual forward pass, never what a model says about itself.

A submitted model's self-description (a ``body`` attribute, an ``embed`` method) is part of the
claim, not evidence: a model whose ``embed`` returns another network's features while its
``forward`` runs other weights would be read as that other network. So features are captured
while ``model(x)`` runs:

- a registry architecture (``models.registry.Classifier``, ``head(body(x))``, anywhere inside
  the model): the input of its ``head`` module, by a forward pre-hook; several heads that run
  (an ensemble, a mixture) give their inputs side by side, since the output is linear in them;
- an exported program (``.pt2``, an ``torch.fx`` graph) or a TorchScript module: the graph is
  walked back from its output to the nearest linear operators (``linear``, ``addmm``, ``mm``,
  ``matmul``) and their input activations are recorded while the graph itself runs (an
  ``fx.Interpreter``; for TorchScript the same graph with that value as a second output);
- any other module: the input of the last ``nn.Linear`` that ran with the output's width.

A layer that sees only some rows of a batch, or nothing that can be read, raises a one-line
``ModelError``: the caller then has no features to judge, and says so. Blocks (for the probe's
and CKA's per-layer figures) are the activations of the one registry body whose head ran.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from unlearn_core.errors import ModelError
from unlearn_core.models.registry import Classifier

_LINEAR = ("linear", "addmm", "mm", "matmul")  # operators of an output layer
_ACTIVATIONS = (nn.ReLU, nn.GELU, nn.Tanh)


def _op_name(target: object) -> str:
    """``linear`` for ``torch.ops.aten.linear.default`` / ``aten::linear``."""
    text = str(target)
    text = text.split("::")[-1] if "::" in text else text
    parts = text.split(".")
    return parts[1] if parts[0] == "aten" and len(parts) > 1 else parts[0]


def nearest_linear(outputs: list, inputs_of: Callable, op_of: Callable,
                   depends_on_input: Callable, key: Callable = id) -> list:
    """Walk back from a graph's outputs to the nearest linear operators and return, for each,
    the argument that carries the activation (the input-dependent one, not the weight): the
    features the output is computed from, in the order found. Generic over fx and TorchScript
    graphs through the callables (``inputs_of(v)``: the positional inputs of the operator that
    produced ``v``, None at a graph input; ``op_of(v)``: its operator name; ``key(v)``: a
    hashable identity)."""
    found, seen, stack = [], set(), list(outputs)
    while stack:
        value = stack.pop()
        node_args = inputs_of(value)
        if node_args is None or key(value) in seen:
            continue
        seen.add(key(value))
        op = op_of(value)
        if op in _LINEAR:
            args = node_args[1:] if op == "addmm" else node_args  # addmm(bias, input, weight)
            act = next((a for a in args if depends_on_input(a)), None)
            if act is not None:
                if key(act) not in {key(a) for a in found}:
                    found.append(act)
                continue
        stack.extend(a for a in node_args if depends_on_input(a))
    return found


def _flat(args: object) -> list:
    """The positional arguments of an fx node, nested lists and tuples flattened in order."""
    out = []
    for a in args:
        out.extend(_flat(a) if isinstance(a, (list, tuple)) else [a])
    return out


class _FxRecorder(nn.Module):
    """Runs an ``fx.GraphModule`` node by node and records the activations feeding its nearest
    linear operators (stands in for the graph module during one forward pass)."""

    def __init__(self, gm: torch.fx.GraphModule, sink: list) -> None:
        super().__init__()
        self.gm, self.sink = gm, sink
        graph = gm.graph
        placeholders = {n for n in graph.nodes if n.op == "placeholder"}
        dependent: set = set()
        for n in graph.nodes:  # topological order
            if n in placeholders or any(a in dependent for a in n.all_input_nodes):
                dependent.add(n)
        out = next(n for n in graph.nodes if n.op == "output")
        found = nearest_linear(
            list(out.all_input_nodes),
            lambda n: None if n.op == "placeholder" else (
                _flat(n.args) if n.op == "call_function" else list(n.all_input_nodes)),
            lambda n: _op_name(n.target) if n.op == "call_function" else "",
            lambda a: isinstance(a, torch.fx.Node) and a in dependent, key=lambda n: n)
        if not found:
            raise ModelError("the exported program has no linear output layer to read its "
                             "features from")
        order = {n: i for i, n in enumerate(graph.nodes)}
        self.wanted = sorted(found, key=order.__getitem__)

    def forward(self, *args):
        wanted, seen = set(self.wanted), {}

        class Capture(torch.fx.Interpreter):
            def run_node(self, n):
                value = super().run_node(n)
                if n in wanted:
                    seen[n] = value
                return value

        out = Capture(self.gm).run(*args)
        self.sink.extend(seen[n] for n in self.wanted if n in seen)
        return out[0] if isinstance(out, (tuple, list)) and len(out) == 1 else out


class _ScriptRecorder(nn.Module):
    """Runs a TorchScript module's own (inlined) graph with the activations feeding its
    nearest linear operators as extra outputs, and records them."""

    def __init__(self, script: torch.jit.ScriptModule, sink: list) -> None:
        super().__init__()
        self.script, self.sink = script, sink
        try:
            graph = script.inlined_graph.copy()
            inputs = list(graph.inputs())[1:]  # the first input is the module itself
            dependent = {v.debugName() for v in inputs}
            for node in graph.nodes():
                # a node with blocks (an if, a loop) may compute from the input inside them
                if list(node.blocks()) or any(v.debugName() in dependent for v in node.inputs()):
                    dependent.update(v.debugName() for v in node.outputs())
            out = list(graph.outputs())
            acts = nearest_linear(
                out, lambda v: list(v.node().inputs()) if v.node().kind() != "prim::Param"
                else None, lambda v: _op_name(v.node().kind()),
                lambda v: v.debugName() in dependent, key=lambda v: v.debugName())
            if not acts or len(out) != 1:
                raise ModelError("the TorchScript model has no linear output layer to read "
                                 "its features from")
            values = [out[0], *acts]
            tup = graph.create("prim::TupleConstruct", values)
            tup.insertBefore(graph.return_node())
            tup.output().setType(torch._C.TupleType([v.type() for v in values]))
            graph.eraseOutput(0)
            graph.registerOutput(tup.output())
            self.fn = torch._C._create_function_from_graph("unlearn_features", graph)
        except ModelError:
            raise
        except Exception as err:  # private TorchScript API: any failure means "unreadable"
            raise ModelError(f"the TorchScript model's graph cannot be read for its features "
                             f"({type(err).__name__})") from None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.fn(self.script._c, x)
        self.sink.extend(result[1:])
        return result[0]


def _substitute(model: nn.Module, sink: list) -> tuple[nn.Module, list]:
    """Recorders in place of every top-most graph module (exported program or TorchScript)
    inside ``model``; returns the module to call and the undo list."""
    if isinstance(model, torch.jit.ScriptModule):
        return _ScriptRecorder(model, sink), []
    if isinstance(model, torch.fx.GraphModule):
        return _FxRecorder(model, sink), []
    undo = []

    def walk(parent: nn.Module) -> None:
        for name, child in list(parent._modules.items()):
            if isinstance(child, torch.jit.ScriptModule):
                parent._modules[name] = _ScriptRecorder(child, sink)
            elif isinstance(child, torch.fx.GraphModule):
                parent._modules[name] = _FxRecorder(child, sink)
            elif child is not None:
                walk(child)
                continue
            else:
                continue
            undo.append((parent, name, child))

    walk(model)
    return model, undo


def _device(model: nn.Module) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def read_features(model: nn.Module, X: np.ndarray, blocks: bool = False, pool: bool = True,
                  batch_size: int = 2048) -> dict[str, np.ndarray]:
    """Features of the rows of ``X`` as ``model`` computes them (see the module docstring):
    ``"penultimate"``, the activation feeding the output layer, and with ``blocks`` the output
    of every earlier activation of the registry body whose head ran (``"block1"``, ...),
    globally average-pooled over space with ``pool``, else flattened. ``model`` is left as it
    was (hooks removed, graph modules restored)."""
    was_training = model.training
    model.eval()
    sink: list = []
    calls: list = []
    runner, undo = _substitute(model, sink)
    classifiers = [m for m in model.modules() if isinstance(m, Classifier)
                   and isinstance(m.head, nn.Linear)]
    heads = {id(c.head): i for i, c in enumerate(classifiers)}
    hooks = []
    block_acts: dict[int, dict[str, list]] = {}
    fired: set = set()

    def head_hook(module, inputs):
        fired.add(heads[id(module)])
        sink.append(inputs[0])

    for c in classifiers:
        hooks.append(c.head.register_forward_pre_hook(head_hook))
        if blocks and isinstance(c.body, nn.Sequential):
            idx = heads[id(c.head)]
            relus = [i for i, m in enumerate(c.body) if isinstance(m, _ACTIVATIONS)]
            for j, i in enumerate(relus[:-1]):
                def block_hook(_m, _inp, out, idx=idx, name=f"block{j + 1}"):
                    block_acts.setdefault(idx, {}).setdefault(name, []).append(out)

                hooks.append(c.body[i].register_forward_hook(block_hook))
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)] if not classifiers \
        and runner is model and not undo else []
    for m in linears:
        hooks.append(m.register_forward_hook(
            lambda mod, inp, out: calls.append((inp[0], out))))
    dev = _device(model)
    parts: list[np.ndarray] = []
    layers: dict[str, list[np.ndarray]] = {}
    try:
        for s in range(0, len(X), batch_size):
            sink.clear()
            calls.clear()
            fired.clear()
            block_acts.clear()
            xb = torch.as_tensor(X[s:s + batch_size], dtype=torch.float32, device=dev)
            out = runner(xb)
            n, width = xb.shape[0], out.shape[-1] if isinstance(out, torch.Tensor) else 0
            captured = list(sink)
            if not captured and linears:  # no registry head: the last linear of the output width
                last = [inp for inp, o in calls if o.shape[-1] == width]
                captured = last[-1:]
            if not captured:
                raise ModelError("no output layer ran in the model's forward pass: its features "
                                 "cannot be read from its computation")
            if any(t.shape[0] != n for t in captured):
                raise ModelError("the model's output layer saw only some rows of a batch: its "
                                 "features cannot be read from its computation")
            parts.append(torch.cat([t.reshape(n, -1).float() for t in captured], 1)
                         .cpu().numpy())
            if blocks and len(fired) == 1:
                for name, outs in block_acts.get(next(iter(fired)), {}).items():
                    if len(outs) == 1 and outs[0].shape[0] == n:
                        o = outs[0]
                        o = o.mean(dim=(2, 3)) if pool and o.dim() == 4 else o.flatten(1)
                        layers.setdefault(name, []).append(o.float().cpu().numpy())
    finally:
        for h in hooks:
            h.remove()
        for parent, name, child in undo:
            parent._modules[name] = child
        model.train(was_training)
    n_batches = len(parts)
    widths = {p.shape[1] for p in parts}
    if len(widths) > 1:
        raise ModelError("the model's output layer changed width between batches: its features "
                         "cannot be read from its computation")
    feats = {name: np.concatenate(v).astype(np.float64) for name, v in layers.items()
             if len(v) == n_batches}
    feats["penultimate"] = (np.concatenate(parts).astype(np.float64) if parts
                            else np.zeros((0, 0)))
    return feats


def output_features(model: nn.Module, X: np.ndarray, batch_size: int = 2048) -> np.ndarray:
    """The activation feeding ``model``'s output layer for the rows of ``X`` (``read_features``
    without blocks)."""
    return read_features(model, X, batch_size=batch_size)["penultimate"]


def features_problem(model: nn.Module, X: np.ndarray) -> Optional[str]:
    """None when features can be read from ``model`` on a few rows of ``X`` and are hidden
    features; else why not (unreadable, or the output layer reads the inputs themselves, as
    logistic regression does: nothing hidden to look at)."""
    sample = X[: min(len(X), 8)]
    if not len(sample):
        return "no inputs to read features from"
    try:
        f = output_features(model, sample)
    except ModelError as err:
        return str(err)
    flat = sample.reshape(len(sample), -1).astype(np.float64)
    if f.shape == flat.shape and np.allclose(f, flat):
        return ("the model has no hidden layer (its output layer reads the inputs, the same for "
                "every model): nothing to look inside")
    return None


__all__ = ["read_features", "output_features", "features_problem", "nearest_linear"]
