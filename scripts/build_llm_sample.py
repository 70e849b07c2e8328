"""Build samples/llm-logs.db: an llm logs.db upgraded from 0.31 to 0.32+, made by llm itself.

llm's own migrations create the tables and llm's own OpenAI model classes log the
calls (against a fake client returning the recorded responses in
tests/data/llm-equivalent.jsonl), exactly as the tests build their fixtures:

    .venv/bin/pip install -e '.[test]'
    .venv/bin/python scripts/build_llm_sample.py

Three legacy rows (R1, o1 over Chat Completions, a streamed R1) are written as llm 0.31
wrote them; the file is then migrated and three calls are logged as 0.32 turns (R1, a
streamed R1, o1 over the Responses API); one legacy row repeats a turn's id.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import llm_dbs  # noqa: E402 - the tests' builders, found through the path above

SAMPLE = ROOT / "samples" / "llm-logs.db"


def main() -> None:
    SAMPLE.unlink(missing_ok=True)
    llm_dbs.current_db(SAMPLE)
    # smaller pages keep the many small tables of llm's schema small on disk
    connection = sqlite3.connect(SAMPLE)
    connection.execute("pragma page_size = 1024")
    connection.execute("vacuum")
    connection.close()
    print(f"wrote {SAMPLE} ({SAMPLE.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
