"""The segment stage: the steps of each visible reasoning, their kinds, and per-trace
behaviour metrics (`stage.py` does the work; the step splitter, the kinds' features and
model, and the metrics are its modules).

`steps(traces)` returns the steps table; `metrics(traces, steps)` adds the metric
columns to the traces; `measure` does both, as the pipeline runs them; `classify` returns
the steps table with each step's kind probabilities.

NOTE: nothing is imported with the package: a name is imported on first use (PEP 562
`__getattr__`, as `traceviz.report` does), so a run whose every file is cached, which
never segments, does not load the stage, its regexes or numpy (~25 ms of a cached
`traceviz report`), and `segment.evaluation` reads the shipped model's note alone. Type
checkers read the imports below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from traceviz.lazy_names import lazy_names

if TYPE_CHECKING:
    from traceviz.segment.kinds import KindModel
    from traceviz.segment.stage import (
        KIND_EXPECTED,
        KIND_STEPS,
        classify,
        cut,
        default_model,
        measure,
        metrics,
        part_starts,
        steps,
    )

_STAGE = "traceviz.segment.stage"
# Each public name and the module it comes from.
_EXPORTS = {
    "KIND_EXPECTED": _STAGE,
    "KIND_STEPS": _STAGE,
    "KindModel": "traceviz.segment.kinds",
    "classify": _STAGE,
    "cut": _STAGE,
    "default_model": _STAGE,
    "measure": _STAGE,
    "metrics": _STAGE,
    "part_starts": _STAGE,
    "steps": _STAGE,
}

__all__ = [
    "KIND_EXPECTED",
    "KIND_STEPS",
    "KindModel",
    "classify",
    "cut",
    "default_model",
    "measure",
    "metrics",
    "part_starts",
    "steps",
]

__getattr__ = lazy_names(__name__, _EXPORTS)
