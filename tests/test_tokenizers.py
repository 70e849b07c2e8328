"""The shipped rank files are the published ones: each packed file, read here without the
loader's code, gives back the published `.tiktoken` text byte for byte (its published
SHA-256), and the loader's ranks and widths are that text's."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from traceviz import tokenizers
from traceviz.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DATA = files("traceviz") / "data"


def _published_sha256(name: str) -> str:
    if name == tokenizers.DEEPSEEK:
        return str(json.loads((DATA / "deepseek_v3.json").read_text())["ranks_sha256"])
    return tokenizers._SHA256[name]


def _rebuilt(name: str) -> bytes:
    """The `.tiktoken` text of a shipped file, read by the format's description alone:
    a magic line, the count n (4 bytes, little-endian), n lengths, the tokens' bytes."""
    packed = gzip.decompress((DATA / tokenizers._SHIPPED[name][0]).read_bytes())
    magic = b"traceviz-ranks 1\n"
    assert packed.startswith(magic)
    n = int.from_bytes(packed[len(magic) : len(magic) + 4], "little")
    lengths = packed[len(magic) + 4 : len(magic) + 4 + n]
    body = packed[len(magic) + 4 + n :]
    assert sum(lengths) == len(body)
    lines, start = [], 0
    for rank in range(n):
        if lengths[rank]:
            token = body[start : start + lengths[rank]]
            lines.append(base64.b64encode(token) + b" " + str(rank).encode() + b"\n")
            start += lengths[rank]
    return b"".join(lines)


@pytest.mark.parametrize("name", tokenizers.TOKENIZERS)
def test_each_shipped_file_gives_back_the_published_rank_file(name: str) -> None:
    text = _rebuilt(name)
    assert hashlib.sha256(text).hexdigest() == _published_sha256(name)
    assert tokenizers.published_text(name) == text
    fields = text.split()
    published = dict(zip(map(base64.b64decode, fields[::2]), map(int, fields[1::2]), strict=True))
    ranks, special = tokenizers.vocabulary(name)
    assert list(ranks.items()) == list(published.items())  # same tokens, ids, order
    widths = [0] * tokenizers.encoding(name).n_vocab
    for token, rank in published.items():
        widths[rank] = len(token)
    for token_text, rank in special.items():
        widths[rank] = len(token_text.encode())
    assert tokenizers.widths(name).tolist() == widths


@pytest.mark.parametrize("name", tokenizers.TOKENIZERS)
def test_the_recorded_hash_is_that_of_the_shipped_bytes(name: str) -> None:
    filename, recorded = tokenizers._SHIPPED[name]
    packed = gzip.decompress((DATA / filename).read_bytes())
    assert hashlib.sha256(packed).hexdigest() == recorded


def test_a_damaged_file_is_refused_at_load() -> None:
    with pytest.raises(ConfigError, match="does not match its SHA-256") as info:
        tokenizers._read_packed("deepseek_v3.ranks.gz", "0" * 64)  # what every load reads through
    assert info.value.hint == "Reinstall traceviz."


def test_pack_round_trips_gaps_and_refuses_what_it_cannot_give_back() -> None:
    text = b"".join(
        base64.b64encode(token) + b" " + str(rank).encode() + b"\n"
        for rank, token in ((2, b"a"), (3, b"\x00\xff"), (5, bytes(range(128))))
    )
    packed = tokenizers.pack(text)
    assert tokenizers.unpack_text(packed) == text
    assert packed[len(tokenizers.PACKED_MAGIC) + 4 :].startswith(bytes([0, 0, 1, 2, 0, 128]))
    with pytest.raises(ConfigError, match="published form"):
        tokenizers.pack(b"YQ== 1\nYg== 0\n")  # ranks falling
    with pytest.raises(ConfigError, match="255 bytes"):
        tokenizers.pack(base64.b64encode(b"x" * 256) + b" 0\n")
    with pytest.raises(ConfigError, match="lengths do not add up"):
        tokenizers.unpack_text(packed[:-1])


def test_the_packing_tool_reproduces_the_shipped_files(tmp_path: Path) -> None:
    sources = []
    for name in tokenizers.TOKENIZERS:
        source = tmp_path / f"{name}.tiktoken"
        source.write_bytes(tokenizers.published_text(name))
        sources.append(str(source))
    (tmp_path / "other.tiktoken").write_bytes(b"YQ== 0\n")
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "pack_ranks.py"), "--check", *sources],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(" is what ") == len(tokenizers.TOKENIZERS)
    refused = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "pack_ranks.py"),
            "--check",
            str(tmp_path / "other.tiktoken"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 1
    assert "not a published rank file" in refused.stdout
