"""The dated price catalog: loading, validating, and finding the price of a model at a time.

Prices are data (`traceviz/data/catalog.toml`), never code; `--catalog FILE` adds or
overrides entries by id. Rates are USD (or CNY) per million tokens, held as Decimals.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from importlib.resources import files
from pathlib import Path
from typing import Any

from traceviz import timestamps
from traceviz.errors import ConfigError

RATES = (
    "input", "cached_input", "cache_write", "cache_write_1h", "output",
    "batch_input", "batch_output", "flex_input", "flex_cached_input", "flex_output",
    "priority_input", "priority_cached_input", "priority_output",
)  # fmt: skip
BATCH_RULE = Decimal("0.5")  # OpenAI Batch API: 50 % off input and output
BATCH_RULE_PROVIDERS = ("o1", "o3", "o4", "gpt-")
MINUTES_PER_DAY = 24 * 60
# NOTE: costs are Decimal(38, 12): a rate above $1 a token times 10**12 tokens (the most a
# logged count may hold) would not fit once summed over a run, and is no price anyway
MAX_RATE = Decimal(1_000_000)
RATE_STEP = Decimal("1e-12")  # rates are held as Decimal(38, 12) per million tokens
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
            # utf-8-sig: a byte-order mark (Notepad writes one) is not part of the TOML
            text = Path(extra).read_text(encoding="utf-8-sig")
        except OSError as exc:
            msg = f"{extra}: cannot read the catalog: {exc.strerror}"
            raise ConfigError(msg, hint="Check the path given to --catalog.") from exc
        except UnicodeDecodeError as exc:
            msg = f"{extra}: the catalog is not UTF-8 text: {exc.reason} at byte {exc.start}"
            raise ConfigError(msg, hint="Save it as UTF-8 (TOML files are UTF-8).") from exc
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
    entries = document.get("price", [])
    if not isinstance(entries, list):
        msg = f"{where}: price is not an array of tables: {entries!r:.40}"
        raise ConfigError(msg, hint="Write each entry under its own [[price]] header.")
    return [_checked_entry(entry, number, where) for number, entry in enumerate(entries, 1)]


def _checked_entry(entry: Any, number: int, where: str) -> Price:
    """One entry, or a `ConfigError` naming the file, the entry's id and the field."""
    name = entry.get("id", f"entry {number}") if isinstance(entry, dict) else f"entry {number}"
    try:
        if not isinstance(entry, dict):
            msg = f"not a table: {entry!r:.40}"
            raise EntryError(msg)
        return _entry(entry)
    except EntryError as exc:
        msg = f"{where}: price {name!r}: {exc}"
        hint = "Each [[price]] needs id, model, from, input and output; rates are numbers."
        raise ConfigError(msg, hint=hint) from exc


class EntryError(ValueError):
    """What is wrong with one catalog entry, naming the field."""


def _entry(entry: dict[str, Any]) -> Price:
    unknown = set(entry) - _FIELDS
    if unknown:
        msg = f"unknown fields {sorted(unknown)}"
        raise EntryError(msg)
    missing = [f for f in ("id", "model", "from", "input", "output") if f not in entry]
    if missing:
        msg = f"missing {', '.join(missing)}"
        raise EntryError(msg)
    start = _utc(entry["from"], "from")
    until = _utc(entry["until"], "until") if "until" in entry else None
    if until is not None and until <= start:
        msg = f"until ({until:%Y-%m-%d %H:%M}) is not after from ({start:%Y-%m-%d %H:%M})"
        raise EntryError(msg)
    return Price(
        id=_name(entry, "id"),
        model=_name(entry, "model"),
        start=start,
        until=until,
        rates={name: _rate(entry[name], name) for name in RATES if name in entry},
        currency=_name(entry, "currency", "USD"),
        aliases=tuple(_name({"aliases": a}, "aliases") for a in _list(entry, "aliases")),
        daily=_daily(_list(entry, "daily")),
        weekdays=tuple(_weekday(d) for d in _list(entry, "weekdays")),
        source=_text(entry, "source"),
        notes=_text(entry, "notes"),
        single_source=_flag(entry, "single_source"),
    )


def _rate(value: Any, field: str) -> Decimal:
    """A rate per million tokens: a finite number from 0 to `MAX_RATE`, of at most 12
    decimals (what Decimal(38, 12) holds exactly)."""
    rate = _number(value)
    if rate is None or not rate.is_finite():
        msg = f"{field} is not a finite number: {value!r:.40}"
        raise EntryError(msg)
    if rate < 0:
        msg = f"{field} is negative: {value!r}"
        raise EntryError(msg)
    if rate > MAX_RATE:
        msg = f"{field} is above {MAX_RATE:,} per million tokens: {value!r:.40}"
        raise EntryError(msg)
    if rate != rate.quantize(RATE_STEP, rounding=ROUND_DOWN):
        msg = f"{field} has more than 12 decimals: {value!r:.40}"
        raise EntryError(msg)
    return rate


def _number(value: Any) -> Decimal | None:
    """A TOML number (or a string of one) as a Decimal; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _text(entry: dict[str, Any], field: str, default: str = "") -> str:
    value = entry.get(field, default)
    if not isinstance(value, str):
        msg = f"{field} is not a string: {value!r:.40}"
        raise EntryError(msg)
    return value


def _name(entry: dict[str, Any], field: str, default: str = "") -> str:
    """A string that names something (an id, a model, an alias): not empty."""
    value = _text(entry, field, default)
    if not value.strip():
        msg = f"{field} is empty"
        raise EntryError(msg)
    return value


def _list(entry: dict[str, Any], field: str) -> list[Any]:
    """An array field; a bare value (`aliases = "r1"`) is refused, not read as its letters."""
    value = entry.get(field, [])
    if not isinstance(value, list):
        msg = f"{field} is not an array: {value!r:.40} (write [{value!r:.40}])"
        raise EntryError(msg)
    return value


def _flag(entry: dict[str, Any], field: str) -> bool:
    value = entry.get(field, False)
    if not isinstance(value, bool):
        msg = f"{field} is not true or false: {value!r:.40}"
        raise EntryError(msg)
    return value


def _weekday(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 7:
        msg = f"weekdays: {value!r:.40} is not a day from 1 (Monday) to 7 (Sunday)"
        raise EntryError(msg)
    return value


def _daily(times: list[Any]) -> tuple[tuple[int, int], ...]:
    """`daily` as [start, end) windows in minutes of the day; an empty window is refused."""
    if len(times) % 2:
        msg = "daily needs start and end times in pairs"
        raise EntryError(msg)
    minutes = [_minute(t) for t in times]
    windows = tuple(zip(minutes[::2], minutes[1::2], strict=True))
    for (a, b), text in zip(windows, times[::2], strict=True):
        if a == b:
            msg = f"daily window {text!r} to {text!r} is empty"
            raise EntryError(msg)
    return windows


def _minute(text: Any) -> int:
    """A time of day "HH:MM" (00:00 to 23:59) as minutes since midnight."""
    hours, _, minutes = text.partition(":") if isinstance(text, str) else ("", "", "")
    if not (hours.isascii() and hours.isdigit() and minutes.isascii() and minutes.isdigit()):
        hours = minutes = "99"
    if int(hours) > 23 or int(minutes) > 59 or len(minutes) != 2:
        msg = f"daily: {text!r:.40} is not a time of day from 00:00 to 23:59"
        raise EntryError(msg)
    return int(hours) * 60 + int(minutes)


def _utc(value: Any, field: str) -> datetime:
    """A catalog time (a TOML date-time or date, or an ISO string), offsets honoured."""
    try:
        parsed = timestamps.parse(value, field)
    except timestamps.TimestampError as exc:
        raise EntryError(str(exc)) from exc
    if parsed is None:
        msg = f"{field} is empty"
        raise EntryError(msg)
    return parsed
