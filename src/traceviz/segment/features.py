"""Step features for the kinds model (`kinds.py`): what a step's words, cues, surface,
position and (optionally) novelty say, for every step of a batch at once.

`design` turns a batch of traces (each a list of step texts) into a `Design`: the
sublinear, l2-normalised TF-IDF of each step's terms (words, word pairs and its opening
cue) as a sparse matrix, and the dense features in `dense_names` order. Everything is
polars expressions and numpy over the whole batch: no loop per step.

Invariants: rows are the steps of all traces in order; a step's features depend only
on its own trace; the same input gives the same bits (terms are summed in (step,
column) order, never in the order a parallel group-by hands them over).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import sparse

from traceviz.segment.split import CUE_PATTERN

WORD_PATTERN = r"\b\w\w+\b"  # scikit-learn's default token pattern, run by polars
# NOTE: `\w\w+` finds exactly WORD_PATTERN's matches (a greedy run of word characters
# always ends at a word boundary, and a search resumes after the run), but Unicode `\b`
# sends the regex engine to its slow path on any non-ASCII step: 5-10x slower there.
_WORD_RUNS = r"\w\w+"
NUMBER_PATTERN = r"\d+(?:\.\d+)?"
_SYMBOLS = r"[0-9=+\-*/^\\{}()]"
_CUE = "(?i)" + CUE_PATTERN

# Cue regexes (Rust regex syntax, run by polars): what a step's wording says it does.
# A model records the patterns it was trained with, so later edits here never change
# what a saved model computes.
CUES: tuple[tuple[str, str], ...] = (
    ("wait", r"(?i)^\W*(but\s+|oh\s+)?wait\b"),
    ("hmm", r"(?i)\bhmm+\b"),
    ("check", r"(?i)\b(check|verify|verif\w+|confirm|double[- ]?check|make sure|sanity)\b"),
    ("so_start", r"(?i)^\W*(so|therefore|thus|hence)\b"),
    ("answer", r"(?i)\banswer\b"),
    ("boxed", r"\\boxed|(?i)\*\*final answer"),
    ("problem", r"(?i)\b(the problem|the question|asks|asking|asked|given|we need to find)\b"),
    ("plan", r"(?i)\b(let me|let's|i('ll| will| need to| should| can)|we need to|we can)\b"),
    ("approach", r"(?i)\b(approach|strategy|method|way to|idea|step by step|first,|next,)\b"),
    ("recall", r"(?i)\b(recall|remember|formula|theorem|definition|known|property|rule)\b"),
    ("since", r"(?i)\b(since|because|means that|implies|which is|where)\b"),
    ("doubt", r"(?i)\b(maybe|perhaps|not sure|mistake|wrong|confus\w*|hold on|seems)\b"),
    ("think", r"(?i)\bi (think|guess|believe|wonder)\b"),
    ("equals", r"="),
    ("arithmetic", r"\d\s*[-+*/×^·]\s*\(?\d"),
    ("latex", r"\\[a-zA-Z]+|\$"),
    ("digit", r"\d"),
    ("question", r"\?"),
    ("colon_end", r":\s*$"),
    ("enumeration", r"^\s*(\d+[.)]|[-*•])\s"),
    ("consolidate", r"(?i)\b(so (the|that|we have|it)|in total|altogether|overall|summar|recap)"),
    ("confirm", r"(?i)\b(correct|right|makes sense|consistent|matches|checks out|same)\b"),
    ("opening", r"(?i)^\W*(okay|ok|alright|all right)\b"),
    ("compute", r"(?i)\b(comput|calculat|multipl|divid|subtract|plug|substitut|expand|simplif)"),
    ("alternative", r"(?i)\b(alternatively|another (way|approach|method)|instead)\b"),
)
SURFACE = ("log_length", "log_words", "symbol_share", "digit_share", "numbers", "newlines")
POSITION = (
    "position", "position_sq", "is_first", "is_second", "is_last", "early", "late", "log_pos",
)  # fmt: skip
NOVELTY = (
    "new_number_share", "has_new_number", "has_final_number", "overlap_previous",
    "overlap_opening", "since_doubt", "no_doubt_yet",
)  # fmt: skip
OPENING_STEPS = 3  # the steps that state the problem, for `overlap_opening`
_DOUBT_CUES = ("wait", "check")  # the cue regexes that reset `since_doubt`


def _step_frame(traces: Sequence[Sequence[str]]) -> pl.DataFrame:
    """One row per step: its row number, its trace, its position and the trace's length."""
    lengths = np.fromiter((len(t) for t in traces), dtype=np.int64, count=len(traces))
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return pl.DataFrame(
        {
            "row": np.arange(total, dtype=np.int64),
            "trace": np.repeat(np.arange(len(traces), dtype=np.int64), lengths),
            "pos": np.arange(total, dtype=np.int64) - starts,
            "count": np.repeat(lengths, lengths),
            "text": [text for trace in traces for text in trace],
        },
        schema={
            "row": pl.Int64,
            "trace": pl.Int64,
            "pos": pl.Int64,
            "count": pl.Int64,
            "text": pl.String,
        },
    )


def _words(steps: pl.DataFrame) -> pl.DataFrame:
    """(row, trace, pos, term) for every word of every step, lower case, in order."""
    return (
        steps.select(
            "row",
            "trace",
            "pos",
            pl.col("text").str.to_lowercase().str.extract_all(_WORD_RUNS).alias("term"),
        )
        .explode("term")
        .drop_nulls("term")
    )


def _terms(steps: pl.DataFrame, words: pl.DataFrame) -> pl.DataFrame:
    """(row, term) for the step's words, word pairs and cue (`cue_let_me_check`)."""
    pairs = words.select(
        "row",
        pl.concat_str(["term", pl.col("term").shift(-1)], separator=" ").alias("term"),
        (pl.col("row").shift(-1) == pl.col("row")).alias("keep"),
    ).filter("keep")
    cues = steps.select(
        "row",
        (
            "cue_"
            + pl.col("text").str.extract(_CUE, 1).str.to_lowercase().str.replace_all(r"[ \-]", "_")
        ).alias("term"),
    ).drop_nulls("term")
    return pl.concat([words.select("row", "term"), pairs.select("row", "term"), cues])


def term_table(traces: Sequence[Sequence[str]]) -> pl.DataFrame:
    """(row, term) for every term of every step; rows number the steps of all traces."""
    steps = _step_frame(traces)
    return _terms(steps, _words(steps))


def term_lists(traces: Sequence[Sequence[str]]) -> list[list[str]]:
    """The terms of every step as lists (for fitting the vocabulary with scikit-learn)."""
    total = sum(len(t) for t in traces)
    grouped = term_table(traces).group_by("row").agg("term")
    found = dict(zip(grouped["row"].to_list(), grouped["term"].to_list(), strict=True))
    return [found.get(row, []) for row in range(total)]


def _surface_and_position(steps: pl.DataFrame) -> pl.DataFrame:
    length = pl.max_horizontal(pl.col("text").str.len_chars(), pl.lit(1)).cast(pl.Float64)
    last = pl.col("count") - 1
    position = pl.col("pos") / pl.max_horizontal(last, pl.lit(1))
    return steps.select(
        (length.log() / 10).alias("log_length"),
        (pl.col("text").str.count_matches(_WORD_RUNS).cast(pl.Float64).log1p() / 5).alias(
            "log_words"
        ),
        (pl.col("text").str.count_matches(_SYMBOLS) / length).alias("symbol_share"),
        (pl.col("text").str.count_matches(r"\d") / length).alias("digit_share"),
        (pl.col("text").str.count_matches(NUMBER_PATTERN).cast(pl.Float64).log1p() / 3).alias(
            "numbers"
        ),
        pl.col("text").str.contains("\n", literal=True).cast(pl.Float64).alias("newlines"),
        position.alias("position"),
        (position**2).alias("position_sq"),
        (pl.col("pos") == 0).cast(pl.Float64).alias("is_first"),
        (pl.col("pos") == 1).cast(pl.Float64).alias("is_second"),
        (pl.col("pos") == last).cast(pl.Float64).alias("is_last"),
        (pl.col("pos") < OPENING_STEPS).cast(pl.Float64).alias("early"),
        (last - pl.col("pos") < OPENING_STEPS).cast(pl.Float64).alias("late"),
        (pl.col("pos").cast(pl.Float64).log1p() / 7).alias("log_pos"),
    )


def _novelty(steps: pl.DataFrame, words: pl.DataFrame, doubt: pl.Series) -> pl.DataFrame:
    """NOVELTY, one row per step: what a step brings that the trace has not said yet."""
    keys = steps.select("row", "trace", "pos")
    numbers = (
        steps.select("row", "trace", "pos", pl.col("text").str.extract_all(NUMBER_PATTERN))
        .explode("text")
        .drop_nulls("text")
        .rename({"text": "number"})
    )
    final = numbers.group_by("trace").agg(pl.col("number").last().alias("final"))
    per_number = numbers.with_columns(
        (pl.col("pos") == pl.col("pos").min().over("trace", "number")).alias("new")
    ).join(final, on="trace", how="left")
    number_stats = per_number.group_by("row").agg(
        pl.col("new").mean().alias("new_number_share"),
        pl.col("new").any().cast(pl.Float64).alias("has_new_number"),
        (pl.col("number") == pl.col("final")).any().cast(pl.Float64).alias("has_final_number"),
    )
    unique = words.unique(["row", "term"])
    sizes = unique.group_by("row").agg(pl.len().alias("size"))
    previous = unique.select(pl.col("row") + 1, "trace", "term")
    shared_previous = (
        unique.join(previous, on=["row", "trace", "term"], how="inner")
        .group_by("row")
        .agg(pl.len().alias("shared_previous"))
    )
    opening = unique.filter(pl.col("pos") < OPENING_STEPS).select("trace", "term").unique()
    shared_opening = (
        unique.filter(pl.col("pos") >= OPENING_STEPS)
        .join(opening, on=["trace", "term"], how="inner")
        .group_by("row")
        .agg(pl.len().alias("shared_opening"))
    )
    last_doubt = pl.when(pl.col("doubt")).then(pl.col("pos")).shift(1).forward_fill().over("trace")
    return (
        keys.with_columns(doubt.alias("doubt"))
        .with_columns(last_doubt.alias("last_doubt"))
        .join(number_stats, on="row", how="left")
        .join(sizes, on="row", how="left")
        .join(shared_previous, on="row", how="left")
        .join(shared_opening, on="row", how="left")
        .sort("row")
        .select(
            pl.col("new_number_share").fill_null(0.0),
            pl.col("has_new_number").fill_null(0.0),
            pl.col("has_final_number").fill_null(0.0),
            (pl.col("shared_previous").fill_null(0) / pl.col("size").fill_null(1)).alias(
                "overlap_previous"
            ),
            (pl.col("shared_opening").fill_null(0) / pl.col("size").fill_null(1)).alias(
                "overlap_opening"
            ),
            ((pl.col("pos") - pl.col("last_doubt")).cast(pl.Float64).log1p() / 4)
            .fill_null(0.0)
            .alias("since_doubt"),
            pl.col("last_doubt").is_null().cast(pl.Float64).alias("no_doubt_yet"),
        )
    )


@dataclass(frozen=True, slots=True)
class Design:
    """A batch's features before the coefficients: TF-IDF of each step's terms, its
    dense features (cue regexes first) and where each step sits in its trace."""

    tfidf: sparse.csr_matrix
    dense: np.ndarray
    first: np.ndarray  # bool per step: no previous step in its trace
    last: np.ndarray  # bool per step: no next step in its trace


def design(
    traces: Sequence[Sequence[str]],
    terms: pl.DataFrame,
    cues: Sequence[tuple[str, str]],
    novelty: bool,
) -> Design:
    """The features of every step of every trace. `terms` is (term, column, idf)."""
    steps = _step_frame(traces)  # once: every feature reads the step texts
    words = _words(steps)
    flags = cue_flags(steps["text"], cues)
    blocks = [flags, _surface_and_position(steps)]
    if novelty:
        doubt = pl.any_horizontal(
            pl.lit(False), *[pl.col(n) > 0 for n in _DOUBT_CUES if n in flags]
        )
        blocks.append(_novelty(steps, words, flags.select(doubt).to_series()))
    dense = pl.concat(blocks, how="horizontal").to_numpy().astype(np.float64)
    pos = steps["pos"].to_numpy()
    tfidf = _tfidf(_terms(steps, words), terms, steps.height)
    return Design(tfidf, dense, pos == 0, pos == steps["count"].to_numpy() - 1)


def _tfidf(found: pl.DataFrame, terms: pl.DataFrame, height: int) -> sparse.csr_matrix:
    """Sublinear tf times idf, l2-normalised per step, of the (row, term) pairs `found`
    that are in the vocabulary `terms` (term, column, idf)."""
    width = terms.height
    matched = found.join(terms.select("term", "column"), on="term", how="inner")
    keys, n = np.unique(
        matched["row"].to_numpy() * width + matched["column"].to_numpy(), return_counts=True
    )
    rows, columns = np.divmod(keys, width)
    idf = np.zeros(width)
    idf[terms["column"].to_numpy()] = terms["idf"].to_numpy()
    # NOTE: the log by polars, as the model was trained and checked with
    weights = (1 + pl.Series(n, dtype=pl.Float64).log()).to_numpy() * idf[columns]
    weights /= np.sqrt(np.bincount(rows, weights * weights, minlength=height))[rows]
    indptr = np.zeros(height + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=height), out=indptr[1:])
    return sparse.csr_matrix((weights, columns, indptr), shape=(height, width))


def cue_flags(texts: pl.Series, cues: Sequence[tuple[str, str]]) -> pl.DataFrame:
    """A Float64 column per cue: 1.0 where its pattern matches a text, else 0.0.

    NOTE: Unicode `\\b` sends the regex engine to its slow path on non-ASCII text
    (5-10x slower there), so on the non-ASCII texts a pattern with word boundaries is
    first run without them (`loose`), which matches wherever the pattern does and more,
    and the pattern itself only on the texts the loose one matched. Same flags.
    """
    plain = (texts.str.len_bytes() == texts.str.len_chars()).fill_null(True)
    found = (
        pl.DataFrame({"text": texts})
        .filter(plain)
        .select(pl.col("text").str.contains(pattern).alias(name) for name, pattern in cues)
    )
    wide = texts.filter(~plain)
    where = plain.to_numpy()
    flags = {}
    for name, pattern in cues:
        column = np.zeros(len(texts))
        column[where] = found[name].cast(pl.Float64).to_numpy()
        wider = loose(pattern)
        if wider is None:
            column[~where] = wide.str.contains(pattern).cast(pl.Float64).to_numpy()
        else:
            maybe = wide.str.contains(wider)
            rest = np.zeros(len(wide))
            rest[maybe.to_numpy()] = wide.filter(maybe).str.contains(pattern).cast(pl.Float64)
            column[~where] = rest
        flags[name] = column
    return pl.DataFrame(flags, schema=dict.fromkeys(flags, pl.Float64))


def loose(pattern: str) -> str | None:
    """`pattern` without its word-boundary assertions (`\\b` outside brackets), which
    matches wherever `pattern` does; None when it has none, or has one this reading does
    not undo with certainty (`\\b{start}`, a quantified `\\b`)."""
    out: list[str] = []
    at, depth, dropped = 0, 0, False
    while at < len(pattern):
        char = pattern[at]
        if char == "\\":
            pair = pattern[at : at + 2]
            if pair == "\\b" and depth == 0:
                if pattern[at + 2 : at + 3] in ("{", "*", "+", "?"):
                    return None
                dropped = True
            else:
                out.append(pair)
            at += 2
            continue
        out.append(char)
        at += 1
        if char == "[":
            depth += 1
            for literal in ("^", "]"):  # `[]…]` and `[^]…]` open with a literal `]`
                if pattern[at : at + 1] == literal:
                    out.append(literal)
                    at += 1
        elif char == "]" and depth:
            depth -= 1
    return "".join(out) if dropped else None


def dense_names(cues: Sequence[tuple[str, str]], novelty: bool) -> list[str]:
    """The dense features' names, in column order."""
    return [f"cue:{name}" for name, _ in cues] + [
        *SURFACE,
        *POSITION,
        *(NOVELTY if novelty else ()),
    ]


def shift(values: np.ndarray, design: Design, by: int) -> np.ndarray | sparse.csr_matrix:
    """Row i takes row i-1 (`by=1`, the previous step) or i+1 (`by=-1`, the next step)
    of `values`, zero where that step is in another trace."""
    n = values.shape[0]
    edge = design.first if by == 1 else design.last
    rows = np.arange(n) - by
    keep = ~edge
    mover = sparse.csr_matrix(
        (np.ones(int(keep.sum())), (np.flatnonzero(keep), rows[keep])), shape=(n, n)
    )
    return mover @ values
