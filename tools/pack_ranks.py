"""Pack published tiktoken rank files into the form traceviz ships (`tokenizers.pack`).

    python tools/pack_ranks.py o200k_base.tiktoken cl100k_base.tiktoken deepseek_v3.tiktoken

Each SOURCE is a published `.tiktoken` rank file, plain or `.gz`: OpenAI's as tiktoken
downloads them (https://openaipublic.blob.core.windows.net/encodings/NAME.tiktoken), or
DeepSeek-V3's as `scripts/build_deepseek_ranks.py` converts it from `tokenizer.json`.
A source is known by its SHA-256, which must be a published one (`tokenizers._SHA256`,
`ranks_sha256` in `deepseek_v3.json`): anything else is refused. Writes
`src/traceviz/data/<file>.ranks.gz` (gzip, no timestamp) and prints the SHA-256 of the
packed bytes, which `tokenizers._SHIPPED` records and every load checks.
`--check` writes nothing and says whether the shipped files are what the sources pack to.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from traceviz import tokenizers  # noqa: E402 - the tree's own, not an installed one

DATA = ROOT / "src" / "traceviz" / "data"


def published_hashes() -> dict[str, str]:
    """SHA-256 of each published rank file text -> tokenizer name."""
    meta = json.loads((DATA / "deepseek_v3.json").read_text(encoding="utf-8"))
    found = {sha: name for name, sha in tokenizers._SHA256.items()}
    found[meta["ranks_sha256"]] = tokenizers.DEEPSEEK
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", type=Path, help="published .tiktoken files")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args()
    known = published_hashes()
    failed = False
    for source in args.sources:
        text = source.read_bytes()
        if source.suffix == ".gz":
            text = gzip.decompress(text)
        name = known.get(hashlib.sha256(text).hexdigest())
        if name is None:
            print(f"{source}: not a published rank file (its SHA-256 is none of ours)")
            failed = True
            continue
        packed = tokenizers.pack(text)
        filename, recorded = tokenizers._SHIPPED[name]
        digest = hashlib.sha256(packed).hexdigest()
        target = DATA / filename
        if args.check:
            shipped = gzip.decompress(target.read_bytes()) if target.exists() else b""
            same = shipped == packed and digest == recorded
            print(f"{name}: {target.name} {'is' if same else 'is NOT'} what {source} packs to")
            failed |= not same
            continue
        target.write_bytes(gzip.compress(packed, compresslevel=9, mtime=0))
        note = "" if digest == recorded else "  (record it in tokenizers._SHIPPED)"
        print(f"{name}: wrote {target.name}, packed SHA-256 {digest}{note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
