"""The prices in force: the catalog entries that apply at a moment, or one model's history.

`listing(catalog, model, at)` chooses what `traceviz prices` shows, as a `Listing` of
catalog entries sorted by model, start, and plain before time-windowed:

- every model at a moment (default: the caller's now): each plain entry in force then, and each
  daily-window entry whose span covers it (shown with its window, in or out of it);
- one model: its whole history, or at a moment the entries in force then (a windowed
  entry only inside its window) and the plain entry beneath them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from traceviz.errors import ConfigError
from traceviz.price.catalog import Catalog, Price


@dataclass(frozen=True, slots=True)
class Listing:
    """Catalog entries to show: every model's at `at`, or the history of `model` (the
    catalog's name for it), the whole of it when `at` is None."""

    entries: tuple[Price, ...]
    at: datetime | None
    model: str | None = None

    @property
    def history(self) -> bool:
        """One model's entries (from/until matter), not every model's at a moment."""
        return self.model is not None


def listing(
    catalog: Catalog, now: datetime, model: str | None = None, at: datetime | None = None
) -> Listing:
    """The entries in force at `at` (default `now`), or `model`'s history (at `at` if
    given); an unknown `model` is a `ConfigError` with a hint.

    NOTE: `now` is the caller's: the price stage never reads the clock (a test holds it
    to that), so a listing, like a cost, depends on its arguments alone."""
    if model:
        key = catalog.key(model)
        if key is None:
            msg = f"no price for model {model!r}"
            raise ConfigError(msg, hint="Run `traceviz prices` to list the models in the catalog.")
        rows = [
            p
            for p in catalog.prices
            if p.model == key and (at is None or p.in_force(at) or _plain_at(p, at))
        ]
        return Listing(_sorted(rows), at, key)
    when = at or now
    rows = [p for p in catalog.prices if _plain_at(p, when) or (p.daily and _span_at(p, when))]
    return Listing(_sorted(rows), when)


def _sorted(rows: list[Price]) -> tuple[Price, ...]:
    return tuple(sorted(rows, key=lambda p: (p.model, p.start, bool(p.daily))))


def _span_at(entry: Price, at: datetime) -> bool:
    return entry.start <= at and (entry.until is None or at < entry.until)


def _plain_at(entry: Price, at: datetime) -> bool:
    return not entry.daily and not entry.weekdays and _span_at(entry, at)
