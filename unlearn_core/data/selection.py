"""An editable forget selection with undo: the plain-data state behind the dashboard's picker.

Ids accumulate from clicks, boxes, lassos, grids, pasted lists and confusion-matrix cells; whole
classes are a separate mode so that class-level methods can serve the request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from unlearn_core.data.forget import is_whole
from unlearn_core.errors import ForgetSetError


@dataclass
class ForgetSelection:
    """Selected sample ids, or whole classes, with a history for undo."""

    ids: set[int] = field(default_factory=set)
    classes: tuple[int, ...] = ()
    random_fraction: float | None = None
    history: list[tuple[frozenset[int], tuple[int, ...], float | None]] = field(
        default_factory=list)

    def _push(self) -> None:
        self.history.append((frozenset(self.ids), self.classes, self.random_fraction))
        del self.history[:-50]

    def add_ids(self, ids) -> int:
        """Add sample ids (leaving class or random mode); returns how many were new."""
        new = {int(i) for i in ids} - self.ids
        if not new and not self.classes and self.random_fraction is None:
            return 0
        self._push()
        if self.classes or self.random_fraction is not None:
            self.ids, self.classes, self.random_fraction = set(), (), None
        self.ids |= new
        return len(new)

    def remove_ids(self, ids) -> None:
        self._push()
        self.ids -= {int(i) for i in ids}

    def set_classes(self, classes) -> None:
        self._push()
        chosen = tuple(sorted(set(map(int, classes))))
        self.ids, self.classes, self.random_fraction = set(), chosen, None

    def set_random(self, fraction: float) -> None:
        self._push()
        self.ids, self.classes, self.random_fraction = set(), (), float(fraction)

    def clear(self) -> None:
        self._push()
        self.ids, self.classes, self.random_fraction = set(), (), None

    def undo(self) -> bool:
        """Go back one edit; False when there is nothing to undo."""
        if not self.history:
            return False
        ids, self.classes, self.random_fraction = self.history.pop()
        self.ids = set(ids)
        return True

    @property
    def is_empty(self) -> bool:
        return not self.ids and not self.classes and self.random_fraction is None

    def sorted_ids(self) -> np.ndarray:
        return np.array(sorted(self.ids), dtype=np.int64)

    def to_request(self) -> str:
        """The forget request string ``resolve_forget`` understands; classes by index
        (``class:index=3``), which cannot be read as a class name (``data.forget.class_of``)."""
        if self.classes:
            return "class:" + ",".join(f"index={c}" for c in self.classes)
        if self.random_fraction is not None:
            return f"random:{self.random_fraction}"
        if not self.ids:
            raise ForgetSetError("the forget set is empty: select samples, classes or a fraction")
        return "ids:" + ",".join(map(str, sorted(self.ids)))


def parse_id_list(text: str) -> list[int]:
    """Ids from pasted text or an uploaded file: numbers separated by commas, spaces or lines."""
    tokens = [t for t in text.replace(",", " ").replace(";", " ").split() if t]
    bad = [t for t in tokens if not is_whole(t)]
    if bad:
        raise ForgetSetError(f"'{bad[0]}' is not a sample id: ids are whole numbers")
    if not tokens:
        raise ForgetSetError("no ids found: paste numbers separated by commas, spaces or lines")
    return [int(t) for t in tokens]
