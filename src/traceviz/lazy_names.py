"""A package's public names imported on first use (PEP 562 module `__getattr__`), for
the packages whose import must stay cheap: `traceviz`, `traceviz.price`,
`traceviz.report`, `traceviz.segment`.

NOTE: hand-written, a dozen lines: the standard library defers whole modules
(`importlib.util.LazyLoader`), not names a package re-exports from several modules.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from importlib.util import find_spec
from typing import Any


def lazy_names(
    package: str, exports: Mapping[str, str], submodules: bool = True
) -> Callable[[str], Any]:
    """The module `__getattr__` of `package`: a name of `exports` (name -> module) is
    imported from its module the first time it is asked for, then kept as a plain
    attribute; with `submodules`, any other public name that is one of the package's
    submodules is imported, as when the package imported its submodules eagerly."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            if not submodules or name.startswith("_") or find_spec(f"{package}.{name}") is None:
                msg = f"module {package!r} has no attribute {name!r}"
                raise AttributeError(msg)
            return import_module(f"{package}.{name}")  # the import sets it as an attribute
        value = getattr(import_module(module), name)
        setattr(sys.modules[package], name, value)  # the next look-up is a plain attribute
        return value

    return __getattr__
