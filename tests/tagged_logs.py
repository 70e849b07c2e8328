"""Small logs written by tests: DeepSeek-R1 Chat Completions responses in a logger's
wrapper, tagged with metadata (a team, or any keys) for `--by`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def chat(i: int, team: str, completion: int, **extra: Any) -> dict[str, Any]:
    """A logger wrapper around an R1 response with id `r-{i}`, tagged with `team`."""
    response = {
        "id": f"r-{i}",
        "object": "chat.completion",
        "created": 1741100000,
        "model": "deepseek-reasoner",
        "choices": [
            {
                "index": 0,
                "message": {"content": "4", "reasoning_content": "2 + 2 = 4."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 16, "completion_tokens": completion},
    }
    response.update(extra)
    return {"metadata": {"team": team}, "request": {"messages": []}, "response": response}


def tagged(i: int, metadata: dict[str, Any], completion: int) -> dict[str, Any]:
    """`chat` with `metadata` as its whole metadata."""
    record = chat(i, "", completion)
    record["metadata"] = metadata
    return record


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    """`records` as JSON lines at `path`."""
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path
