"""The one reader of times for the whole package: logged timestamps and `--at`-style flags.

Every time traceviz holds is an aware UTC `datetime`. An explicit offset
(`2025-03-01T08:30+08:00`) is honoured and converted; a time without one is taken as
UTC. Unix times are read by magnitude, each unit inside the span where it gives a date
between 2001-09-09 and 9999 (seconds from 1970): seconds below 253,402,300,800
(10000-01-01), milliseconds from 10**12, microseconds from 10**15, nanoseconds from
10**18. A number between two spans (a seconds timestamp past year 9999 is one) fits no
unit and is refused with the reason, never read in the next unit down.

A date given without a time of day (`--at 2025-03-01`, or a logged `"2025-03-01"`)
becomes a `Day`: midnight UTC, marked as a whole day, so the price stage knows the time
of day is unknown.

Nothing here reads the wall clock. This module sits left of every stage (it imports
only `errors`), so ingest, normalize, price and the CLI all read times through it.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from traceviz.errors import ConfigError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECONDS_END = 253_402_300_800  # 10000-01-01T00:00:00Z in Unix seconds
# (unit name, units per second, the smallest value read in this unit)
UNITS = (
    ("seconds", 1, 0),
    ("milliseconds", 10**3, 10**12),
    ("microseconds", 10**6, 10**15),
    ("nanoseconds", 10**9, 10**18),
)
AT_HINT = (
    "Give a UTC date or time in ISO 8601, such as 2025-03-01 or 2025-03-01T16:30"
    " (an offset such as +08:00 is honoured)."
)


class TimestampError(ConfigError, ValueError):
    """A value that is not a time: a user's flag (a `ConfigError` with a hint) or a logged
    field (normalizers turn it into a quarantine reason)."""


class Day(datetime):
    """Midnight UTC of a date given without a time of day: the whole day is meant.

    NOTE: a `datetime` subclass so that it goes wherever a time goes (filters compare it
    as midnight) while the price stage can tell that the time of day is unknown.
    """

    @classmethod
    def of(cls, day: date) -> Day:
        return cls(day.year, day.month, day.day, tzinfo=UTC)

    def start(self) -> datetime:
        """Midnight of the day as a plain `datetime` (arithmetic on a Day stays a Day)."""
        return datetime(self.year, self.month, self.day, tzinfo=UTC)


def whole_day(at: datetime | None) -> bool:
    """Whether a time stands for a whole day (its time of day unknown)."""
    return isinstance(at, Day)


def parse(value: Any, name: str) -> datetime | None:
    """A UTC time from a logged value: Unix time (a number or digits) or ISO 8601.

    None and "" are "not logged". Raises `TimestampError` naming the field otherwise.

    Examples
    --------
    >>> parse("2025-03-01T08:30:00+08:00", "created")
    datetime.datetime(2025, 3, 1, 0, 30, tzinfo=datetime.timezone.utc)
    >>> parse(1740787200000, "created")  # milliseconds
    datetime.datetime(2025, 3, 1, 0, 0, tzinfo=datetime.timezone.utc)
    >>> whole_day(parse("2025-03-01", "created"))
    True
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return Day.of(value)  # a date alone: the time of day is not known
    if isinstance(value, bool):
        msg = f"{name} is a boolean, not a time"
        raise TimestampError(msg)
    if isinstance(value, int | float):
        return from_unix(value, name)
    if isinstance(value, str):
        return _parse_text(value, name)
    msg = f"{name} is not a time ({type(value).__name__})"
    raise TimestampError(msg)


def _parse_text(value: str, name: str) -> datetime:
    text = value.strip()
    if text.isascii() and text.replace(".", "", 1).isdigit():
        return from_unix(float(text) if "." in text else int(text), name)
    iso = text.removesuffix(" UTC").removesuffix(" GMT")
    if ":" not in iso:  # no time of day written: maybe a date alone, so a whole day
        try:
            return Day.of(date.fromisoformat(iso))  # `2025-03-01`, `2025-W09-6`
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        msg = f"{name} is not a time: {value[:40]!r}"
        raise TimestampError(msg) from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def unit_of(value: float) -> tuple[str, int] | None:
    """The unit a Unix time of this magnitude is read in (name, units per second), or None
    when it fits none (negative, or between two units' spans)."""
    for unit, per_second, lowest in UNITS:
        if lowest <= value < SECONDS_END * per_second:
            return unit, per_second
    return None


def from_unix(value: float, name: str, unit: str | None = None) -> datetime:
    """A UTC time from a Unix time in `unit` (a name from `UNITS`), else in the unit its
    magnitude says (see the module)."""
    if not math.isfinite(value):
        msg = f"{name} is not a plausible Unix time: {value!r}"
        raise TimestampError(msg)
    if unit is not None:
        per = {u: p for u, p, _ in UNITS}[unit]
        if not 0 <= value < SECONDS_END * per:
            msg = f"{name} is not a plausible Unix time in {unit}: {value!r}"
            raise TimestampError(msg)
        found: tuple[str, int] | None = (unit, per)
    else:
        found = unit_of(value)
    if found is None:
        msg = f"{name} is not a plausible Unix time: {value!r} ({_why(value)})"
        raise TimestampError(msg)
    _, per_second = found
    if isinstance(value, int):  # exact: no float rounding of large integers
        return EPOCH + timedelta(microseconds=value * 10**6 // per_second)
    return EPOCH + timedelta(seconds=value / per_second)


def _why(value: float) -> str:
    if value < 0:
        return "before 1970"
    for (unit, _, _), (lower, _, lowest) in zip(UNITS, UNITS[1:], strict=False):
        if value < lowest:
            return f"as {unit} it is past year 9999, as {lower} before 2001-09-09"
    return "past year 9999 even as nanoseconds"


def parse_at(text: str, flag: str = "--at") -> datetime:
    """A user's date or time (`--at`, `--since`, `--until`), as UTC.

    A bare date is a `Day` (midnight, the time of day unknown); a bad value is a
    `TimestampError` naming the flag, with a hint.

    Examples
    --------
    >>> parse_at("2025-03-01T16:30")
    datetime.datetime(2025, 3, 1, 16, 30, tzinfo=datetime.timezone.utc)
    >>> whole_day(parse_at("2025-03-01"))
    True
    """
    value = text.strip()
    try:
        return Day.of(date.fromisoformat(value))
    except ValueError:
        pass
    try:
        parsed = parse(value, flag)
    except TimestampError:
        parsed = None
    if parsed is None:
        msg = f"{flag} {text!r} is not a date or time"
        raise TimestampError(msg, hint=AT_HINT)
    return parsed
