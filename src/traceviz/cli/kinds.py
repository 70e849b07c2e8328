"""`traceviz kinds train` and `traceviz kinds eval`: a step-kind model of your own, and
how well a model does on problems it has not seen (grouped cross-validation)."""

from __future__ import annotations

import click
import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

from traceviz.cli.common import echo_err
from traceviz.outputs import check_output, write_bytes
from traceviz.report.kind_shares import SHORT_NAMES
from traceviz.segment import kinds as kinds_module
from traceviz.segment import training


@click.group()
def kinds() -> None:
    """Train and evaluate the step-kind classifier on labelled steps.

    \b
      traceviz kinds eval labelled-traces.jsonl
      traceviz kinds train labelled-traces.jsonl -o model.json
      traceviz report logs/ --kinds-model model.json
      traceviz kinds eval --kinds-model model.json
    """


@kinds.command("train")
@click.argument("labels", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), required=True, help="Model file (JSON)."
)
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=7,
    show_default=True,
    help="Grouped cross-validation folds whose figures the model carries.",
)
@click.option("--no-eval", is_flag=True, help="Skip the cross-validation (faster; no accuracy).")
def kinds_train(labels: str, output: str, folds: int, no_eval: bool) -> None:
    """Train a step-kind model on LABELS (JSON Lines of traces with labelled chunks).

    \b
      traceviz kinds train my-labels.jsonl -o model.json
      traceviz kinds train my-labels.jsonl -o model.json --no-eval
    """
    check_output(output)  # before the training, not after it
    data = training.read_labels(labels)
    model = training.train(data, None if no_eval else folds)
    write_bytes(output, model.to_json().encode())
    echo_err(
        f"trained on {sum(map(len, data.traces)):,} steps of {len(data.traces):,} traces;"
        f" wrote {output}"
    )
    echo_err(model.note)


@kinds.command("eval")
@click.argument("labels", type=click.Path(exists=True, dir_okay=False), required=False)
@click.option("--folds", type=click.IntRange(min=2), default=7, show_default=True)
@click.option(
    "--kinds-model",
    type=click.Path(exists=True, dir_okay=False),
    help="Print this model's recorded evaluation (without LABELS).",
)
def kinds_eval(labels: str | None, folds: int, kinds_model: str | None) -> None:
    """Cross-validate the training recipe on LABELS, folds grouped by problem (test steps
    come from problems the model never saw); without LABELS, print the evaluation the
    model carries.

    \b
      traceviz kinds eval labelled-traces.jsonl
      traceviz kinds eval labelled-traces.jsonl --folds 4
      traceviz kinds eval
    """
    if labels is None:
        model = kinds_module.load(kinds_model)
        click.echo(model.note)
        if model.evaluation and model.evaluation.share_error_summed is not None:
            e = model.evaluation
            click.echo(
                f"trained on {e.steps:,} steps of {e.traces:,} traces ({e.data}), measured {e.date}"
            )
            click.echo(
                f"kind-share error per held-back trace: argmax counts {e.share_error_argmax:.1%},"
                f" summed probabilities {e.share_error_summed:.1%}"
            )
        return
    data = training.read_labels(labels)
    cv = training.cross_validate(data, folds)
    click.echo(
        f"grouped {cv.folds}-fold cross-validation by {cv.grouped_by}:"
        f" {len(cv.truth):,} steps of {len(data.traces):,} traces"
    )
    click.echo(f"accuracy  {cv.accuracy:.3f}")
    click.echo(f"macro-F1  {cv.macro_f1:.3f}")
    click.echo("")
    click.echo(f"{'kind':24s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'steps':>6s}")
    for kind, (precision, recall, f1, support) in cv.per_kind().items():
        click.echo(f"{kind:24s} {precision:9.2f} {recall:7.2f} {f1:6.2f} {support:6,}")
    click.echo("")
    for unit, name in ((cv.trace_of_step, "trace"), (cv.fold_of_step, "held-back fold")):
        argmax, summed = cv.share_error(unit)
        click.echo(
            f"kind-share error per {name} (mean absolute, over kinds):"
            f" argmax counts {argmax:.1%}, summed probabilities {summed:.1%}"
        )
    pooled = cv.shares(np.zeros(len(cv.truth)))
    click.echo("")
    click.echo(f"{'share of all held-back steps':28s} {'true':>6s} {'argmax':>7s} {'summed':>7s}")
    for i, kind in enumerate(kinds_module.KINDS):
        true, argmax_share, summed_share = (pooled[n][0, i] for n in ("true", "argmax", "summed"))
        click.echo(f"{kind:28s} {true:6.1%} {argmax_share:7.1%} {summed_share:7.1%}")
    table = Table(
        "truth", *SHORT_NAMES, title="Confusion (rows: truth, columns: predicted)", box=box.SIMPLE
    )
    for short, row in zip(SHORT_NAMES, cv.confusion(), strict=True):
        table.add_row(short, *[str(n) for n in row])
    Console().print(table)
