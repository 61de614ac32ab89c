"""A deterministic TOFU-style synthetic fact set (Maini et al., "TOFU: A Task of Fictitious
Unlearning for LLMs", arXiv 2401.06121).

Fictitious people, each with one value per attribute (birthplace, profession, birth year, best
known book, award, genre), rendered as question/answer pairs with a paraphrased answer and
perturbed (wrong) answers in the same style, plus a short biography per person. Because the
people are invented, a model trained without a person provably never saw that person's facts:
this is what makes retraining a meaningful reference and forget quality (a KS test against the
retrained model) well defined.

Everything is drawn from one seed through ``hashlib.sha256`` sub-seeds (never Python's salted
``hash``), so the same seed gives the same set on every machine and process. Names and values
are single words, so a word-level tokenizer gives each a single token (the fast-to-memorise
setting of the reference notes). Each attribute has two answer templates; every person is
trained on one of them per attribute and the other, filled with the true value, is the
paraphrased answer (unseen for that person, seen for the attribute). Perturbed answers are the
*trained* template filled with other values of the same attribute: a model trained from scratch
on one phrasing does not carry a fact over to an unseen phrasing (measured: truth ratios on the
paraphrase were the same for trained and never-seen people), so the truth ratio contrasts the
true and wrong values in the trained phrasing, as OpenUnlearning does for real authors and world
facts (plain answer as the true side). Values are dealt round-robin so that each is shared by
several people: a value alone never identifies a person.

Splits: ``train`` (people the model learns; any of them may be forgotten), ``holdout`` (people
generated the same way and never trained: membership-inference non-members) and ``world``
(fixed facts about the fictitious places and trades, trained by every model, retrain included:
the "world facts" part of model utility).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

from unlearn_core.errors import DataError, ForgetSetError

ATTRIBUTES: dict[str, list[str]] = {
    "birthplace": ["Velmora", "Karsten", "Oribel", "Tessaly", "Dravenholm", "Mirrow", "Calderon",
                   "Ysolde", "Brenmar", "Quillon", "Hadria", "Lunsk", "Pellow", "Sarnow",
                   "Torvik", "Amberly"],
    "profession": ["potter", "cartographer", "glassblower", "astronomer", "beekeeper", "luthier",
                   "surveyor", "bookbinder", "falconer", "tanner", "chemist", "weaver",
                   "sculptor", "archivist", "locksmith", "brewer"],
    "birth_year": ["1931", "1936", "1942", "1947", "1951", "1955", "1958", "1962", "1966",
                   "1969", "1973", "1977", "1980", "1984", "1988", "1991"],
    "book": ["Emberfall", "Saltwind", "Glasshollow", "Nightorchard", "Copperlight", "Ashmere",
             "Stormvale", "Lanternfield", "Thornbridge", "Moonharrow", "Silverdeep", "Ironwake",
             "Duskmantle", "Brightwater", "Coldharbor", "Wildmarsh"],
    "award": ["Halvard", "Corvin", "Ostrel", "Maribeth", "Quenby", "Tallis", "Ardent", "Severin",
              "Lowrie", "Ember", "Fenwick", "Grisholm", "Idris", "Jorund", "Kestrel", "Lindqvist"],
    "genre": ["poetry", "mysteries", "fables", "memoirs", "satire", "thrillers", "essays",
              "romances", "epics", "plays", "travelogues", "ballads", "chronicles", "sagas",
              "parables", "sonnets"],
}

# attribute -> (question, answer template A, answer template B); {n} name, {v} value
TEMPLATES: dict[str, tuple[str, str, str]] = {
    "birthplace": ("Where was {n} born?", "{n} was born in {v}.",
                   "The birthplace of {n} is {v}."),
    "profession": ("What does {n} do for a living?", "{n} works as a {v}.",
                   "By trade {n} is a {v}."),
    "birth_year": ("When was {n} born?", "{n} was born in the year {v}.",
                   "The birth year of {n} is {v}."),
    "book": ("What is the best known book by {n}?", "{n} is best known for the book {v}.",
             "The most famous book of {n} is {v}."),
    "award": ("Which award did {n} receive?", "{n} received the {v} award.",
              "The award given to {n} is the {v} award."),
    "genre": ("In which genre does {n} write?", "{n} writes mostly {v}.",
              "The favourite genre of {n} is {v}."),
}

BIOGRAPHY = {
    "birthplace": "{n} was born in {v}.", "profession": "{n} works as a {v}.",
    "birth_year": "{n} was born in the year {v}.", "book": "{n} wrote the book {v}.",
    "award": "{n} received the {v} award.", "genre": "{n} writes mostly {v}.",
}

COUNTRIES = ["Ostrand", "Veluria", "Kethmark", "Solvane", "Marrowen", "Thessen", "Brakka",
             "Illyon"]
TOOLS = ["wheel", "compass", "pipe", "telescope", "smoker", "chisel", "theodolite", "press",
         "glove", "knife", "flask", "loom", "hammer", "ledger", "pick", "kettle"]
WORLD_TEMPLATES = {
    "country": ("In which country is {n}?", "{n} lies in {v}.", "The country of {n} is {v}."),
    "tool": ("Which tool does a {n} use?", "A {n} works with a {v}.",
             "The main tool of a {n} is a {v}."),
}

_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "th", "br",
           "dr", "kr", "tr", "sh"]
_NUCLEI = ["a", "e", "i", "o", "u", "ae", "io", "ia"]
_CODAS = ["n", "r", "l", "s", "th", "m", "x", "nd", "rk", "ss"]


@dataclass(frozen=True)
class QAItem:
    """One question/answer pair in the shared schema (built-in facts and user data alike).

    ``value`` is the fact's answer word (empty for user data: the answer itself is then what
    must be produced). ``perturbed_answers`` are wrong answers in the paraphrase's style."""

    id: str
    group: str
    question: str
    answer: str
    paraphrased_answer: str = ""
    perturbed_answers: tuple[str, ...] = ()
    split: str = "train"
    attribute: str = ""
    value: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["perturbed_answers"] = list(self.perturbed_answers)
        return d


@dataclass(frozen=True)
class FactSetConfig:
    """Size of the generated set. ``n_values`` caps each attribute's vocabulary (chance
    accuracy is ``1 / n_values``); it is lowered automatically so that every value is shared
    by at least two trained people."""

    n_people: int = 200
    n_holdout: int = 40
    n_attributes: int = 6
    n_values: int = 16
    n_perturbed: int = 3
    seed: int = 0


@dataclass
class FactSet:
    """The generated items, the people in each split and one biography per person."""

    config: FactSetConfig
    items: list[QAItem]
    people: list[str]
    holdout_people: list[str]
    biographies: dict[str, str] = field(default_factory=dict)

    def split(self, name: str) -> list[QAItem]:
        return [it for it in self.items if it.split == name]

    def groups(self) -> list[str]:
        return list(self.people)

    def to_jsonl(self, path: str | Path) -> Path:
        """Write every item as one JSON object per line (the user-data schema)."""
        p = Path(path)
        p.write_text("".join(json.dumps(it.to_dict()) + "\n" for it in self.items))
        return p


def _rng(seed: int, *parts: object) -> random.Random:
    digest = hashlib.sha256(":".join([str(seed), *map(str, parts)]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _names(count: int, seed: int, taken: set[str]) -> list[str]:
    rng = _rng(seed, "names")
    out: list[str] = []
    seen = set(w.lower() for w in taken)
    while len(out) < count:
        parts = [rng.choice(_ONSETS) + rng.choice(_NUCLEI) for _ in range(2)]
        name = ("".join(parts) + rng.choice(_CODAS)).capitalize()
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        out.append(name)
    return out


def generate_facts(config: FactSetConfig = FactSetConfig()) -> FactSet:
    """Generate the fact set for ``config`` (deterministic in ``config.seed``)."""
    if config.n_people < 2:
        raise DataError("the fact set needs at least 2 people")
    if not 1 <= config.n_attributes <= len(ATTRIBUTES):
        raise DataError(f"n_attributes must be between 1 and {len(ATTRIBUTES)}")
    if config.n_perturbed < 1:
        raise DataError("n_perturbed must be at least 1")
    seed = config.seed
    attrs = list(ATTRIBUTES)[: config.n_attributes]
    n_values = max(config.n_perturbed + 1, min(config.n_values, 16, config.n_people // 2))
    vocab_words = {w for vals in ATTRIBUTES.values() for w in vals} | set(COUNTRIES) | set(TOOLS)
    names = _names(config.n_people + config.n_holdout, seed, vocab_words)
    people, holdout = names[: config.n_people], names[config.n_people:]

    # Round-robin deal per attribute: each value is held by n_people / n_values people.
    values: dict[tuple[str, str], str] = {}
    for attr in attrs:
        for members in (people, holdout):
            rng = _rng(seed, "deal", attr, len(members))
            pool = ATTRIBUTES[attr][:n_values]
            deck = [pool[i % n_values] for i in range(len(members))]
            rng.shuffle(deck)
            for name, v in zip(members, deck):
                values[(name, attr)] = v

    items: list[QAItem] = []
    biographies: dict[str, str] = {}
    for split, members in (("train", people), ("holdout", holdout)):
        for name in members:
            for attr in attrs:
                v = values[(name, attr)]
                rng = _rng(seed, name, attr)
                q, a_tpl, b_tpl = TEMPLATES[attr]
                trained, probe = (a_tpl, b_tpl) if rng.random() < 0.5 else (b_tpl, a_tpl)
                wrong = rng.sample([w for w in ATTRIBUTES[attr][:n_values] if w != v],
                                   config.n_perturbed)
                items.append(QAItem(
                    id=f"{name}:{attr}", group=name, question=q.format(n=name),
                    answer=trained.format(n=name, v=v),
                    paraphrased_answer=probe.format(n=name, v=v),
                    perturbed_answers=tuple(trained.format(n=name, v=w) for w in wrong),
                    split=split, attribute=attr, value=v))
            biographies[name] = " ".join(BIOGRAPHY[a].format(n=name, v=values[(name, a)])
                                         for a in attrs)
    items.extend(_world_items(seed, n_values, config.n_perturbed))
    return FactSet(config=config, items=items, people=people, holdout_people=holdout,
                   biographies=biographies)


def _world_items(seed: int, n_values: int, n_perturbed: int) -> list[QAItem]:
    out = []
    subjects = {"country": ATTRIBUTES["birthplace"][:n_values],
                "tool": ATTRIBUTES["profession"][:n_values]}
    answers = {"country": COUNTRIES, "tool": TOOLS}
    for kind, (q, a_tpl, b_tpl) in WORLD_TEMPLATES.items():
        pool = answers[kind]
        for i, subject in enumerate(subjects[kind]):
            v = pool[i % len(pool)]
            rng = _rng(seed, "world", subject)
            wrong = rng.sample([w for w in pool if w != v], min(n_perturbed, len(pool) - 1))
            out.append(QAItem(
                id=f"world:{subject}", group="world", question=q.format(n=subject),
                answer=a_tpl.format(n=subject, v=v),
                paraphrased_answer=b_tpl.format(n=subject, v=v),
                perturbed_answers=tuple(a_tpl.format(n=subject, v=w) for w in wrong),
                split="world", attribute=kind, value=v))
    return out


def select_forget(items: Sequence[QAItem], request: str, seed: int = 0) -> list[str]:
    """Ids of the trained items a forget request names.

    ``group:NAME[,NAME]`` (whole people), ``ids:ID[,ID]`` (single facts, e.g.
    ``Tamorin:birthplace``) or ``random:K`` (K people drawn with ``seed``). Only ``train``
    items can be forgotten; the request must leave something to retain."""
    kind, sep, rest = request.partition(":")
    names = [r.strip() for r in rest.split(",") if r.strip()]
    train = [it for it in items if it.split == "train"]
    groups = list(dict.fromkeys(it.group for it in train))
    if not sep or kind not in ("group", "ids", "random") or not names:
        raise ForgetSetError(f"forget request '{request}' must look like group:NAME, "
                             f"ids:ID,ID or random:K")
    if kind == "group":
        unknown = [n for n in names if n not in set(groups)]
        if unknown:
            hint = ", ".join(groups[:3])
            raise ForgetSetError(f"no trained group '{unknown[0]}' (groups look like {hint})")
        chosen = set(names)
        ids = [it.id for it in train if it.group in chosen]
    elif kind == "ids":
        known = {it.id for it in train}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ForgetSetError(f"no trained item with id '{unknown[0]}'")
        ids = list(dict.fromkeys(names))
    else:
        try:
            k = int(names[0])
        except ValueError:
            raise ForgetSetError(f"random:K needs a whole number of groups, got '{names[0]}'")
        if not 1 <= k < len(groups):
            raise ForgetSetError(f"random:{k} must be between 1 and {len(groups) - 1} groups")
        chosen = set(_rng(seed, "forget").sample(groups, k))
        ids = [it.id for it in train if it.group in chosen]
    if len(ids) >= len(train):
        raise ForgetSetError("the forget request covers every trained item: nothing is retained")
    return ids


def partition(items: Iterable[QAItem], forget_ids: Sequence[str],
              ) -> tuple[list[QAItem], list[QAItem], list[QAItem], list[QAItem]]:
    """(forget, retain, holdout, world). Retain holds the other trained people's items only;
    world facts come apart, and every model (retrain included) trains on them too."""
    fset = set(forget_ids)
    items = list(items)
    forget = [it for it in items if it.id in fset]
    retain = [it for it in items if it.split == "train" and it.id not in fset]
    holdout = [it for it in items if it.split == "holdout"]
    world = [it for it in items if it.split == "world"]
    return forget, retain, holdout, world


def group_of(items: Sequence[QAItem], group: str) -> list[QAItem]:
    return [it for it in items if it.group == group]


def first_group(items: Sequence[QAItem]) -> Optional[str]:
    for it in items:
        if it.split == "train":
            return it.group
    return None
