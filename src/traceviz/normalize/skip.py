"""The signal a normalizer raises for a record that holds no response."""

from __future__ import annotations


class SkipRecord(Exception):  # noqa: N818 - a signal, not an error
    """A record that holds no response (a failed batch request, a span of another kind):
    counted as skipped, with the message as its reason."""
