"""Spend and behaviour rules over a report run, for CI jobs and scheduled checks.

`Rules.assemble(flags, path)` gathers the limits from a rules file and the flags given
(a flag overrides the file); `collect(results, by)` + `AuditPartial.check` check every
rule in every group one priced result at a time (per group: exact sums and counts,
maxima, the few worst and first looping traces; never the table), and
`evaluate(traces, rules, by, ...)` does it for a whole traces table through the same
partial. Both return an `Audit`:
what failed, what held, what could not be checked and why. An `Audit` renders itself:
the lines a person reads (`lines`, `summary`) and the JSON document a CI job keeps
(`json`). A rule whose column was not computed is never passed: it is "not evaluated",
with the reason.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson
import polars as pl

from traceviz.errors import ConfigError
from traceviz.escape import json_bytes, one_line
from traceviz.report.aggregate import Result, group_columns
from traceviz.report.groups import column as group_column
from traceviz.report.groups import columns as group_keys
from traceviz.report.groups import metadata_keys
from traceviz.report.interface import group_label, money, plain, share
from traceviz.report.repeats import KEYED_BY, Repeated, Repeats
from traceviz.report.repeats import combine as combine_repeats
from traceviz.response_keys import first_choice
from traceviz.schema import (
    CHOICE,
    COST_AFTER_FIRST_ANSWER,
    COST_REASONING,
    COST_TOTAL,
    LOOPING,
    REASONING_TOKENS,
    TRACE_ID,
)
from traceviz.wording import count_of

WORST = 3

# every rule, and the column it reads; a rule whose column was not computed is not evaluated
RULE_COLUMNS = {
    "max_reasoning_tokens": REASONING_TOKENS,
    "max_cost_per_response": COST_TOTAL,
    "budget": COST_TOTAL,
    "max_looping_share": LOOPING,
    "max_overthinking_share": COST_AFTER_FIRST_ANSWER,
    "max_quarantined_share": None,
}
RULES = tuple(RULE_COLUMNS)
# the rules read from prices: a group none of whose traces was priced cannot be checked by them
MONEY_RULES = ("max_cost_per_response", "budget")
WHY_MISSING = {
    REASONING_TOKENS: "reasoning tokens were not counted",
    COST_TOTAL: "no trace could be priced",
    LOOPING: "behaviour metrics were not computed (--no-steps, or no visible reasoning)",
    COST_AFTER_FIRST_ANSWER: "no trace has a priced first answer in visible reasoning"
    " (hidden reasoning, no answer found, or --no-steps)",
}


@dataclass(frozen=True, slots=True)
class Violation:
    """A rule that failed: in which group, by how much, and the traces to open first."""

    rule: str
    group: str
    value: float
    limit: float
    worst: list[str]

    def shown(self) -> str:
        """`budget [all]: $3.2620 > $2`, for people."""
        money = self.rule in {"budget", "max_cost_per_response"}
        value = _usd(self.value) if money else _figure(self.value)
        limit = _usd(self.limit) if money else _figure(self.limit)
        return f"{self.rule} [{self.group}]: {value} > {limit}"


@dataclass(frozen=True, slots=True)
class PricingGap:
    """A group with traces that could not be priced: the money rules `rules` were checked
    over its priced traces alone, or (none priced) not in this group at all."""

    group: str
    traces: int
    unpriced: int
    rules: tuple[str, ...]

    def shown(self) -> str:
        """`[all]: 3 of 4 traces not priced; budget checked over the 1 priced`."""
        priced = self.traces - self.unpriced
        return (
            f"[{self.group}]: {self.unpriced:,} of {self.traces:,} traces not priced;"
            f" {', '.join(self.rules)} checked over the {priced:,} priced"
        )

    def json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "traces": self.traces,
            "traces_unpriced": self.unpriced,
            "rules": list(self.rules),
        }


@dataclass(frozen=True, slots=True)
class Rules:
    """The limits an audit checks, by rule name (one of `RULES`): a rules file's in its
    order, then the flags given (a flag overrides the file's value where it stands)."""

    limits: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def assemble(cls, flags: Mapping[str, float | None], path: str | Path | None = None) -> Rules:
        """The rules of `path` (a TOML file) overridden by the `flags` given (None: not given).

        >>> Rules.assemble({"budget": 25, "max_looping_share": None}).limits
        mappingproxy({'budget': 25.0})
        """
        unknown = set(flags) - set(RULES)
        if unknown:  # a caller's mistake, not a user's
            msg = f"not audit rules: {sorted(unknown)}"
            raise ValueError(msg)
        limits = load_rules(path) if path else {}
        limits.update({name: float(value) for name, value in flags.items() if value is not None})
        return cls(MappingProxyType(limits))

    def __bool__(self) -> bool:
        return bool(self.limits)


@dataclass(frozen=True, slots=True)
class Audit:
    """The outcome of every rule: violations, the rules evaluated everywhere, and those
    that could not be (with why: in no group, or not in some), over how many traces (how
    many of them unpriced), the groups with unpriced traces, and the rules checked."""

    violations: list[Violation]
    evaluated: list[str]
    not_evaluated: dict[str, str]
    traces: int
    rules: dict[str, float] = field(default_factory=dict)
    unpriced: int = 0
    gaps: list[PricingGap] = field(default_factory=list)
    repeats: Repeated = field(default_factory=Repeated)  # responses logged more than once

    def lines(self) -> list[str]:
        """`FAIL budget [all]: $3.26 > $2  worst: …`, `NOT EVALUATED rule: why` and
        `WARNING [group]: 3 of 4 traces not priced; …`, one line each (logged ids shown on
        one line, controls escaped)."""
        shown = []
        for v in self.violations:
            worst = f"  worst: {', '.join(map(one_line, v.worst))}" if v.worst else ""
            shown.append(f"FAIL {one_line(v.shown())}{worst}")
        shown += [
            f"NOT EVALUATED {rule}: {one_line(why)}" for rule, why in self.not_evaluated.items()
        ]
        partly = [gap for gap in self.gaps if gap.unpriced < gap.traces]
        shown += [f"WARNING {one_line(gap.shown())}" for gap in partly]
        if self.repeats.repeats:
            shown.append(f"WARNING {repeated(self.repeats)}")
        return shown

    def summary(self) -> str:
        """`ok: 2 rules hold over 44 traces`, for an audit that passed; the money rules'
        priced traces are said where some traces could not be priced, and the repeats of
        responses logged more than once where there are some (their WARNING says more)."""
        again = self.repeats.repeats
        copies = f"; {count_of(again, 'trace')} repeat others (see the WARNING)" if again else ""
        return self._held() + copies

    def _held(self) -> str:
        n = len(self.evaluated)
        held = f"ok: {n} rule{' holds' if n == 1 else 's hold'} over "
        money = [r for r in self.evaluated if r in MONEY_RULES]
        if not (self.unpriced and money):
            return held + count_of(self.traces, "trace")
        priced = count_of(self.traces - self.unpriced, "priced trace")
        over_priced = f"{priced} of {self.traces:,}; {self.unpriced:,} not priced"
        if len(money) == n:
            return held + over_priced
        return f"{held}{count_of(self.traces, 'trace')} ({', '.join(money)}: over {over_priced})"

    def json(self) -> bytes:
        """The rules, the outcome of each and every violation, as indented JSON."""
        document = {
            "rules": self.rules,
            "traces": self.traces,
            "traces_unpriced": self.unpriced,
            "evaluated": self.evaluated,
            "not_evaluated": self.not_evaluated,
            "unpriced_groups": [gap.json() for gap in self.gaps],
            "violations": [dataclasses.asdict(v) for v in self.violations],
            "repeats": {
                "key": KEYED_BY,
                "traces_checked": self.repeats.keyed,
                "responses": self.repeats.responses,
                "records": self.repeats.records,
                "traces_repeated": self.repeats.repeats,
                "cost": plain(self.repeats.cost),
            },
        }
        return json_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))


def repeated(found: Repeated) -> str:
    """`[all]: 2 responses logged more than once (by logged response_id and choice), in 4
    records: $0.3294 (50.0% of the spend) counted again; rules checked as logged`."""
    return (
        f"[all]: {count_of(found.responses, 'response')} logged more than once (by"
        f" {KEYED_BY}), in {found.records:,} records: {count_of(found.repeats, 'repeat')}"
        f" holding {money(found.cost)} ({share(found.cost_share)} of the spend) counted"
        " again; rules checked over every copy"
    )


def unpriced_groups(gaps: list[PricingGap], groups: int) -> dict[str, str]:
    """Why each money rule was not evaluated in the groups of `gaps` that have no priced
    trace (of `groups` groups): `{"budget": "no trace could be priced in 1 of 2 groups: x"}`."""
    empty = [gap for gap in gaps if gap.unpriced == gap.traces]
    if not empty:
        return {}
    names = ", ".join(gap.group for gap in empty[:5])
    more = f" and {len(empty) - 5:,} more" if len(empty) > 5 else ""
    where = f"in {len(empty):,} of {count_of(groups, 'group')}: {names}{more}"
    why = f"no trace could be priced {where} ({sum(g.traces for g in empty):,} traces)"
    return dict.fromkeys(empty[0].rules, why)


def nothing_checked(read: int, traces: int) -> ConfigError:
    """The error of an audit that had no trace to check, with what to try."""
    if not read:
        hint = "No record was read: check the paths."
    elif not traces:
        hint = "Every record was quarantined or skipped: open the quarantine file."
    else:
        hint = "Every trace was left out by --since, --until or --model: widen them."
    return ConfigError("no trace was evaluated, so no rule was checked", hint=hint)


def load_rules(path: str | Path) -> dict[str, float]:
    try:
        # utf-8-sig: a byte-order mark (Notepad writes one) is not part of the TOML
        document = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"{path}: cannot read the rules: {exc}"
        raise ConfigError(msg, hint="Write rules as TOML, e.g. `budget = 25.0`.") from exc
    rules = _rules_table(document, path)
    if not isinstance(rules, dict):
        msg = f"{path}: rules is not a table"
        raise ConfigError(msg, hint="Write rules as TOML, e.g. `budget = 25.0`.")
    unknown = set(rules) - set(RULES)
    if unknown:
        msg = f"{path}: unknown rules {sorted(unknown)}"
        raise ConfigError(msg, hint=f"Known rules: {', '.join(RULES)}.")
    for key, value in rules.items():
        # NOTE: nan and inf are TOML floats; inf would hold every limit (and is `null` in JSON)
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            msg = f"{path}: rule {key!r} is not a number: {value!r}"
            raise ConfigError(msg, hint=f"Write it as a number, e.g. `{key} = 25.0`.")
        if value in (float("inf"), float("-inf")) or value < 0:
            msg = f"{path}: rule {key!r} is not a finite limit of 0 or more: {value!r}"
            raise ConfigError(msg, hint=f"Write it as a number, e.g. `{key} = 25.0`.")
    return {k: float(v) for k, v in rules.items()}


def _rules_table(document: dict[str, Any], path: str | Path) -> Any:
    """The rules of a file: its `[rules]` table, or else its top-level keys; never both,
    as the file would then say two things and one of them would be dropped."""
    if "rules" not in document:
        return document
    outside = sorted(k for k in document if k != "rules")
    if outside:
        # NOTE: refused, not merged: a key written twice (top level and [rules]) has no
        # clear winner, and a CI audit must not check a limit other than the one meant
        msg = f"{path}: rules both at the top level {outside} and in the [rules] table"
        raise ConfigError(msg, hint="Move every rule under [rules], or drop the [rules] line.")
    return document["rules"]


def evaluate(
    traces: pl.DataFrame, rules: Mapping[str, float], by: list[str], quarantined: int, read: int
) -> Audit:
    """Every rule against every group (or the whole run) of a whole traces table; what
    failed and what could not be evaluated (its column missing or empty in every trace).
    The table's one partial, checked: the rules are written once, in `AuditPartial`."""
    return AuditPartial.of(traces, by).check(rules, quarantined, read)


def _figure(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.3f}"


def _usd(amount: Any) -> str:
    """An exact amount of dollars without trailing zeros: `$0.24144`, not `0.241440000000`."""
    return "$" + format(Decimal(str(amount)).normalize(), "f")


# the partial's per-group sums and counts, and the columns its worst traces are ranked by
ROWS, SPENT, LOOPING_N, LOOPING_S = "_rows", "_spent", "_looping_n", "_looping_s"
PRICED = "_priced"
MEASURED, AFTER, REASONING_COST = "_measured", "_after", "_reasoning"
RANKED = (REASONING_TOKENS, COST_TOTAL, COST_AFTER_FIRST_ANSWER)
MERGE_EVERY = 16  # results reduced before their partials are merged into one


@dataclass(frozen=True)
class AuditPartial:
    """What `evaluate` reads of a traces table, mergeable result by result (in input
    order): per group (first-appearance order) the traces, exact Decimal sums and
    counts; the WORST traces by each ranked column (a stable sort, ties in input order)
    and the first WORST looping traces; per rule column, how many traces have a value."""

    by: tuple[str, ...]
    traces: int = 0
    columns: frozenset[str] = frozenset()
    values: Mapping[str, int] = field(default_factory=dict)
    groups: pl.DataFrame | None = None
    worst: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    looping: pl.DataFrame | None = None
    keyed: Mapping[str, bool] = field(default_factory=dict)
    repeats: Repeats = field(default_factory=Repeats)  # responses logged more than once

    @classmethod
    def of(cls, traces: pl.DataFrame, by: list[str] | tuple[str, ...] = ()) -> AuditPartial:
        """The partial of one result (its priced traces)."""
        if not traces.height:
            return cls(tuple(by))
        columns = traces.columns
        keyed = group_columns(traces, list(by))
        keys = group_keys(by)  # the group columns: never named like a column of `keyed`
        wanted = {c for c in RULE_COLUMNS.values() if c is not None and c in columns}
        return cls(
            by=tuple(by),
            traces=traces.height,
            columns=frozenset(columns),
            values={c: traces.height - traces[c].null_count() for c in wanted},
            groups=_grouped(keyed, keys, _audit_terms(columns)),
            worst={c: _top(_ranked(keyed, keys, c), keys, c) for c in RANKED if c in columns},
            looping=_first_looping(keyed, keys) if LOOPING in columns else None,
            keyed={
                k: bool(keyed[group_column(k)].null_count() < keyed.height)
                for k in metadata_keys(columns, list(by))
            },
            repeats=Repeats.of(traces),
        )

    def merge(self, *later: AuditPartial) -> AuditPartial:
        """This partial and those of results that came after it (in input order), as one."""
        repeats = combine_repeats([p.repeats for p in (self, *later)])  # a run's first has none
        parts = [p for p in (self, *later) if p.traces]
        if len(parts) <= 1:
            return dataclasses.replace(parts[0] if parts else self, repeats=repeats)
        keys = group_keys(self.by)
        keyed = dict(parts[0].keyed)
        for p in parts[1:]:
            for key, seen in p.keyed.items():
                keyed[key] = keyed.get(key, False) or seen
        values: dict[str, int] = {}
        for p in parts:
            for column, count in p.values.items():
                values[column] = values.get(column, 0) + count
        worst = {
            c: _top(pl.concat([p.worst[c] for p in parts if c in p.worst]), keys, c)
            for c in RANKED
            if any(c in p.worst for p in parts)
        }
        looping = [p.looping for p in parts if p.looping is not None]
        return AuditPartial(
            by=self.by,
            traces=sum(p.traces for p in parts),
            columns=frozenset().union(*(p.columns for p in parts)),
            values=values,
            groups=_merge_groups([p.groups for p in parts if p.groups is not None], keys),
            worst=worst,
            looping=_head(pl.concat(looping), keys) if looping else None,
            keyed=keyed,
            repeats=repeats,
        )

    def unknown_keys(self) -> list[str]:
        """The metadata `--by` keys that no trace has."""
        return [key for key, seen in self.keyed.items() if not seen]

    def check(self, rules: Mapping[str, float], quarantined: int, read: int) -> Audit:
        """Every rule against every group (or the whole run), as `evaluate` checks the
        whole table this partial was reduced from."""
        not_evaluated: dict[str, str] = {}
        for rule in rules:
            column = RULE_COLUMNS[rule]
            if column is not None and not self.values.get(column, 0):
                not_evaluated[rule] = WHY_MISSING[column] if self.traces else "no trace to check"
        if "max_quarantined_share" in rules and not read:
            not_evaluated["max_quarantined_share"] = "no record was read"
        usable = {r: v for r, v in rules.items() if r not in not_evaluated}
        money = tuple(r for r in usable if r in MONEY_RULES)
        keys = group_keys(self.by)
        found, gaps = [], []
        rows = list(self.groups.iter_rows(named=True)) if self.groups is not None else []
        for row in rows:
            key = tuple(row[k] for k in keys) if keys else ("all",)
            name = group_label(row, keys)  # the report's names: "(none)", '""', "all"
            unpriced = row[ROWS] - row[PRICED]
            if money and unpriced:
                gaps.append(PricingGap(name, row[ROWS], unpriced, money))
            checked = usable if row[PRICED] else _without(usable, MONEY_RULES)
            found += self._check_group(row, key if keys else (), checked, name)
        limit = usable.get("max_quarantined_share")
        if limit is not None and quarantined / read > limit:
            found.append(Violation("max_quarantined_share", "all", quarantined / read, limit, []))
        not_evaluated.update(unpriced_groups(gaps, len(rows)))
        evaluated = [r for r in rules if r not in not_evaluated]
        unpriced = self.traces - self.values.get(COST_TOTAL, 0)
        return Audit(
            found,
            evaluated,
            not_evaluated,
            self.traces,
            dict(rules),
            unpriced,
            gaps,
            self.repeats.figures(),
        )

    def _ids(self, frame: pl.DataFrame | None, key: tuple[Any, ...]) -> pl.DataFrame:
        if frame is None:
            return pl.DataFrame(schema={TRACE_ID: pl.String})
        for k, value in zip(group_keys(self.by), key, strict=True):
            frame = frame.filter(pl.col(k).is_null() if value is None else pl.col(k) == value)
        return frame

    def _check_group(
        self, row: dict[str, Any], key: tuple[Any, ...], rules: dict[str, float], group: str
    ) -> list[Violation]:
        found = []
        columns = self.columns
        ranked = {c: self._ids(self.worst.get(c), key) for c in RANKED if c in columns}

        def worst(column: str) -> list[str]:
            return ranked[column][TRACE_ID].to_list()

        def top(column: str) -> Any:
            frame = ranked[column]
            return frame[column][0] if frame.height else None

        limit = rules.get("max_reasoning_tokens")
        if limit is not None and REASONING_TOKENS in columns:
            most = top(REASONING_TOKENS)
            if most is not None and most > limit:
                found.append(
                    Violation(
                        "max_reasoning_tokens", group, int(most), limit, worst(REASONING_TOKENS)
                    )
                )
        limit = rules.get("max_cost_per_response")
        if limit is not None and COST_TOTAL in columns:
            most = top(COST_TOTAL)
            if most is not None and Decimal(str(most)) > Decimal(str(limit)):
                found.append(
                    Violation("max_cost_per_response", group, float(most), limit, worst(COST_TOTAL))
                )
        limit = rules.get("budget")
        if limit is not None and COST_TOTAL in columns:
            spent = row[SPENT]
            if spent is not None and Decimal(str(spent)) > Decimal(str(limit)):
                found.append(Violation("budget", group, float(spent), limit, worst(COST_TOTAL)))
        limit = rules.get("max_looping_share")
        if limit is not None and LOOPING in columns and row[LOOPING_N]:
            share = row[LOOPING_S] / row[LOOPING_N]
            if share > limit:
                looping = self._ids(self.looping, key)[TRACE_ID].to_list()
                found.append(Violation("max_looping_share", group, share, limit, looping))
        limit = rules.get("max_overthinking_share")
        if limit is not None and COST_AFTER_FIRST_ANSWER in columns:
            after, reasoning = row[AFTER], row[REASONING_COST]
            if row[MEASURED] and reasoning:
                value = float(Decimal(after) / Decimal(reasoning))
                if value > limit:
                    worst_after = worst(COST_AFTER_FIRST_ANSWER)
                    found.append(
                        Violation("max_overthinking_share", group, value, limit, worst_after)
                    )
        return found


def _without(rules: dict[str, float], names: tuple[str, ...]) -> dict[str, float]:
    return {rule: limit for rule, limit in rules.items() if rule not in names}


def collect(results: Iterable[Result], by: list[str] | None = None) -> AuditPartial:
    """The audit's partial of a whole run, one priced result at a time, in input order."""
    keys = list(by or [])
    held = [AuditPartial(tuple(keys), repeats=Repeats.opening())]
    for result in results:
        held.append(AuditPartial.of(result.traces, keys))
        if len(held) > MERGE_EVERY:
            held = [held[0].merge(*held[1:])]
    return held[0].merge(*held[1:])


def _audit_terms(columns: list[str]) -> list[pl.Expr]:
    terms = [pl.len().cast(pl.Int64).alias(ROWS)]
    if COST_TOTAL in columns:
        terms.append(pl.col(COST_TOTAL).sum().alias(SPENT))
    priced = pl.col(COST_TOTAL).count() if COST_TOTAL in columns else pl.lit(0)
    terms.append(priced.cast(pl.Int64).alias(PRICED))
    if LOOPING in columns:
        terms += [
            pl.col(LOOPING).count().cast(pl.Int64).alias(LOOPING_N),
            pl.col(LOOPING).cast(pl.Int64).sum().alias(LOOPING_S),
        ]
    if COST_AFTER_FIRST_ANSWER in columns:
        measured = pl.col(COST_AFTER_FIRST_ANSWER).is_not_null()
        terms += [
            measured.sum().cast(pl.Int64).alias(MEASURED),
            pl.col(COST_AFTER_FIRST_ANSWER).sum().alias(AFTER),
            pl.col(COST_REASONING).filter(measured).sum().alias(REASONING_COST),
        ]
    return terms


def _grouped(frame: pl.DataFrame, keys: list[str], terms: list[pl.Expr]) -> pl.DataFrame:
    if keys:
        return frame.group_by(keys, maintain_order=True).agg(terms)
    return frame.select(terms)


def _merge_groups(parts: list[pl.DataFrame], keys: list[str]) -> pl.DataFrame | None:
    if not parts:
        return None
    both = pl.concat(parts, how="vertical_relaxed")
    return _grouped(both, keys, [pl.col(c).sum() for c in both.columns if c not in keys])


def _ranked(keyed: pl.DataFrame, keys: list[str], column: str) -> pl.DataFrame:
    """What `column` ranks: traces, or for the cost, responses: the choices of one
    (`n > 1`, a trace each, one after another) summed, named by the first one's trace."""
    if column != COST_TOTAL or CHOICE not in keyed.columns:
        return keyed.select(*keys, TRACE_ID, column)
    cost = pl.col(COST_TOTAL)
    response = first_choice(keyed.columns).cast(pl.UInt32).cum_sum().alias("_response")
    return (
        keyed.group_by(response, maintain_order=True)
        .agg(
            *(pl.col(k).first() for k in keys),
            pl.col(TRACE_ID).first(),
            pl.when(cost.count() > 0).then(cost.sum()).alias(COST_TOTAL),
        )
        .drop("_response")
    )


def _top(frame: pl.DataFrame, keys: list[str], column: str) -> pl.DataFrame:
    """Per group, the WORST rows with the largest values (ties in input order)."""
    ranked = frame.drop_nulls(column).sort(column, descending=True, maintain_order=True)
    return _head(ranked, keys)


def _head(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.group_by(keys, maintain_order=True).head(WORST) if keys else frame.head(WORST)


def _first_looping(keyed: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return _head(keyed.filter(pl.col(LOOPING).fill_null(False)).select(*keys, TRACE_ID), keys)
