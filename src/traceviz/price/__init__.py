"""The price stage: a dated catalog, the cost of each response, and what-ifs.

`apply(traces, catalog)` adds the cost columns; `whatif(traces, target, ratio)` adds
what the same work would have cost on another model.
"""

from traceviz.price.catalog import Catalog, Price, load
from traceviz.price.cost import COST_COLUMNS, apply, parse_at
from traceviz.price.notes import notes
from traceviz.price.whatif import RATIO_PRESETS, Ratio, ratio_preset, whatif

__all__ = [
    "COST_COLUMNS",
    "RATIO_PRESETS",
    "Catalog",
    "Price",
    "Ratio",
    "apply",
    "load",
    "notes",
    "parse_at",
    "ratio_preset",
    "whatif",
]
