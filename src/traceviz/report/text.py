"""Making untrusted text safe to show: control characters made visible, HTML escaped."""

from __future__ import annotations

import html
import re

# C0 and C1 controls and DEL, except newline and tab; also bidi overrides, which can
# reorder what a reader sees.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """Control characters shown as `\\x1b`-style escapes, so none reaches the terminal."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def html_text(text: str) -> str:
    """Text escaped for HTML, controls made visible."""
    return html.escape(visible(text), quote=True)


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
