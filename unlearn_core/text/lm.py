"""A tiny causal language model trained from scratch, and safe loading of a user's own.

Choice of library: the model is a ``transformers`` GPT-2 (``GPT2LMHeadModel`` built from a
``GPT2Config``, randomly initialised, nothing downloaded) with a word-level tokenizer trained
locally with ``tokenizers``. A lean pure-torch GPT would import faster, but the issue asks that
*the same code path* load a user's causal LM from a local folder; with ``transformers`` the
built-in model is saved as an ordinary model folder (``config.json``, ``model.safetensors``,
``tokenizer.json``) and read back by exactly the loader a user's GPT-2, Llama, GPT-NeoX...
folder goes through, and every method and metric only calls ``model(input_ids=...,
attention_mask=...).logits``. Both packages install from PyPI without pulling another torch.

Safety of loading (``load_lm``): ``HF_HUB_OFFLINE=1`` is set before ``transformers`` is
imported and every call passes ``local_files_only=True``; ``config.json`` is read as JSON first
and refused when its ``model_type`` is not allowlisted, when it carries ``auto_map`` (remote
code) or when its sizes exceed the CPU caps; weights are read from ``*.safetensors`` only
(``use_safetensors=True``; a folder with only ``pytorch_model.bin`` is refused, so no pickle is
ever read) with ``trust_remote_code=False``; the tokenizer must be a ``tokenizer.json``.

Sequences are laid out as ``[BOS] question answer [EOS]``; losses and scores cover the answer
tokens and EOS only (OpenUnlearning's convention; Maini et al. 2024, TOFU).
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, TypeVar

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from unlearn_core.errors import ModelError  # noqa: E402
from unlearn_core.progress import ProgressFn, report  # noqa: E402
from unlearn_core.text.facts import QAItem  # noqa: E402

SPECIAL = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
ALLOWED_MODEL_TYPES = ("gpt2", "llama", "gpt_neox", "mistral", "qwen2", "opt", "gptj", "phi")
MAX_LAYERS, MAX_WIDTH, MAX_VOCAB, MAX_PARAMS = 48, 4096, 300_000, 400_000_000
# Tiny models gain nothing from intra-op threads, and on a busy 2-core box two threads spin
# against each other (measured: 1.1 s per training step with 2 threads, 0.04 s with 1).
TEXT_THREADS = int(os.environ.get("UNLEARN_TEXT_THREADS", "1"))
_F = TypeVar("_F", bound=Callable)


@contextmanager
def lm_threads() -> Iterator[None]:
    """Run the enclosed torch work on ``TEXT_THREADS`` threads, restoring the setting after."""
    before = torch.get_num_threads()
    if before != TEXT_THREADS:
        torch.set_num_threads(TEXT_THREADS)
    try:
        yield
    finally:
        if before != TEXT_THREADS:
            torch.set_num_threads(before)


def threaded(fn: _F) -> _F:
    """Decorator form of ``lm_threads``."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with lm_threads():
            return fn(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True)
class TinyGPTConfig:
    """Size of the built-in model (GPT-2 layout, no dropout, tied embeddings)."""

    n_embd: int = 128
    n_layer: int = 2
    n_head: int = 4
    n_positions: int = 32


@dataclass(frozen=True)
class LMTrainConfig:
    """Recipe used for the built-in model and for every retrain-from-scratch reference."""

    epochs: int = 40
    lr: float = 3e-3
    batch_size: int = 32
    weight_decay: float = 0.01
    warmup_share: float = 0.05
    seed: int = 0


class TextTokenizer:
    """The few calls the text track needs, over a ``transformers`` tokenizer (the built-in
    word-level one or a user's ``tokenizer.json``)."""

    def __init__(self, hf_tokenizer) -> None:
        self.hf = hf_tokenizer
        eos = hf_tokenizer.eos_token_id
        if eos is None:
            raise ModelError("the tokenizer has no end-of-sequence token")
        self.eos_id: int = int(eos)
        bos = hf_tokenizer.bos_token_id
        # Without a BOS token the prompt starts with EOS (GPT-2's convention), so that even a
        # plain document (empty question) has a first token to predict from.
        self.bos_id: int = self.eos_id if bos is None else int(bos)
        pad = hf_tokenizer.pad_token_id
        self.pad_id: int = self.eos_id if pad is None else int(pad)

    def __len__(self) -> int:
        return len(self.hf)

    def encode(self, text: str) -> list[int]:
        if not text:
            return []
        return list(self.hf(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: Sequence[int]) -> str:
        ids = [int(i) for i in ids if int(i) not in (self.eos_id, self.pad_id, self.bos_id)]
        text = self.hf.decode(ids, skip_special_tokens=True)
        return re.sub(r"\s+([.,?!;:])", r"\1", text).strip()

    def prompt(self, question: str) -> list[int]:
        return [self.bos_id] + self.encode(question)

    def continuation(self, answer: str) -> list[int]:
        return self.encode(" " + answer) + [self.eos_id]


@dataclass
class LanguageModel:
    """A causal LM and its tokenizer; ``source`` says where it came from."""

    model: nn.Module
    tokenizer: TextTokenizer
    source: str = "built-in"

    def clone(self) -> "LanguageModel":
        return LanguageModel(copy.deepcopy(self.model), self.tokenizer, self.source)

    def fresh(self, seed: int) -> "LanguageModel":
        """Same architecture, new random weights (the retrain-from-scratch starting point)."""
        from transformers import AutoModelForCausalLM

        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(self.model.config)
        return LanguageModel(model, self.tokenizer, self.source)

    def weight_bytes(self) -> int:
        """The size of its parameters and buffers, in bytes."""
        return sum(t.numel() * t.element_size() for t in self.model.state_dict().values())

    def save_weights(self, path: str | Path) -> Path:
        """Its weights as one safetensors file (a tied matrix stored once); ``load_weights``
        puts them back into a model of the same architecture."""
        from safetensors.torch import save_model

        save_model(self.model, str(path))
        return Path(path)

    def load_weights(self, path: str | Path) -> "LanguageModel":
        """A copy of this model with the weights of a ``save_weights`` file (strict: every
        tensor by name and shape)."""
        from safetensors.torch import load_model

        out = LanguageModel(copy.deepcopy(self.model), self.tokenizer, self.source)
        load_model(out.model, str(path), strict=True)
        return out

    @property
    def max_positions(self) -> int:
        cfg = self.model.config
        return int(getattr(cfg, "n_positions", None) or
                   getattr(cfg, "max_position_embeddings", None) or 2048)


@dataclass
class Encoded:
    """Right-padded ``[BOS] question answer [EOS]`` sequences. ``target`` marks the positions
    whose token is scored (answer and EOS); position t is predicted from t - 1."""

    ids: torch.Tensor
    attn: torch.Tensor
    target: torch.Tensor
    item_ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def subset(self, idx: Sequence[int] | torch.Tensor) -> "Encoded":
        idx_t = torch.as_tensor(idx, dtype=torch.long)
        return Encoded(self.ids[idx_t], self.attn[idx_t], self.target[idx_t],
                       [self.item_ids[int(i)] for i in idx_t])


def encode_pairs(tok: TextTokenizer, questions: Sequence[str], answers: Sequence[str],
                 ids: Sequence[str], max_len: int) -> Encoded:
    """Encode (question, answer) pairs; a pair longer than ``max_len`` tokens is refused."""
    rows, targets = [], []
    for q, a, ident in zip(questions, answers, ids):
        p, c = tok.prompt(q), tok.continuation(a)
        if len(p) + len(c) > max_len:
            raise ModelError(f"item '{ident}' has {len(p) + len(c)} tokens; the model takes at "
                             f"most {max_len}")
        rows.append(p + c)
        targets.append([False] * len(p) + [True] * len(c))
    width = max(len(r) for r in rows) if rows else 1
    n = len(rows)
    out_ids = torch.full((n, width), tok.pad_id, dtype=torch.long)
    attn = torch.zeros((n, width), dtype=torch.long)
    target = torch.zeros((n, width), dtype=torch.bool)
    for i, (r, t) in enumerate(zip(rows, targets)):
        out_ids[i, : len(r)] = torch.tensor(r)
        attn[i, : len(r)] = 1
        target[i, : len(t)] = torch.tensor(t)
    # The first token is never predicted.
    target[:, 0] = False
    return Encoded(out_ids, attn, target, list(ids))


def encode_items(lm: LanguageModel, items: Sequence[QAItem], which: str = "answer") -> Encoded:
    """Encode items with their ``answer`` or ``paraphrased_answer`` (falling back to the
    answer when an item has no paraphrase)."""
    answers = [it.answer if which == "answer" else (it.paraphrased_answer or it.answer)
               for it in items]
    return encode_pairs(lm.tokenizer, [it.question for it in items], answers,
                        [it.id for it in items], lm.max_positions)


def logits_of(model: nn.Module, ids: torch.Tensor, attn: torch.Tensor) -> torch.Tensor:
    return model(input_ids=ids, attention_mask=attn, use_cache=False).logits


def sequence_nll(model: nn.Module, enc: Encoded) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sequence summed NLL over target tokens, and the number of target tokens."""
    logits = logits_of(model, enc.ids, enc.attn)[:, :-1]
    gold = enc.ids[:, 1:]
    mask = enc.target[:, 1:].float()
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), gold.reshape(-1),
                          reduction="none").view_as(mask)
    return (nll * mask).sum(1), mask.sum(1).clamp(min=1)


def mean_token_nll(model: nn.Module, enc: Encoded) -> torch.Tensor:
    """Mean over sequences of the per-sequence mean token NLL (L-bar)."""
    total, count = sequence_nll(model, enc)
    return (total / count).mean()


@dataclass
class TokenScores:
    """Teacher-forced per-token quantities, padded to (n, T) with ``mask`` marking the scored
    tokens: log-probability of the gold token, the mean and variance of log p under the model's
    own next-token distribution (for Min-k%++), and whether the argmax was the gold token."""

    logprob: np.ndarray
    mu: np.ndarray
    sigma2: np.ndarray
    correct: np.ndarray
    mask: np.ndarray

    def mean_nll(self) -> np.ndarray:
        n = self.mask.sum(1).clip(min=1)
        return -(self.logprob * self.mask).sum(1) / n

    def sum_logprob(self) -> np.ndarray:
        return (self.logprob * self.mask).sum(1)


@threaded
@torch.no_grad()
def token_scores(model: nn.Module, enc: Encoded, batch_size: int = 256) -> TokenScores:
    """One teacher-forced pass over ``enc`` (no gradients, model in eval mode)."""
    was_training = model.training
    model.eval()
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("lp", "mu", "s2", "ok", "m")}
    for start in range(0, len(enc), batch_size):
        ids = enc.ids[start: start + batch_size]
        attn = enc.attn[start: start + batch_size]
        logp = F.log_softmax(logits_of(model, ids, attn)[:, :-1].float(), dim=-1)
        gold = ids[:, 1:]
        lp = logp.gather(-1, gold.unsqueeze(-1)).squeeze(-1)
        p = logp.exp()
        mu = (p * logp).sum(-1)
        s2 = ((p * logp * logp).sum(-1) - mu ** 2).clamp(min=1e-6)
        parts["lp"].append(lp.numpy())
        parts["mu"].append(mu.numpy())
        parts["s2"].append(s2.numpy())
        parts["ok"].append((logp.argmax(-1) == gold).numpy())
        parts["m"].append(enc.target[start: start + batch_size, 1:].numpy())
    model.train(was_training)
    cat = {k: np.concatenate(v) if v else np.zeros((0, 0)) for k, v in parts.items()}
    return TokenScores(cat["lp"].astype(np.float64), cat["mu"].astype(np.float64),
                       cat["s2"].astype(np.float64), cat["ok"].astype(bool),
                       cat["m"].astype(bool))


@threaded
@torch.no_grad()
def greedy_complete(lm: LanguageModel, questions: Sequence[str], max_new_tokens: int = 16,
                    batch_size: int = 256) -> list[str]:
    """Greedy (``do_sample=False``) completions of each question. Prompts are batched by
    length, so no padding enters the model (works for any causal LM, no position-id
    bookkeeping)."""
    model, tok = lm.model, lm.tokenizer
    was_training = model.training
    model.eval()
    prompts = [tok.prompt(q) for q in questions]
    out: list[str] = [""] * len(prompts)
    by_len: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        by_len.setdefault(len(p), []).append(i)
    for length, members in by_len.items():
        steps = max(0, min(max_new_tokens, lm.max_positions - length))
        for start in range(0, len(members), batch_size):
            chunk = members[start: start + batch_size]
            ids = torch.tensor([prompts[i] for i in chunk], dtype=torch.long)
            done = torch.zeros(len(chunk), dtype=torch.bool)
            for _ in range(steps):
                nxt = logits_of(model, ids, torch.ones_like(ids))[:, -1].argmax(-1)
                nxt = torch.where(done, torch.full_like(nxt, tok.eos_id), nxt)
                ids = torch.cat([ids, nxt[:, None]], dim=1)
                done |= nxt == tok.eos_id
                if bool(done.all()):
                    break
            for row, i in enumerate(chunk):
                gen = ids[row, length:].tolist()
                if tok.eos_id in gen:
                    gen = gen[: gen.index(tok.eos_id)]
                out[i] = tok.decode(gen)
    model.train(was_training)
    return out


def make_optimizer(model: nn.Module, lr: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)


@threaded
def train_lm(lm: LanguageModel, enc: Encoded, cfg: LMTrainConfig,
             progress: Optional[ProgressFn] = None, task: str = "train") -> float:
    """Minimise the answer-token NLL on ``enc`` (AdamW, linear warm-up then cosine decay);
    returns the wall time in seconds. Deterministic in ``cfg.seed``."""
    model = lm.model
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    opt = make_optimizer(model, cfg.lr, cfg.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(enc) / cfg.batch_size))
    total = cfg.epochs * steps_per_epoch
    warm = max(1, int(cfg.warmup_share * total))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * (
        0.1 + 0.45 * (1 + math.cos(math.pi * s / total))))
    start = time.perf_counter()
    model.train()
    for epoch in range(cfg.epochs):
        order = rng.permutation(len(enc))
        for b in range(steps_per_epoch):
            batch = enc.subset(order[b * cfg.batch_size: (b + 1) * cfg.batch_size])
            opt.zero_grad()
            loss = mean_token_nll(model, batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        report(progress, task, epoch + 1, cfg.epochs)
    model.eval()
    return time.perf_counter() - start


def build_tokenizer(texts: Sequence[str]):
    """A word-level tokenizer trained locally on ``texts`` (``tokenizers``), wrapped as a
    ``transformers`` fast tokenizer so it saves and loads like any model folder's."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.train_from_iterator(list(texts), trainer=trainers.WordLevelTrainer(
        special_tokens=SPECIAL, min_frequency=1))
    bos, eos = core.token_to_id("[BOS]"), core.token_to_id("[EOS]")
    core.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", special_tokens=[("[BOS]", bos), ("[EOS]", eos)])
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", pad_token="[PAD]",
                                   bos_token="[BOS]", eos_token="[EOS]")


def build_tiny_gpt(texts: Sequence[str], config: TinyGPTConfig = TinyGPTConfig(),
                   seed: int = 0) -> LanguageModel:
    """A randomly initialised GPT-2 of ``config`` size with a tokenizer trained on ``texts``."""
    from transformers import GPT2Config, GPT2LMHeadModel

    hf_tok = build_tokenizer(texts)
    tok = TextTokenizer(hf_tok)
    gcfg = GPT2Config(vocab_size=len(hf_tok), n_positions=config.n_positions,
                      n_embd=config.n_embd, n_layer=config.n_layer, n_head=config.n_head,
                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                      bos_token_id=tok.bos_id, eos_token_id=tok.eos_id, pad_token_id=tok.pad_id,
                      tie_word_embeddings=True)
    torch.manual_seed(seed)
    return LanguageModel(GPT2LMHeadModel(gcfg), tok, "built-in")


def item_texts(items: Sequence[QAItem]) -> list[str]:
    """Every text a tokenizer must cover (questions and all answer variants)."""
    out = []
    for it in items:
        out += [it.question, it.answer, it.paraphrased_answer, *it.perturbed_answers]
    return [t for t in out if t]


def save_lm(lm: LanguageModel, folder: str | Path) -> Path:
    """Write ``config.json``, ``model.safetensors`` and the tokenizer files."""
    d = Path(folder)
    d.mkdir(parents=True, exist_ok=True)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    lm.model.save_pretrained(d, safe_serialization=True)
    lm.tokenizer.hf.save_pretrained(d)
    return d


def _check_config(d: Path) -> dict:
    cfg_path = d / "config.json"
    if not cfg_path.is_file():
        raise ModelError(f"'{d}' has no config.json: not a model folder")
    try:
        cfg = json.loads(cfg_path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise ModelError(f"'{cfg_path}' is not valid JSON: "
                         f"{'it nests too deep' if isinstance(err, RecursionError) else err}")
    if not isinstance(cfg, dict):
        raise ModelError(f"'{cfg_path}' must hold a JSON object")
    if "auto_map" in cfg:
        raise ModelError(f"'{d.name}' asks for custom model code (auto_map); only built-in "
                         f"architectures are loaded")
    mtype = cfg.get("model_type")
    if mtype not in ALLOWED_MODEL_TYPES:
        raise ModelError(f"model_type '{mtype}' is not supported: use one of "
                         f"{', '.join(ALLOWED_MODEL_TYPES)}")

    def num(*keys: str) -> int:
        for k in keys:
            v = cfg.get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return int(v)
        return 0

    layers = num("n_layer", "num_hidden_layers")
    width = num("n_embd", "hidden_size")
    vocab = num("vocab_size")
    if layers <= 0 or width <= 0 or vocab <= 0:
        raise ModelError(f"'{cfg_path}' lacks the layer count, width or vocabulary size")
    if layers > MAX_LAYERS or width > MAX_WIDTH or vocab > MAX_VOCAB:
        raise ModelError(f"model too large for CPU auditing: {layers} layers, width {width}, "
                         f"vocabulary {vocab} (caps {MAX_LAYERS}, {MAX_WIDTH}, {MAX_VOCAB})")
    if 12 * layers * width * width + 2 * vocab * width > MAX_PARAMS:
        raise ModelError(f"model too large for CPU auditing (over {MAX_PARAMS:,} parameters)")
    return cfg


def load_lm(folder: str | Path) -> LanguageModel:
    """Load a causal LM folder safely (see the module docstring); one clear error per fault."""
    d = Path(folder)
    if not d.is_dir():
        raise ModelError(f"model folder '{folder}' does not exist")
    _check_config(d)
    if not any(d.glob("*.safetensors")):
        other = [p.name for p in d.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt")]
        hint = f" (found {other[0]}, which is not read: pickle)" if other else ""
        raise ModelError(f"'{d.name}' has no .safetensors weights{hint}")
    if not (d / "tokenizer.json").is_file():
        raise ModelError(f"'{d.name}' has no tokenizer.json (a fast tokenizer file is needed)")
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Loading weights" bar on stderr
    try:
        model = AutoModelForCausalLM.from_pretrained(
            d, local_files_only=True, use_safetensors=True, trust_remote_code=False)
        hf_tok = AutoTokenizer.from_pretrained(d, local_files_only=True, trust_remote_code=False)
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelError(f"cannot load model folder '{d.name}': {line}")
    model.eval()
    lm = LanguageModel(model, TextTokenizer(hf_tok), source=str(d))
    if len(lm.tokenizer) > model.get_input_embeddings().weight.shape[0]:
        raise ModelError(f"tokenizer of '{d.name}' has more tokens than the model's embeddings")
    return lm
