"""The dated price catalog: loading, validating, and finding the price of a model at a time.

Prices are data (`traceviz/data/catalog.toml`), never code; `--catalog FILE` adds or
overrides entries by id. Rates are USD (or CNY) per million tokens, held as Decimals.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

from traceviz import timestamps
from traceviz.errors import ConfigError

RATES = (
    "input", "cached_input", "cache_write", "output",
    "batch_input", "batch_output", "flex_input", "flex_cached_input", "flex_output",
)  # fmt: skip
BATCH_RULE = Decimal("0.5")  # OpenAI Batch API: 50 % off input and output
BATCH_RULE_PROVIDERS = ("o1", "o3", "o4", "gpt-")
MINUTES_PER_DAY = 24 * 60
_FIELDS = frozenset(
    {"id", "model", "aliases", "from", "until", "daily", "weekdays", "currency", "source",
     "notes", "single_source", *RATES}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Price:
    """One catalog entry: a model's rates over a span of time (and a daily window)."""

    id: str
    model: str
    start: datetime
    until: datetime | None
    rates: dict[str, Decimal]
    currency: str = "USD"
    aliases: tuple[str, ...] = ()
    daily: tuple[tuple[int, int], ...] = ()  # windows as minutes of the day, [start, end)
    weekdays: tuple[int, ...] = ()
    source: str = ""
    notes: str = ""
    single_source: bool = False

    def rate(self, name: str) -> Decimal | None:
        """A rate per million tokens; batch rates follow OpenAI's 50 % rule where unlisted."""
        if name in self.rates:
            return self.rates[name]
        if name.startswith("batch_") and self.model.startswith(BATCH_RULE_PROVIDERS):
            base = self.rates.get(name.removeprefix("batch_"))
            return None if base is None else base * BATCH_RULE
        return None

    def in_force(self, at: datetime) -> bool:
        if at < self.start or (self.until is not None and at >= self.until):
            return False
        if self.weekdays and at.isoweekday() not in self.weekdays:
            return False
        return not self.daily or in_window(at.hour * 60 + at.minute, self.daily)


def in_window(minute: int, windows: tuple[tuple[int, int], ...]) -> bool:
    """Whether a minute of the day falls in any [start, end) window (crossing midnight ok)."""
    return any(a <= minute < b if a < b else minute >= a or minute < b for a, b in windows)


@dataclass(frozen=True)
class Catalog:
    """Every entry, and the names (models and aliases) that lead to them."""

    prices: tuple[Price, ...]
    names: dict[str, str] = field(default_factory=dict)

    def key(self, model: str | None) -> str | None:
        """The catalog model a logged model name stands for, or None.

        Provider prefixes (`openrouter/openai/o1`) and dated suffixes (`o1-2024-12-17`,
        `-latest`) are dropped; a local build such as `deepseek-r1:8b` has no price.
        """
        if not model:
            return None
        name = model.strip().lower().rsplit("/", 1)[-1]
        if ":" in name:
            return None
        for candidate in _candidates(name):
            if candidate in self.names:
                return self.names[candidate]
        return None

    def in_force(self, model: str, at: datetime, currency: str = "USD") -> Price | None:
        """The entry for a catalog model at a minute: a windowed entry wins over a plain one."""
        found = [
            p for p in self.prices if p.model == model and p.currency == currency and p.in_force(at)
        ]
        found.sort(key=lambda p: (bool(p.daily or p.weekdays), p.start), reverse=True)
        return found[0] if found else None

    def latest(self, model: str, currency: str = "USD") -> Price | None:
        """The newest plain (not windowed) entry of a model."""
        plain = [
            p for p in self.prices if p.model == model and p.currency == currency and not p.daily
        ]
        return max(plain, key=lambda p: p.start) if plain else None

    def on_day(self, model: str, day: datetime, currency: str = "USD") -> tuple[Price, ...]:
        """Every entry that applies at some minute of the UTC day starting at `day`, oldest
        first: what a response of that day may have been billed at, its minute unknown.

        Which entry applies changes only where a daily window opens or closes or an entry
        starts or ends, so the minutes checked are the day's first and those boundaries.
        """
        end = day + timedelta(days=1)
        minutes = {0}
        for p in self.prices:
            if p.model != model or p.currency != currency:
                continue
            for bound in (p.start, p.until):
                if bound is not None and day <= bound < end:
                    minutes.add(math.ceil((bound - day).total_seconds() / 60))
            minutes.update(m for window in p.daily for m in window)
        found: dict[str, Price] = {}
        for m in sorted(minutes):
            entry = self.in_force(model, day + timedelta(minutes=m), currency)
            if entry is not None and 0 <= m < MINUTES_PER_DAY:
                found.setdefault(entry.id, entry)
        return tuple(sorted(found.values(), key=lambda p: (p.start, p.id)))

    def standard_on(self, model: str, day: datetime, currency: str = "USD") -> Price | None:
        """The plain (not time-windowed) entry in force for most of the UTC day at `day`."""
        end = day + timedelta(days=1)

        def overlap(p: Price) -> float:
            return (min(end, p.until or end) - max(day, p.start)).total_seconds()

        plain = [
            p
            for p in self.prices
            if p.model == model and p.currency == currency and not p.daily and not p.weekdays
        ]
        covering = [p for p in plain if overlap(p) > 0]
        return max(covering, key=lambda p: (overlap(p), p.start)) if covering else None

    def alongside(self, entry: Price) -> tuple[Price, ...]:
        """A plain entry and the time-windowed entries of its model in force during its span:
        the prices a response billed while it was current may have had."""
        found = [
            p
            for p in self.prices
            if p.model == entry.model
            and p.currency == entry.currency
            and (p.daily or p.weekdays)
            and (entry.until is None or p.start < entry.until)
            and (p.until is None or p.until > entry.start)
        ]
        return (entry, *sorted(found, key=lambda p: (p.start, p.id)))

    def nearest(self, model: str, at: datetime, currency: str = "USD") -> Price | None:
        """The entry in force, else the closest in time (for what-ifs outside a model's life)."""
        found = self.in_force(model, at, currency)
        if found is not None:
            return found
        plain = [
            p for p in self.prices if p.model == model and p.currency == currency and not p.daily
        ]
        if not plain:
            return None
        return min(plain, key=lambda p: abs((p.start - at).total_seconds()) if at < p.start
                   else abs(((p.until or at) - at).total_seconds()))  # fmt: skip


def _candidates(name: str) -> list[str]:
    out = [name]
    if name.endswith("-latest"):
        out.append(name.removesuffix("-latest"))
    parts = name.split("-")
    # dated suffixes: o1-2024-12-17, claude-3-7-sonnet-20250219, o3-mini-2025-01-31
    while len(parts) > 1 and parts[-1].isdigit():
        parts = parts[:-1]
        out.append("-".join(parts))
    return out


def load(extra: str | Path | None = None) -> Catalog:
    """The shipped catalog, with a user's entries added or overriding by id."""
    entries: dict[str, Price] = {}
    shipped = (files("traceviz") / "data" / "catalog.toml").read_text()
    for price in _parse(shipped, "traceviz/data/catalog.toml"):
        entries[price.id] = price
    if extra is not None:
        try:
            text = Path(extra).read_text()
        except OSError as exc:
            msg = f"{extra}: cannot read the catalog: {exc.strerror}"
            raise ConfigError(msg, hint="Check the path given to --catalog.") from exc
        for price in _parse(text, str(extra)):
            entries[price.id] = price
    names: dict[str, str] = {}
    for price in entries.values():
        names.setdefault(price.model.lower(), price.model)
        for alias in price.aliases:
            names.setdefault(alias.lower(), price.model)
    return Catalog(tuple(entries.values()), names)


def _parse(text: str, where: str) -> list[Price]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{where}: not valid TOML: {exc}"
        raise ConfigError(msg) from exc
    prices = []
    for number, entry in enumerate(document.get("price", []), 1):
        try:
            prices.append(_entry(entry))
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            name = (
                entry.get("id", f"entry {number}") if isinstance(entry, dict) else f"entry {number}"
            )
            msg = f"{where}: price {name!r}: {exc}"
            hint = "Each [[price]] needs id, model, from, input and output; rates are numbers."
            raise ConfigError(msg, hint=hint) from exc
    return prices


def _entry(entry: dict[str, Any]) -> Price:
    unknown = set(entry) - _FIELDS
    if unknown:
        msg = f"unknown fields {sorted(unknown)}"
        raise ValueError(msg)
    rates = {name: Decimal(str(entry[name])) for name in RATES if name in entry}
    if "input" not in rates or "output" not in rates:
        msg = "needs input and output rates"
        raise KeyError(msg)
    if any(r < 0 for r in rates.values()):
        msg = "rates must not be negative"
        raise ValueError(msg)
    daily = entry.get("daily", [])
    if len(daily) % 2:
        msg = "daily needs start and end times in pairs"
        raise ValueError(msg)
    minutes = [_minute(t) for t in daily]
    return Price(
        id=str(entry["id"]),
        model=str(entry["model"]),
        start=_utc(entry["from"]),
        until=_utc(entry["until"]) if "until" in entry else None,
        rates=rates,
        currency=str(entry.get("currency", "USD")),
        aliases=tuple(str(a) for a in entry.get("aliases", [])),
        daily=tuple(zip(minutes[::2], minutes[1::2], strict=True)),
        weekdays=tuple(int(d) for d in entry.get("weekdays", [])),
        source=str(entry.get("source", "")),
        notes=str(entry.get("notes", "")),
        single_source=bool(entry.get("single_source", False)),
    )


def _minute(text: str) -> int:
    hours, minutes = str(text).split(":")
    return int(hours) * 60 + int(minutes)


def _utc(value: Any) -> datetime:
    """A catalog time (a TOML date-time or date, or an ISO string), offsets honoured."""
    parsed = timestamps.parse(value, "from/until")
    if parsed is None:
        msg = "from/until is empty"
        raise ValueError(msg)
    return parsed
