"""Making untrusted text safe to show: one helper per kind of output.

Text from logs and file names (models, trace ids, metadata, reasoning, paths) goes out
through one of these, and through nothing else:

- `visible`: control characters (C0 but newline and tab, DEL, C1), bidi overrides and
  marks, line separators and lone surrogates shown as `\\x1b`-style escapes, so no
  escape sequence reaches a terminal and no text is reordered;
- `one_line`: the same, newlines too, for one line of plain output (`FAIL …`, `Error: …`);
- `rich_text`: a `rich.text.Text` of visible text: rich reads no markup (`[link=…]`) and
  no emoji codes (`:smile:`) in it; `rich_name`, the same on one line, for table cells;
- `markdown_text`, `html_text`: escaped for Markdown or HTML, controls made visible;
- `csv_frame`: string cells made visible, and cells a spreadsheet would run as a formula
  (`= + - @`, tab, carriage return) prefixed with `'`;
- `json_bytes`: C1 controls, DEL and bidi characters in an encoded JSON document written
  as `\\u` escapes, which decode to the same value: JSON stays data, and still cannot
  drive a terminal it is printed on (orjson and polars already escape C0).

The invariant: what these return holds no byte that a terminal acts on and no markup its
reader interprets; `visible` changes nothing in text that has no such character.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl
    from rich.text import Text

# C0 and C1 controls and DEL, except newline and tab; bidi embeddings, overrides,
# isolates and marks, which can reorder what a reader sees; line and paragraph
# separators; lone surrogates (undecodable bytes of a file name).
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
_CONTROL = re.compile(f"[{_UNSAFE}]")
_CONTROL_OR_NEWLINE = re.compile(f"[\n{_UNSAFE}]")
# The same characters as UTF-8 inside a JSON document (C0 is escaped by the encoders).
_JSON_UNSAFE = re.compile(
    rb"\x7f|\xc2[\x80-\x9f]|\xd8\x9c|\xe2\x80[\x8e\x8f\xa8-\xae]|\xe2\x81[\xa6-\xa9]"
)
# `_UNSAFE` for polars' regex engine (its strings hold no surrogates)
_POLARS_CONTROL = (
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\x{061c}\x{200e}\x{200f}\x{2028}-\x{202e}\x{2066}-\x{2069}]"
)
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>|#!&~])")
_FORMULA = r"^[=+\-@\t\r]"


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape", "backslashreplace").decode("ascii")


def visible(text: str) -> str:
    """Control characters shown as `\\x1b`-style escapes, so none reaches the terminal.

    >>> visible("ok\\x1b]52;c;ZXZpbA==\\x07 \\u202etxt.exe")
    'ok\\\\x1b]52;c;ZXZpbA==\\\\x07 \\\\u202etxt.exe'
    """
    return _CONTROL.sub(_escape, text)


def one_line(text: str) -> str:
    """Visible text with newlines escaped too, so data cannot forge a line of output."""
    return _CONTROL_OR_NEWLINE.sub(_escape, text)


def rich_text(text: str, style: str = "") -> Text:
    """Visible text as rich `Text`: never read as markup or emoji codes."""
    from rich.text import Text

    return Text(visible(text), style=style)


def rich_name(text: str, style: str = "") -> Text:
    """A name (model, trace id, group) as rich `Text` on one line: newlines escaped too."""
    from rich.text import Text

    return Text(one_line(text), style=style)


def markdown_text(text: str) -> str:
    """One line of Markdown showing `text` literally: controls visible, markup escaped.

    >>> markdown_text("a|b `c` <script>")
    'a\\\\|b \\\\`c\\\\` \\\\<script\\\\>'
    """
    flat = visible(text.replace("\r\n", " ").replace("\n", " "))
    return _MARKDOWN.sub(r"\\\1", flat)


def html_text(text: str) -> str:
    """Text escaped for HTML, controls made visible."""
    return html.escape(visible(text), quote=True)


def csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """String cells made visible and neutralised, so a spreadsheet shows them as text."""
    import polars as pl

    text_columns = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    shown = [
        pl.Series(name, [None if v is None else visible(v) for v in frame[name]], pl.String)
        for name in text_columns
        if frame[name].str.contains(_POLARS_CONTROL).any()
    ]
    return frame.with_columns(shown).with_columns(
        pl.when(pl.col(name).str.contains(_FORMULA))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text_columns
    )


def json_bytes(document: bytes) -> bytes:
    """A UTF-8 JSON document with C1, DEL and bidi characters as `\\u` escapes (same value).

    >>> json_bytes('{"m": "a\\u202eb\\x9b"}'.encode())
    b'{"m": "a\\\\u202eb\\\\u009b"}'
    """
    return _JSON_UNSAFE.sub(
        lambda m: f"\\u{ord(m.group().decode('utf-8')):04x}".encode("ascii"), document
    )


ELLIPSIS = "…"


def shorten(text: str, width: int) -> str:
    """`text` cut to `width` characters by an ellipsis in the middle, so an id keeps its
    start and its end; whole when it fits.

    >>> shorten("chatcmpl-AqZ2b1LmN0", 12), shorten("o1", 12)
    ('chatcm…1LmN0', 'o1')
    """
    if len(text) <= width or width < 3:
        return text
    head = (width - 1) - (width - 1) // 2
    tail = (width - 1) // 2
    return text[:head] + ELLIPSIS + text[len(text) - tail :]
