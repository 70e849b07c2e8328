"""The `traceviz` command line: a thin shell over the library, one module per command.

Each command parses its options, calls the library and prints. Errors the library
raises on purpose (`TracevizError`) become one message with a hint, in one place
(`TracevizGroup.invoke`); anything else is a bug, reported without a traceback
unless `TRACEVIZ_DEBUG` is set.

NOTE: commands are registered by import path with their one-line summary, not
imported: `traceviz --help` lists them all without importing any command module (nor
polars, numpy, scikit-learn), and `traceviz prices` imports what `prices` needs, no
more. A summary is the first paragraph of its command's docstring; a test keeps them
equal. A new command goes in `COMMANDS`.
"""

from __future__ import annotations

from traceviz.cli.common import main

# name, where the command is defined, and the first paragraph of its help
COMMANDS = (
    ("ingest", "traceviz.cli.ingest:ingest",
     "Read logs of any shape into the per-response traces table."),
    ("count", "traceviz.cli.count:count",
     "Count reasoning, answer and prompt tokens, exactly and offline."),
    ("steps", "traceviz.cli.steps:steps",
     "Cut reasoning into steps, label each with its kind, and write the steps table."),
    ("show", "traceviz.cli.steps:show",
     "Show one trace: its steps coloured by kind, thoughts, tokens and metrics."),
    ("kinds", "traceviz.cli.kinds:kinds",
     "Train and evaluate the step-kind classifier on labelled steps."),
    ("prices", "traceviz.cli.prices:prices",
     "List the prices in force (per million tokens), or one model's whole history."),
    ("report", "traceviz.cli.report:report",
     "The batch report: records, tokens, money, what-ifs, reasoning behaviour, outliers."),
    ("audit", "traceviz.cli.report:audit",
     "Check spend and behaviour rules; exit 3 when one fails, 1 when none could be checked."),
    ("compare", "traceviz.cli.compare:compare",
     "Pair A's and B's responses to the same prompts; fit the reasoning-length ratio A/B."),
)  # fmt: skip

for name, target, summary in COMMANDS:
    main.add_lazy_command(name, target, summary)

__all__ = ["COMMANDS", "main"]
