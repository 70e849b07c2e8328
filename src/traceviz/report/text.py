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
