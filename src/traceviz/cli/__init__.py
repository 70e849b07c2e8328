"""The `traceviz` command line: a thin shell over the library, one module per command.

Each command parses its options, calls the library and prints. Errors the library
raises on purpose (`TracevizError`) become one message with a hint, in one place
(`TracevizGroup.invoke`); anything else is a bug, reported without a traceback
unless `TRACEVIZ_DEBUG` is set.
"""

from __future__ import annotations

from traceviz.cli.common import main
from traceviz.cli.compare import compare
from traceviz.cli.count import count
from traceviz.cli.ingest import ingest
from traceviz.cli.kinds import kinds
from traceviz.cli.prices import prices
from traceviz.cli.report import audit, report
from traceviz.cli.steps import show, steps

main.add_command(ingest)
main.add_command(count)
main.add_command(steps)
main.add_command(show)
main.add_command(kinds)
main.add_command(prices)
main.add_command(report)
main.add_command(audit)
main.add_command(compare)

__all__ = ["main"]
