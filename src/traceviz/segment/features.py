"""Step features for the kinds model (`kinds.py`): what a step's words, cues, surface,
position and (optionally) novelty say, for every step of a batch at once.

`design` turns a batch of traces (each a list of step texts) into a `Design`: the
sublinear, l2-normalised TF-IDF of each step's terms (words, word pairs and its opening
cue) as sparse rows (`Rows`), and the dense features in `dense_names` order. Everything
is polars expressions and numpy over the whole batch: no loop per step, and no term
string is built at prediction time: words are cast to the ids of a model's `Vocabulary`
and a word pair is looked up by its two ids.

Invariants: rows are the steps of all traces in order; a step's features depend only
on its own trace; the same input gives the same bits (terms are summed in (step,
column) order, never in the order a parallel group-by hands them over).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from traceviz.segment.cue_literals import candidates
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


def word_runs(texts: pl.Series) -> pl.Series:
    """Every run of word characters (`\\w+`) of each text, lower case, in order (a list
    per text): what `design` reads its words from, and the behaviour metrics theirs."""
    return texts.str.to_lowercase().str.extract_all(r"\w+")


def _word_lists(texts: pl.Series, runs: pl.Series | None = None) -> pl.Series:
    """The words of each text, lower case, in order (a list per text); from the texts'
    `word_runs` when given (their runs of two characters or more: `_WORD_RUNS`'s
    matches, as they are the whole runs that long)."""
    if runs is None:
        return texts.str.to_lowercase().str.extract_all(_WORD_RUNS)
    return runs.list.eval(pl.element().filter(pl.element().str.len_chars() >= 2))


def _words(steps: pl.DataFrame, lists: pl.Series | None = None) -> pl.DataFrame:
    """(row, trace, pos, term) for every word of every step, lower case, in order
    (`lists`: the steps' `_word_lists`, when already at hand)."""
    if lists is None:
        lists = _word_lists(steps["text"])
    return (
        steps.select("row", "trace", "pos", lists.alias("term")).explode("term").drop_nulls("term")
    )


def _terms(steps: pl.DataFrame, words: pl.DataFrame) -> pl.DataFrame:
    """(row, term) for the step's words, word pairs and cue (`cue_let_me_check`)."""
    pairs = words.select(
        "row",
        pl.concat_str(["term", pl.col("term").shift(-1)], separator=" ").alias("term"),
        (pl.col("row").shift(-1) == pl.col("row")).alias("keep"),
    ).filter("keep")
    cues = steps.select("row", _cue_term().alias("term")).drop_nulls("term")
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


def _word_counts(texts: pl.Series, lists: pl.Series, plain: np.ndarray) -> pl.Series:
    """How many runs of `_WORD_RUNS` each text holds, `lists` being its `_word_lists`.

    NOTE: on an ASCII text lower case keeps every run as it is, so its count is the
    length of its word list (one regex pass fewer: 0.04 s CPU on r1small's 67,764
    steps); on the others (a letter's lower case may be two characters) the runs of the
    text itself are counted, as they always were."""
    counts = lists.list.len()
    wide = np.flatnonzero(~plain)
    if wide.size:
        counts = counts.scatter(wide, texts.gather(wide).str.count_matches(_WORD_RUNS))
    return counts


def _numbers(texts: pl.Series) -> tuple[pl.Series, pl.Series]:
    """How many matches of NUMBER_PATTERN each text holds, and how many `\\d`.

    NOTE: one regex pass for both (12 ms CPU less on r1small's steps): every `\\d` of a
    text is in exactly one number match (a search resumes after a match, and any digit
    left starts one), and a match is its digits and at most one `.`."""
    numbers = texts.str.extract_all(NUMBER_PATTERN)
    counts = numbers.list.len()
    found = numbers.explode(empty_as_null=False, keep_nulls=False)
    digits = found.str.len_chars() - found.str.contains(".", literal=True).cast(pl.UInt32)
    row = np.repeat(np.arange(len(texts)), counts.fill_null(0).to_numpy())
    per_text = np.bincount(row, digits.to_numpy(), minlength=len(texts))
    return counts, pl.Series(per_text.astype(np.uint32)).set(counts.is_null(), None)


def _surface_and_position(
    steps: pl.DataFrame, words: pl.Series, numbers: pl.Series, digits: pl.Series
) -> pl.DataFrame:
    """SURFACE and POSITION, one row per step (`words`: `_word_counts`; `numbers` and
    `digits`: `_numbers`)."""
    length = pl.max_horizontal(pl.col("text").str.len_chars(), pl.lit(1)).cast(pl.Float64)
    last = pl.col("count") - 1
    position = pl.col("pos") / pl.max_horizontal(last, pl.lit(1))
    frame = steps.with_columns(
        words.alias("words"), numbers.alias("numbers"), digits.alias("digits")
    )
    return frame.select(
        (length.log() / 10).alias("log_length"),
        (pl.col("words").cast(pl.Float64).log1p() / 5).alias("log_words"),
        (pl.col("text").str.count_matches(_SYMBOLS) / length).alias("symbol_share"),
        (pl.col("digits") / length).alias("digit_share"),
        (pl.col("numbers").cast(pl.Float64).log1p() / 3).alias("numbers"),
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
class Rows:
    """Sparse rows (CSR: row i's columns are `columns[indptr[i]:indptr[i + 1]]`, in
    increasing order, with their `values`), what `Design.tfidf` is held as."""

    indptr: np.ndarray
    columns: np.ndarray
    values: np.ndarray
    shape: tuple[int, int]

    def toarray(self) -> np.ndarray:
        out = np.zeros(self.shape)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        out[rows, self.columns] = self.values
        return out

    def dot(self, matrix: np.ndarray, block: int = 1 << 14) -> np.ndarray:
        """`self @ matrix` for a dense `matrix`, with the bits of scipy's CSR product:
        each row's products added one after the other in column order, from zero.

        NOTE: numpy's reductions (`add.reduceat`, `sum`) add pairwise, other bits; and
        `add.at`, sequential, is 30x slower than this. Rows are ordered by their number
        of terms (most first), so the rows with a k-th term are a prefix and the k-th
        products of all of them are added at once, in one contiguous slice. `block`
        bounds the entries multiplied at once (a block's products are `block` times
        the matrix's width floats: 3 MiB for the shipped model's 24 columns, which
        stay in cache; measured 5.7 ms a 16,000-step batch against 6-10 ms with 4x
        the block, and 1 ms for scipy's loop in C).
        """
        height = self.shape[0]
        out = np.zeros((height, matrix.shape[1]))
        at = 0
        while at < height:
            end = int(np.searchsorted(self.indptr, self.indptr[at] + block, side="right")) - 1
            end = min(max(end, at + 1), height)
            out[at:end] = _sequential_dot(
                self.indptr[at : end + 1] - self.indptr[at],
                self.columns[self.indptr[at] : self.indptr[end]],
                self.values[self.indptr[at] : self.indptr[end]],
                matrix,
            )
            at = end
        return out


def _sequential_dot(
    indptr: np.ndarray, columns: np.ndarray, values: np.ndarray, matrix: np.ndarray
) -> np.ndarray:
    """The CSR rows (indptr, columns, values) times `matrix`, each row's products
    summed in order from 0.0 (see `Rows.dot`)."""
    height = len(indptr) - 1
    counts = np.diff(indptr)
    order = np.argsort(-counts, kind="stable")  # rows with the most terms first
    rank = np.empty(height, dtype=np.int64)
    rank[order] = np.arange(height)
    most = int(counts.max(initial=0))
    live = height - np.cumsum(np.bincount(counts, minlength=most + 1))[:most]  # rows with > k
    offset = np.concatenate(([0], np.cumsum(live)))
    # the k-th entry of the row ranked r goes to offset[k] + r
    place = np.arange(len(columns)) - np.repeat(indptr[:-1], counts)
    place = offset[place] + np.repeat(rank, counts)
    moved_columns = np.empty_like(columns)
    moved_columns[place] = columns
    moved_values = np.empty_like(values)
    moved_values[place] = values
    products = matrix.take(moved_columns, axis=0)
    products *= moved_values[:, None]
    total = np.zeros((height, matrix.shape[1]))
    for k in range(most):
        total[: live[k]] += products[offset[k] : offset[k + 1]]
    out = np.empty_like(total)
    out[order] = total
    return out


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """A model's terms indexed for lookup without building term strings.

    Every word that is a term or half of a two-word term has an id (its place in
    `words`, an Enum a word column is cast to; any other word gets the id n, the number
    of those words); `single[id]` is the column of the word as a term of its own,
    `pair[a * (n + 1) + b]` that of the term "a b" (-1 where none). With too many words
    for that table (`pair` None), `pair_keys` (sorted a * (n + 1) + b) and
    `pair_columns` are searched instead. Terms without a space (the cue terms) are also
    looked up by string (`strings`). `idf` is per column.
    """

    words: pl.Enum | None
    single: np.ndarray
    pair: np.ndarray | None
    pair_keys: np.ndarray
    pair_columns: np.ndarray
    strings: pl.DataFrame
    idf: np.ndarray
    width: int


PAIR_TABLE = 1 << 22  # the most entries of a dense pair table (16 MiB of int32): 2,047 words


def vocabulary(
    terms: Mapping[str, int], idf: np.ndarray, pair_table: int = PAIR_TABLE
) -> Vocabulary:
    """`terms` (term -> column, as `term_lists` makes them) indexed for `design`; `idf`
    per column; a dense pair table when it has at most `pair_table` entries."""
    singles = {t: c for t, c in terms.items() if " " not in t}
    pairs = {}
    for term, column in terms.items():
        first, _, second = term.partition(" ")
        if second and " " not in second:
            pairs[first, second] = column
    names = sorted(set(singles) | {w for pair in pairs for w in pair})
    ids = {w: i for i, w in enumerate(names)}
    side = len(names) + 1  # the ids, and one for every other word
    single = np.full(side, -1, dtype=np.int64)
    for term, column in singles.items():
        single[ids[term]] = column
    keys = np.array([ids[a] * side + ids[b] for a, b in pairs], dtype=np.int64)
    columns = np.array(list(pairs.values()), dtype=np.int64)
    order = np.argsort(keys)
    table = None
    if side * side <= pair_table:
        table = np.full(side * side, -1, dtype=np.int32)
        table[keys] = columns
    strings = pl.DataFrame(
        {"term": list(singles), "column": list(singles.values())},
        schema={"term": pl.String, "column": pl.Int64},
    )
    width = len(terms)
    weights = np.zeros(width)
    weights[list(terms.values())] = np.asarray(idf)[list(terms.values())]
    return Vocabulary(
        pl.Enum(names) if names else None,
        single,
        table,
        keys[order],
        columns[order],
        strings,
        weights,
        width,
    )


@dataclass(frozen=True, slots=True)
class Design:
    """A batch's features before the coefficients: TF-IDF of each step's terms, its
    dense features (cue regexes first) and where each step sits in its trace."""

    tfidf: Rows
    dense: np.ndarray
    first: np.ndarray  # bool per step: no previous step in its trace
    last: np.ndarray  # bool per step: no next step in its trace


def design(
    traces: Sequence[Sequence[str]],
    terms: Vocabulary,
    cues: Sequence[tuple[str, str]],
    novelty: bool,
    runs: pl.Series | None = None,
) -> Design:
    """The features of every step of every trace, with the vocabulary `terms` (`runs`:
    the steps' `word_runs`, in order, when already at hand)."""
    steps = _step_frame(traces)  # once: every feature reads the step texts
    texts = steps["text"]
    plain = _ascii(texts)
    lists = _word_lists(texts, runs)  # once: log_words, the TF-IDF and novelty read them
    numbers, digits = _numbers(texts)
    known = {r"\d": (digits > 0).cast(pl.Float64).to_numpy()}
    flags = cue_flags(texts, cues, plain, known)
    surface = _surface_and_position(steps, _word_counts(texts, lists, plain), numbers, digits)
    blocks = [flags, surface]
    if novelty:
        doubt = pl.any_horizontal(
            pl.lit(False), *[pl.col(n) > 0 for n in _DOUBT_CUES if n in flags]
        )
        blocks.append(_novelty(steps, _words(steps, lists), flags.select(doubt).to_series()))
    dense = pl.concat(blocks, how="horizontal").to_numpy().astype(np.float64)
    pos = steps["pos"].to_numpy()
    tfidf = _tfidf(_term_columns(steps, lists, terms), terms, steps.height)
    return Design(tfidf, dense, pos == 0, pos == steps["count"].to_numpy() - 1)


def _term_columns(steps: pl.DataFrame, lists: pl.Series, terms: Vocabulary) -> np.ndarray:
    """row * width + column for every term of every step that is in the vocabulary
    (its words, its word pairs and its cue, as `_terms` makes them), in no order."""
    width = terms.width
    found = []
    if terms.words is not None:
        side = len(terms.single)
        counts = lists.list.len().fill_null(0).to_numpy()
        ends = np.cumsum(counts)  # past each step's words
        row = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        ids = (
            lists.explode(empty_as_null=False, keep_nulls=False)
            .cast(terms.words, strict=False)
            .to_physical()
            .cast(pl.Int64)
            .fill_null(side - 1)
            .to_numpy()
        )
        column = terms.single[ids]
        hit = np.flatnonzero(column >= 0)
        found.append(row[hit] * width + column[hit])
        key = ids[:-1] * side + ids[1:]  # word i and the next
        if terms.pair is not None:
            column = terms.pair[key]
        else:
            place = np.searchsorted(terms.pair_keys, key)
            np.minimum(place, max(len(terms.pair_keys) - 1, 0), out=place)
            column = np.full(len(key), -1, dtype=np.int64)
            if len(terms.pair_keys):
                same = terms.pair_keys[place] == key
                column[same] = terms.pair_columns[place[same]]
        column[
            ends[(ends > 0) & (ends < len(ids))] - 1
        ] = -1  # a step's last word and the next's first
        hit = np.flatnonzero(column >= 0)
        found.append(row[hit] * width + column[hit])
    cues = (
        steps.select("row", _cue_term().alias("term"))
        .drop_nulls("term")
        .join(terms.strings, on="term", how="inner")
    )
    found.append(cues["row"].to_numpy() * width + cues["column"].to_numpy())
    return np.concatenate(found)


def _cue_term() -> pl.Expr:
    """A step's cue as a term (`cue_let_me_check`), null without one."""
    return "cue_" + pl.col("text").str.extract(_CUE, 1).str.to_lowercase().str.replace_all(
        r"[ \-]", "_"
    )


def _tfidf(keys: np.ndarray, terms: Vocabulary, height: int) -> Rows:
    """Sublinear tf times idf, l2-normalised per step, of the terms found (`keys`:
    row * width + column, once per occurrence)."""
    width = terms.width
    # NOTE: a stable sort (radix for integers) is 3x quicker than np.unique's here
    keys = np.sort(keys, kind="stable")
    new = np.ones(len(keys), dtype=bool)
    new[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(new)
    n = np.diff(np.append(starts, len(keys)))
    rows, columns = np.divmod(keys[starts], width)
    # NOTE: the log by polars, as the model was trained and checked with
    weights = (1 + pl.Series(n, dtype=pl.Float64).log()).to_numpy() * terms.idf[columns]
    weights /= np.sqrt(np.bincount(rows, weights * weights, minlength=height))[rows]
    indptr = np.zeros(height + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=height), out=indptr[1:])
    return Rows(indptr, columns, weights, (height, width))


def _ascii(texts: pl.Series) -> np.ndarray:
    """True where a text is ASCII (or null)."""
    return (texts.str.len_bytes() == texts.str.len_chars()).fill_null(True).to_numpy()


def cue_flags(
    texts: pl.Series,
    cues: Sequence[tuple[str, str]],
    plain: np.ndarray | None = None,
    known: Mapping[str, np.ndarray] | None = None,
) -> pl.DataFrame:
    """A Float64 column per cue: 1.0 where its pattern matches a text, else 0.0.
    `plain` (optional) says which texts are ASCII (`_ascii`); `known` gives the column
    of a pattern already computed (`design` knows `\\d` from the digit counts).

    NOTE: a word cue's regex runs only on the texts holding one of its literal words
    (`cue_literals.candidates`, one scan for all cues): 0.31 s CPU down to about 0.06 s
    on r1small's 67,764 steps. Unicode `\\b` sends the regex engine to its slow path on
    non-ASCII text (5-10x slower there): a pattern that `stands_in` runs on the texts'
    ASCII stand-ins (`_stand_ins`), which it matches exactly where it matches the texts
    (0.23 s down to about 0.03 s on r1small's non-ASCII steps, 13 % of them). On the
    texts without one (holding a character that case-folds to ASCII) and for the other
    patterns, a pattern with word boundaries is first run without them (`loose`), which
    matches wherever the pattern does and more, and the pattern itself only on the
    texts the loose one matched. Same flags.
    """
    plain = _ascii(texts) if plain is None else plain
    known = known or {}
    view, viewed = _ascii_view(texts, plain)
    flags = {}
    for (name, pattern), rows in zip(cues, candidates(texts, cues), strict=True):
        column = np.zeros(len(texts))
        source, ascii_rows = (view, viewed) if stands_in(pattern) else (texts, plain)
        if pattern in known:
            column = known[pattern]
        elif rows is None:
            column = _matches(texts, source, pattern, ascii_rows)
        else:
            column[rows] = _matches(texts, source, pattern, ascii_rows, rows)
        flags[name] = column
    return pl.DataFrame(flags, schema=dict.fromkeys(flags, pl.Float64))


def _matches(
    texts: pl.Series,
    view: pl.Series,
    pattern: str,
    plain: np.ndarray,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """1.0 where `pattern` matches a text (of those at `rows`, or all), else 0.0 (null
    for a null text); where `plain`, `view` holds the text or an ASCII stand-in that
    `pattern` matches alike, elsewhere the text itself.

    NOTE: where `pattern` is run alike on every text (no text that is not `plain`, or
    no word boundary to drop for those), it is run once over `view`, without copying
    the texts apart first (40 ms CPU less on r1small's 67,764 steps)."""
    if rows is not None:
        view, plain = view.gather(rows), plain[rows]
    wider = loose(pattern) if not plain.all() else None
    if wider is None:
        return view.str.contains(pattern).cast(pl.Float64).to_numpy()
    texts = texts if rows is None else texts.gather(rows)
    column = np.zeros(len(texts))
    column[plain] = view.filter(plain).str.contains(pattern).cast(pl.Float64).to_numpy()
    wide = texts.filter(~plain)
    maybe = wide.str.contains(wider)
    rest = np.zeros(len(wide))
    rest[maybe.to_numpy()] = wide.filter(maybe).str.contains(pattern).cast(pl.Float64)
    column[~plain] = rest
    return column


# The two non-ASCII characters that Unicode simple case folding maps to ASCII letters:
# under `(?i)` an ASCII letter of a pattern matches them, so no stand-in keeps that.
_FOLDS_TO_ASCII = ("\u212a", "\u017f")  # KELVIN SIGN (k), LATIN SMALL LETTER LONG S (s)


def _stand_ins(texts: pl.Series) -> pl.Series:
    """Each text with every non-ASCII character replaced by an ASCII one of its class,
    for the regex engine: white space (`\\s`) by FORM FEED, a word character (`\\w`) by
    `_`, any other by START OF HEADING. The classes are the regex engine's own."""
    return (
        texts.str.replace_all(r"[\s&&[^\x00-\x7F]]", "\x0c")
        .str.replace_all(r"[\w&&[^\x00-\x7F]]", "_")
        .str.replace_all(r"[^\x00-\x7F]", "\x01")
    )


def _ascii_view(texts: pl.Series, plain: np.ndarray) -> tuple[pl.Series, np.ndarray]:
    """The texts with their non-ASCII ones replaced by their stand-ins, and where that
    was done or not needed (not where a text holds a character that folds to ASCII)."""
    wide = np.flatnonzero(~plain)
    if not wide.size:
        return texts, plain
    others = texts.gather(wide)
    folding = others.str.contains_any(list(_FOLDS_TO_ASCII)).to_numpy()
    replaced = wide[~folding]
    viewed = plain.copy()
    viewed[replaced] = True
    view = texts.clone().scatter(replaced, _stand_ins(others.filter(~folding)))
    return view, viewed


_PLAIN_ESCAPES = frozenset("bBwWsS")  # the letter escapes a stand-in keeps the meaning of


def stands_in(pattern: str) -> bool:
    """Whether `pattern` matches a text's ASCII stand-in (`_stand_ins`) exactly where it
    matches the text, for a text without a character that folds to ASCII.

    Yes for a printable ASCII pattern without `_` whose escapes are `\\b`, `\\B`,
    `\\w`, `\\W`, `\\s`, `\\S` (no `\\b{...}`) or escaped punctuation and whose flag
    groups set only `i`: then a non-ASCII character and its stand-in are alike to it
    (both word characters or both white space or neither, neither a digit nor any
    character it names or a range holds, neither with an ASCII case variant), so every
    assertion and every class decides the same at every position. No otherwise (say
    `\\d`: `٣` is a digit, its stand-in `_` is not)."""
    if not (pattern.isascii() and pattern.isprintable()) or "_" in pattern:
        return False
    at, before = 0, ""
    while at < len(pattern):
        char = pattern[at]
        if char == "\\":
            escaped = pattern[at + 1 : at + 2]
            if escaped.isalnum() and escaped not in _PLAIN_ESCAPES:
                return False
            if escaped in "bB" and pattern[at + 2 : at + 3] == "{":
                return False
            at, before = at + 2, escaped
            continue
        after = pattern[at + 1 : at + 3].removeprefix("\\")[:1]
        if char == "-" and before and after and before <= "_" <= after:
            return False  # a range that may hold `_` (`[A-z]`)
        if pattern.startswith("(?", at):
            end = at + 2
            while end < len(pattern) and pattern[end] not in ":)":
                end += 1
            if set(pattern[at + 2 : end]) - {"i"}:
                return False
        at, before = at + 1, char
    return True


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


def shift(values: np.ndarray, design: Design, by: int) -> np.ndarray:
    """Row i takes row i-1 (`by=1`, the previous step) or i+1 (`by=-1`, the next step)
    of `values`, zero where that step is in another trace. (Added to 0.0, so the bits
    are those of the product with a 0/1 shift matrix: -0.0 comes out 0.0.)"""
    out = np.zeros(values.shape)
    keep = np.flatnonzero(~(design.first if by == 1 else design.last))
    out[keep] += values[keep - by]
    return out
