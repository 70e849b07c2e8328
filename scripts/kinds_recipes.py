"""Compare step-kind recipes by grouped cross-validation on a labelled set (docs/kinds.md).

Each recipe is cross-validated once (7 folds grouped by problem); the decision bias is
then swept over the same out-of-fold probabilities, since it only changes which kind is
chosen, not the probabilities.

    PYTHONPATH=src python scripts/kinds_recipes.py LABELS.jsonl "c=0.5" "c=0.5, novelty=True"
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

import numpy as np

from traceviz.segment import training

DECISIONS = (0.0, 0.25, 0.5, 0.75, 1.0)


def main(path: str, recipes: list[str]) -> None:
    data = training.read_labels(path)
    labels = np.array([k for trace in data.kinds for k in trace])
    log_base = np.log(training._base_weights(labels))
    for text in recipes:
        recipe = eval(f"training.Recipe({text})")  # noqa: S307 (a developer's own argument)
        started = time.perf_counter()
        cv = training.cross_validate(data, 7, recipe)
        seconds = time.perf_counter() - started
        with np.errstate(divide="ignore"):
            logp = np.log(cv.probabilities)
        trace_error = cv.share_error(cv.trace_of_step)
        fold_error = cv.share_error(cv.fold_of_step)
        print(
            f"{text}  ({seconds:.0f} s)  share error of summed probabilities:"
            f" per trace {trace_error[1]:.4f}, per problem {fold_error[1]:.4f}"
        )
        for decision in DECISIONS:
            chosen = (logp + decision * log_base).argmax(axis=1)
            swept = replace(cv, chosen=chosen)
            argmax_trace = swept.share_error(cv.trace_of_step)[0]
            argmax_fold = swept.share_error(cv.fold_of_step)[0]
            print(
                f"    decision {decision:.2f}: accuracy {swept.accuracy:.3f}"
                f"  macro-F1 {swept.macro_f1:.3f}  argmax share error per trace"
                f" {argmax_trace:.4f}, per problem {argmax_fold:.4f}",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
