"""Expanding JSON that simonw/llm stored condensed with condense-json.

llm swaps strings it already stores elsewhere (the answer, fragments, message parts)
for references: `{"$": key}` for a whole value, `{"$r": [text, {"$": key}, …]}` for a
string containing one, `{"$": {"m": key, "u": {…}, "d": […]}}` for a dict patched from
a base, and `{"$raw": value}` for an escaped marker-shaped dict. `expand` undoes this
with a lookup the caller supplies; a key the lookup does not know becomes None rather
than an error (and a patch on an unknown base keeps the patch), since some keys
(plugin boilerplate, `m.*`) can only be resolved with the plugin installed. The raw
payload is best-effort data, never the usage source.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Lookup = Callable[[str], Any]


def expand(value: Any, lookup: Lookup) -> Any:
    """`value` with every condense-json reference resolved through `lookup`."""
    if isinstance(value, list):
        return [expand(item, lookup) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        key, inner = next(iter(value.items()))
        if key == "$raw":
            return inner
        if key == "$" and isinstance(inner, str):
            return lookup(inner)
        if key == "$" and isinstance(inner, dict):
            return _merge(inner, lookup)
        if key == "$r" and isinstance(inner, list):
            return _join(inner, lookup)
    return {key: expand(item, lookup) for key, item in value.items()}


def _join(segments: list[Any], lookup: Lookup) -> str | None:
    pieces = []
    for segment in segments:
        piece = segment
        if isinstance(segment, dict) and isinstance(segment.get("$"), str):
            piece = lookup(segment["$"])
        if not isinstance(piece, str):
            return None
        pieces.append(piece)
    return "".join(pieces)


def _merge(ref: dict[str, Any], lookup: Lookup) -> dict[str, Any]:
    base = lookup(ref["m"]) if isinstance(ref.get("m"), str) else None
    # An unknown base (plugin boilerplate) still leaves the patch: ids, usage, output.
    merged = dict(base) if isinstance(base, dict) else {}
    for key in ref.get("d") or []:
        merged.pop(key, None)
    updates = ref.get("u")
    if isinstance(updates, dict):
        merged.update(expand(updates, lookup))
    return merged


def pick(value: Any, lookup: Lookup, keys: tuple[str, ...]) -> dict[str, Any] | None:
    """The named top-level keys of a condensed object, expanded; the rest is never walked.

    A raw provider response is mostly envelope traceviz does not read (logprobs, tool
    echoes, usage it takes from `token_details`), so only what is read is expanded.
    """
    top = value
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("$"), dict):
        ref = value["$"]
        base = lookup(ref["m"]) if isinstance(ref.get("m"), str) else None
        top = dict(base) if isinstance(base, dict) else {}
        for key in ref.get("d") or []:
            top.pop(key, None)
        if isinstance(ref.get("u"), dict):
            top.update(ref["u"])
    elif isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("$", "$r", "$raw"):
        top = expand(value, lookup)
    if not isinstance(top, dict):
        return None
    return {key: expand(top[key], lookup) for key in keys if key in top}
