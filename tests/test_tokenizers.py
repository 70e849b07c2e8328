"""The shipped rank files are the published ones: each packed file, read here without the
loader's code, gives back the published `.tiktoken` text byte for byte (its published
SHA-256), and the loader's ranks and widths are that text's. An encoding of only the
tokens found in a few texts gives them the ids the whole vocabulary gives."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Literal

import pytest
import regex
import tiktoken
from hypothesis import example, given, settings
from hypothesis import strategies as st

from traceviz import found_tokens, tokenizers
from traceviz.errors import ConfigError
from traceviz.load import read

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


# Texts whose pieces, tokens and special tokens are varied: white space of every kind
# around words, digits, punctuation, CJK, contractions, special tokens, a long no-space run.
FOUND_TEXTS = [
    "",
    " ",
    "Hello, world! The  quick brown fox\u00a0 jumps over\tthe lazy dog.\n\n",
    "Okay, so I need to find the derivative. Wait, let me double-check: d/dx x^2 = 2x.",
    "我们需要计算这个积分。首先，令 u = x^2，然后 du = 2x dx。答案是 42。",
    "日本語のテキスト、カタカナとひらがな・ゝゞ゠ー \u3000 全角",
    "def fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "\\[ \\int_0^1 x^2 \\, dx = \\frac{1}{3} \\] and $\\boxed{\\frac{\\pi}{4}}$",
    "3141592653589793238462643383279502884197169399375105820974944592307816406286",
    "emoji 😀👍🏽🇫🇷 e\u0301 combining, ZWJ 👨‍👩‍👧, don't we'll THEY'RE",
    "control \x00\x01\x1b[31mred\x1b[0m\r\n\ttabs\x7f \u2028 \u0085x",
    "<think>\nLet me think.\n</think>\n\nThe answer is 4.<｜end▁of▁sentence｜>",
    "<|endoftext|> is text here, and so is <|endofprompt|>",
    base64.b64encode(bytes(range(256)) * 2).decode(),
    "  leading spaces   and trailing   \n\n\n  12  中文  ab12cd  ",
]
SAMPLES = ROOT / "samples"


def _ids(encoding: tiktoken.Encoding, name: str, text: str) -> list[int]:
    """The ids of `text` as `tokens.Counter` encodes it (DeepSeek's added tokens matched)."""
    allowed: Literal["all"] | frozenset[str] = "all" if name == tokenizers.DEEPSEEK else frozenset()
    return encoding.encode(text, allowed_special=allowed, disallowed_special=())


def _sample_texts() -> list[str]:
    found = []
    for path in sorted(SAMPLES.iterdir()):
        if path.name != "README.md":
            traces = read(path)
            for column in ("prompt", "reasoning", "answer"):
                found += [t for t in traces[column].to_list() if t]
    return found


@pytest.mark.parametrize("name", tokenizers.TOKENIZERS)
def test_an_encoding_of_the_found_tokens_gives_the_whole_vocabularys_ids(name: str) -> None:
    whole = tokenizers.encoding(name)
    texts = FOUND_TEXTS + _sample_texts()
    for text in texts:
        assert _ids(found_tokens.found_encoding(name, [text]), name, text) == _ids(
            whole, name, text
        ), text
    together = found_tokens.found_encoding(name, texts)
    assert [_ids(together, name, t) for t in texts] == [_ids(whole, name, t) for t in texts]


# white space of every kind, letters, digits, punctuation, CJK, and whole special tokens
ATOMS = st.sampled_from(
    [*" \t\n\r\u00a0\u3000\u2003\u0085\u000b", *"aZé0 9.,!?'\"-$\\{}()_/", *"中文日本カタ・ー",
     "<think>", "</think>", "<｜end▁of▁sentence｜>", "<|endoftext|>", "'s", "'LL", "😀", "e\u0301"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(ATOMS | st.characters(exclude_categories=["Cs"]), max_size=40).map("".join))
@example("a  b\u00a0 c\t d \u3000e")
def test_found_tokens_give_the_same_ids_on_random_text(text: str) -> None:
    for name in tokenizers.TOKENIZERS:
        found = found_tokens.found_encoding(name, [text])
        assert _ids(found, name, text) == _ids(tokenizers.encoding(name), name, text)


@settings(max_examples=300, deadline=None)
@given(st.lists(ATOMS | st.characters(exclude_categories=["Cs"]), max_size=40).map("".join))
def test_no_piece_holds_a_space_after_a_character_other_than_white_space(text: str) -> None:
    """What `encoding_for` rests on, read with another engine: the `regex` package (V1, for
    the patterns' `&&`) splits as the patterns say, and no piece holds a space that the
    cut (`found_tokens.SEGMENT_CUT`) would cut before."""
    for name in tokenizers.TOKENIZERS:
        pattern = re.sub(r"\\x\{([0-9a-f]{4})\}", r"\\u\1", tokenizers._PATTERNS[name])
        for piece in regex.findall(pattern, text, flags=regex.V1):
            assert found_tokens.SEGMENT_CUT.search(piece) is None, (name, piece)


def test_encoding_for_builds_the_whole_encoding_once_past_its_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    whole = tokenizers.encoding(tokenizers.DEEPSEEK)
    monkeypatch.setattr(tokenizers, "_WHOLE", {})
    monkeypatch.setattr(found_tokens, "_found_bytes", {})
    half = "x " * (found_tokens.FOUND_TOKENS_BYTES // 4)
    monkeypatch.setattr(tokenizers, "encoding", lambda name: whole)
    assert found_tokens.encoding_for(tokenizers.DEEPSEEK, [half]) is not whole
    assert found_tokens.encoding_for(tokenizers.DEEPSEEK, [half, "x"]) is whole  # past it
    assert found_tokens.encoding_for(tokenizers.DEEPSEEK, ["a lone \ud800"]) is whole
    assert found_tokens.encoding_for(tokenizers.O200K, [half]) is not whole  # its own budget


def test_encoding_for_takes_the_whole_encoding_once_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(found_tokens, "_found_bytes", {})
    whole = tokenizers.encoding(tokenizers.CL100K)
    assert found_tokens.encoding_for(tokenizers.CL100K, ["short"]) is whole


def test_a_fork_servers_shed_vocabularies_leave_the_same_ids_and_widths() -> None:
    # what the fork server holds for its workers after freeing the rank dicts (~40 MB)
    texts = FOUND_TEXTS + _sample_texts()
    script = (
        "import json, sys\n"
        "import traceviz._preload_tokenizers\n"
        "from traceviz import tokenizers\n"
        "texts = json.load(sys.stdin)\n"
        "print(json.dumps({name: {\n"
        "    'held': len(tokenizers.encoding(name)._mergeable_ranks),\n"
        "    'widths': list(tokenizers.widths(name)),\n"
        "    'ids': [tokenizers.encoding(name).encode(t, allowed_special='all',"
        " disallowed_special=()) for t in texts],\n"
        "    'again': len(tokenizers.vocabulary(name)[0]),\n"
        "} for name in tokenizers.PRELOADED}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(texts), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    for name, found in json.loads(done.stdout).items():
        assert found["held"] == 0  # the Python dict is freed; the Rust core keeps its copy
        whole = tokenizers.encoding(name)
        assert found["ids"] == [
            whole.encode(t, allowed_special="all", disallowed_special=()) for t in texts
        ]
        assert found["widths"] == list(tokenizers.widths(name))
        assert found["again"] == len(tokenizers.vocabulary(name)[0])  # built again if asked


@pytest.mark.parametrize("name", tokenizers.TOKENIZERS)
def test_the_token_index_finds_every_token_with_its_id_and_nothing_else(name: str) -> None:
    ranks = tokenizers.vocabulary(name)[0]
    index = found_tokens.token_index(name)
    for size in range(1, found_tokens.SCANNED_BYTES + 1):
        tokens = [t for t in ranks if len(t) == size]
        assert dict(index.lookup(size, tokens)) == {t: ranks[t] for t in tokens}
    near = [t[:-1] + bytes([(t[-1] + 1) % 256]) for t in ranks if len(t) <= 4]
    near += [b"\0" * n for n in range(1, 5)] + [b"a\0", b"\0a", b"ab\0\0"]
    for size in range(1, 5):
        asked = {t for t in near if len(t) == size}
        assert dict(index.lookup(size, asked)) == {t: ranks[t] for t in asked if t in ranks}
    assert dict(index.long_tokens) == {
        t: r for t, r in ranks.items() if len(t) > found_tokens.SCANNED_BYTES
    }
    assert index.single_bytes == {t: r for t, r in ranks.items() if len(t) == 1}


@pytest.mark.parametrize("name", tokenizers.TOKENIZERS)
def test_the_found_tokens_are_the_vocabularys_tokens_inside_the_texts(name: str) -> None:
    """What the index finds is exactly what a look-up in the whole dict finds."""
    ranks = tokenizers.vocabulary(name)[0]
    texts = FOUND_TEXTS + _sample_texts()[:40]
    segments = {s.encode() for t in texts for s in found_tokens.SEGMENT_CUT.split(t)}
    inside = {
        seg[i : i + n]
        for seg in segments
        for n in range(1, found_tokens.SCANNED_BYTES + 1)
        for i in range(len(seg) - n + 1)
    }
    longer = b"\0".join(s for s in segments if len(s) > found_tokens.SCANNED_BYTES)
    expected = {t: r for t, r in ranks.items() if t in inside or len(t) == 1}
    expected |= {
        t: r for t, r in ranks.items() if len(t) > found_tokens.SCANNED_BYTES and t in longer
    }
    assert found_tokens.found_tokens(name, texts) == expected
