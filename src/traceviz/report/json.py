"""The report as one JSON document with stable keys (README: "JSON report keys").

Money is a string holding an exact decimal number of US dollars; token counts are
integers; shares are fractions from 0 to 1. Text is as logged; C1 and bidi characters are
written as `\\u` escapes (`escape.json_bytes`), so printing the JSON cannot drive a terminal.
"""

from __future__ import annotations

from typing import Any

import orjson

from traceviz._version import __version__
from traceviz.escape import json_bytes
from traceviz.report import headline
from traceviz.report.aggregate import Report
from traceviz.report.interface import plain, records
from traceviz.report.repeats import KEYED_BY, Repeated

SCHEMA_VERSION = 1


def render(report: Report) -> bytes:
    stats = report.stats
    document = {
        "schema_version": SCHEMA_VERSION,
        "traceviz_version": __version__,
        "headline": headline.numbers(report),
        "ingest": {
            "files": stats.files,
            "records_read": stats.read,
            "records_parsed": stats.parsed,
            "records_quarantined": stats.quarantined,
            "records_skipped": stats.skipped,
            "traces": stats.traces,
            "responses": stats.responses,
            "by_format": dict(sorted(stats.by_format.items())),
            "quarantine_reasons": dict(sorted(stats.quarantine_reasons.items())),
            "skip_reasons": dict(sorted(stats.skip_reasons.items())),
            "unreadable_files": stats.file_errors,
            "traces_left_out": dict(sorted(stats.filtered.items())),
        },
        "by": report.by,
        "overall": records(report.overall)[0],
        "groups": records(report.groups) if report.by else [],
        "step_kinds": records(report.kinds),
        "outliers": {name: records(frame) for name, frame in report.outliers.items()},
        "logged_cost": records(report.logged),
        "spend_by_model": records(report.models),
        "cap": None
        if report.cap is None
        else {"tokens": report.cap.tokens, "rule": report.cap.rule},
        "estimates": report.estimates,
        "not_computed": report.missing,
        "repeats": repeats(report.repeats),
    }
    return json_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2)) + b"\n"


def repeats(found: Repeated) -> dict[str, Any]:
    """The responses logged more than once (README: "JSON report keys"): counts as
    integers, money as an exact decimal string; no id (logged text, see `repeats.py`)."""
    return {
        "key": KEYED_BY,
        "traces_checked": found.keyed,
        "traces_not_checked": found.traces - found.keyed,
        "responses": found.responses,
        "records": found.records,
        "traces_repeated": found.repeats,
        "traces_repeated_unpriced": found.repeats - found.priced,
        "cost": plain(found.cost),
        "share_of_cost": plain(found.cost_share),
        "tokens": found.tokens,
        "share_of_tokens": plain(found.tokens_share),
    }
