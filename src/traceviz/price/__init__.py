"""The price stage: a dated catalog, the cost of each response, and what-ifs.

`apply(traces, catalog)` adds the cost columns; `whatif(traces, target, ratio)` adds
what the same work would have cost on another model.

NOTE: the names are imported on first use (PEP 562 `__getattr__`), not with the
package: `traceviz prices` reads the catalog without importing polars, numpy or the
tokenizers that costs and what-ifs need. `price.apply` and `from traceviz.price import
whatif` work as ever; type checkers read the imports below.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from traceviz.lazy_names import lazy_names

if TYPE_CHECKING:
    from traceviz.price.catalog import Catalog, Price, load
    from traceviz.price.cost import COST_COLUMNS, apply, parse_at
    from traceviz.price.notes import notes
    from traceviz.price.whatif import RATIO_PRESETS, Ratio, ratio_preset, whatif

# Each public name and the module it comes from.
_EXPORTS = {
    "COST_COLUMNS": "traceviz.price.cost",
    "RATIO_PRESETS": "traceviz.price.whatif",
    "Catalog": "traceviz.price.catalog",
    "Price": "traceviz.price.catalog",
    "Ratio": "traceviz.price.whatif",
    "apply": "traceviz.price.cost",
    "load": "traceviz.price.catalog",
    "notes": "traceviz.price.notes",
    "parse_at": "traceviz.price.cost",
    "ratio_preset": "traceviz.price.whatif",
    "whatif": "traceviz.price.whatif",
}

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


__getattr__ = lazy_names(__name__, _EXPORTS, submodules=False)


class _Package(ModuleType):
    """The package's module object: `notes` and `whatif` name both a submodule and the
    function the package exports, and the function keeps the name.

    NOTE: importing a submodule binds it on its package by name; with the names no longer
    imported up front, the first `from traceviz.price.whatif import ...` would put the
    module where `price.whatif` (the function) was. What the eager imports gave, kept.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, ModuleType) and _EXPORTS.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
