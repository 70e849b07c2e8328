"""How well a step-kind model did on problems it had not seen, and the note a report
prints beside the kind composition: numpy-free, so that a report built from cached
results states the shipped model's accuracy without loading the model (~20 ms).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import orjson


@dataclass(frozen=True, slots=True)
class Evaluation:
    """How well a model did on problems it had not seen: grouped cross-validation."""

    accuracy: float
    macro_f1: float
    folds: int
    grouped_by: str  # "problem" or "trace"
    steps: int
    traces: int
    data: str  # what it was trained and measured on
    date: str  # ISO date of the measurement
    share_error_argmax: float | None = None  # mean absolute error of per-trace kind shares
    share_error_summed: float | None = None

    def note(self) -> str:
        """The sentence that goes beside every kind table and chart."""
        return (
            f"step kinds are an estimate: cross-validated accuracy {self.accuracy:.2f},"
            f" macro-F1 {self.macro_f1:.2f} ({self.folds} folds grouped by {self.grouped_by})"
        )


UNMEASURED_NOTE = "step kinds are an estimate of unmeasured accuracy (the model carries none)"


@cache
def shipped_note() -> str:
    """The note of the model shipped with traceviz (`kinds.load()`'s `note`), read from
    its file without building the model (the cache key holds that file's hash, so a
    cached result was classified by this model)."""
    document = orjson.loads((files("traceviz") / "data" / "kinds-model.json").read_bytes())
    evaluation = document.get("evaluation") if isinstance(document, dict) else None
    return Evaluation(**evaluation).note() if evaluation else UNMEASURED_NOTE
