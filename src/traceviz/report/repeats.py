"""Responses logged more than once, found by their logged response id, result by result.

One call is logged twice when two stores record it (a LiteLLM spend log and a Helicone
export of the same request), when a log is copied under another name, or when a file is
concatenated twice; each copy is priced, so a run's figures count it each time. This
module counts the copies, so the report and the audit can say so.

What counts as the same response: the same logged `response_id` and the same `choice`.
Only an id the log itself carries is evidence. Every shape that sets `response_id` takes
it from the log: the Chat Completions, Batch, stream, Responses and Anthropic `id`, the
OTel span's `gen_ai.response.id` (never its span id), simonw/llm's stored response
`id`, LiteLLM's `response.id` (else its own logged `request_id`, which LiteLLM sets to the
provider's id), Helicone's stored body `id` (else its `response_id` column, Helicone's own
id for the row: a Helicone export without bodies matches no other store's log of the call),
and traceviz's own traces table as it was written. Ollama, Langfuse, think-tag text and
dataset rows log none. A trace id made up from file and line (`fallback_trace_id`) is never
a response id, so a trace without a logged id is not checked, and the report says how many
were. The choices of one response (`n > 1`) share its id; `choice` tells them apart. A
response a logging proxy answered from its cache (`served_from_cache`) carries the id of the
call it replays but is a call of its own (at $0): it is not checked either.

Mergeable and small: a `Repeats` keeps, for every (id, choice) seen, a 64-bit key (8
bytes; sorted, so membership is a binary search), the keys seen more than once, and sums
over the repeats: every occurrence after a key's first, in input order (traces, those
that are first choices, i.e. records, cost_total in exact decimals, billed tokens).
Until a partial is known to open the run it also keeps each key's first occurrence
(`pending`), which a merge after an earlier partial holding the key turns into a repeat;
the partial a run starts from (`Repeats.opening`) drops that as it merges, so a run's
driver holds the keys alone.

The keys, and their collision odds (about n^2 / 2^64 for n logged responses: 1 in 18
million for a million), are `response_keys.py`'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import polars as pl

from traceviz import response_keys
from traceviz.response_keys import KeySet
from traceviz.schema import COST_TOTAL, INPUT_TOKENS, OUTPUT_TOKENS

KEYED_BY = "logged response_id and choice"  # what the outputs say a repeat is found by
KEY = "_key"
COST, TOKENS = "_cost", "_tokens"
MONEY = pl.Decimal(38, 12)


def _no_pending() -> pl.DataFrame:
    return pl.DataFrame(schema={KEY: pl.UInt64, COST: MONEY, TOKENS: pl.Int64})


@dataclass(frozen=True, slots=True)
class Repeated:
    """What a run says of the responses logged more than once: counts and sums only.

    `responses`: responses whose (first choice's) logged id and choice appear more than
    once; `records`: the records they are, every copy; `repeats`: the traces after each
    one's first (choices too), whose cost and tokens the run's figures count again."""

    traces: int = 0  # every trace of the run
    keyed: int = 0  # those with a logged response id (the ones checked)
    responses: int = 0
    records: int = 0
    repeats: int = 0
    priced: int = 0  # repeats with a price
    cost: Decimal = Decimal(0)  # cost_total of the repeats
    cost_total: Decimal = Decimal(0)  # of every trace
    tokens: int = 0  # input + output tokens of the repeats
    tokens_total: int = 0  # of every trace

    @property
    def cost_share(self) -> float | None:
        return float(self.cost / self.cost_total) if self.cost_total else None

    @property
    def tokens_share(self) -> float | None:
        return self.tokens / self.tokens_total if self.tokens_total else None


@dataclass(frozen=True, eq=False)
class Repeats:
    """The mergeable state behind `Repeated` (see the module): keys, repeats' sums, and,
    unless this partial opens the run (`pending` None), each key's first occurrence."""

    traces: int = 0
    keyed: int = 0
    seen: KeySet = field(default_factory=KeySet)  # every key
    repeated: KeySet = field(default_factory=KeySet)  # the keys seen more than once
    repeats: int = 0
    heads: int = 0  # repeats that are a response's first choice: one per record
    priced: int = 0
    cost: Decimal = Decimal(0)
    cost_total: Decimal = Decimal(0)
    tokens: int = 0
    tokens_total: int = 0
    pending: pl.DataFrame | None = field(default_factory=_no_pending)

    @classmethod
    def opening(cls) -> Repeats:
        """The state a run starts from: nothing comes before it, so a first occurrence
        merged into it is settled and not kept."""
        return cls(pending=None)

    @classmethod
    def of(cls, traces: pl.DataFrame) -> Repeats:
        """The state of one result's traces (priced, in input order)."""
        if not traces.height:
            return cls()
        columns = traces.columns
        cost = pl.col(COST_TOTAL).cast(MONEY) if COST_TOTAL in columns else pl.lit(None, MONEY)
        counted = [pl.col(c).fill_null(0) for c in (INPUT_TOKENS, OUTPUT_TOKENS) if c in columns]
        tokens = pl.sum_horizontal(counted) if counted else pl.lit(0)
        totals = traces.select(
            cost.sum().alias(COST), tokens.cast(pl.Int64).sum().alias(TOKENS)
        ).row(0)
        state = cls(
            traces=traces.height,
            cost_total=_decimal(totals[0]),
            tokens_total=int(totals[1] or 0),
        )
        keyed = traces.filter(response_keys.logged(columns))
        if not keyed.height:
            return state
        frame = keyed.select(
            response_keys.key(columns).alias(KEY),
            cost.alias(COST),
            tokens.cast(pl.Int64).alias(TOKENS),
        ).with_columns(pl.col(KEY).is_first_distinct().alias("_first"))
        again = frame.filter(~pl.col("_first"))
        first = frame.filter(pl.col("_first")).drop("_first")
        sums = _sums(again.drop("_first"))
        return cls(
            traces=state.traces,
            keyed=keyed.height,
            seen=KeySet().add(first[KEY].to_numpy()),
            repeated=KeySet().union(again[KEY].to_numpy()),
            repeats=sums[0],
            heads=sums[1],
            priced=sums[2],
            cost=sums[3],
            cost_total=state.cost_total,
            tokens=sums[4],
            tokens_total=state.tokens_total,
            pending=first,
        )

    def merge(self, later: Repeats) -> Repeats:
        """This state and that of the results after it (in input order), as one."""
        if later.pending is None:
            if self.seen.size:
                msg = "a run's opening state merged after another"
                raise ValueError(msg)
            pending = _no_pending()  # nothing in it to settle
        else:
            pending = later.pending
        keys = pending[KEY].to_numpy()
        known = self.seen.member(keys)  # first here, but an earlier result had them
        moved = pending.filter(pl.Series(known))
        sums = _sums(moved)
        kept = None  # this state opens the run: its first occurrences are settled
        if self.pending is not None and later.pending is not None:
            kept = pl.concat([self.pending, pending.filter(pl.Series(~known))])
        return Repeats(
            traces=self.traces + later.traces,
            keyed=self.keyed + later.keyed,
            seen=self.seen.add(keys[~known]) if later.pending is not None else later.seen,
            repeated=self.repeated.union(np.concatenate([_keys(later.repeated), keys[known]])),
            repeats=self.repeats + later.repeats + sums[0],
            heads=self.heads + later.heads + sums[1],
            priced=self.priced + later.priced + sums[2],
            cost=self.cost + later.cost + sums[3],
            cost_total=self.cost_total + later.cost_total,
            tokens=self.tokens + later.tokens + sums[4],
            tokens_total=self.tokens_total + later.tokens_total,
            pending=kept,
        )

    def figures(self) -> Repeated:
        """The counts and sums the report and the audit state."""
        heads = self.repeated.firsts()
        return Repeated(
            traces=self.traces,
            keyed=self.keyed,
            responses=heads,
            records=heads + self.heads,
            repeats=self.repeats,
            priced=self.priced,
            cost=self.cost,
            cost_total=self.cost_total,
            tokens=self.tokens,
            tokens_total=self.tokens_total,
        )


def combine(states: list[Repeats]) -> Repeats:
    """States in input order merged into one: the later ones first among themselves (small),
    then into the first, so a run's growing state is merged into once, not once each."""
    if not states:
        return Repeats()
    if len(states) == 1:
        return states[0]
    tail = states[1]
    for state in states[2:]:
        tail = tail.merge(state)
    return states[0].merge(tail)


def _sums(frame: pl.DataFrame) -> tuple[int, int, int, Decimal, int]:
    """Traces, first choices, priced traces, cost and tokens of some occurrences."""
    if not frame.height:
        return 0, 0, 0, Decimal(0), 0
    row = frame.select(
        pl.len().alias("traces"),
        (pl.col(KEY) % 2).cast(pl.Int64).sum().alias("heads"),
        pl.col(COST).count().alias("priced"),
        pl.col(COST).sum().alias("cost"),
        pl.col(TOKENS).sum().alias("tokens"),
    ).row(0)
    return int(row[0]), int(row[1]), int(row[2]), _decimal(row[3]), int(row[4] or 0)


def _keys(found: KeySet) -> np.ndarray:
    """The keys of a set, as one array (a later state's repeats: few beside the run's)."""
    return np.concatenate(found.runs) if found.runs else np.empty(0, dtype=np.uint64)


def _decimal(value: object) -> Decimal:
    return Decimal(0) if value is None else Decimal(str(value))
