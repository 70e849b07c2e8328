"""Realistic reasoning-model logs of any size, for benchmarks.

    python bench/generate.py --size 200MB -o /tmp/logs.jsonl [--seed 1]

Writes JSON Lines of logger-wrapped responses (`{"request": ..., "response": ...}`):
about 60 % DeepSeek-R1 API responses with visible `reasoning_content`, 40 % OpenAI o1
Chat Completions responses whose reasoning is hidden and billed as `reasoning_tokens`.
The text is built by a fixed-seed generator from vocabularies and sentence shapes:
English reasoning prose, arithmetic and LaTeX, Python code, and some Chinese, so the
tokenizers see the variety of real traces rather than one repeated sentence.

Usage figures are the exact counts (plus R1's template tokens) with a little noise,
as a billing system would report them; `generate(path, size_bytes, seed)` is the API
other benchmarks reuse.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

import orjson

from traceviz.tokens import counter

NOUNS = [
    "equation",
    "term",
    "factor",
    "integer",
    "prime",
    "root",
    "function",
    "derivative",
    "integral",
    "limit",
    "sequence",
    "series",
    "vector",
    "matrix",
    "angle",
    "triangle",
    "circle",
    "radius",
    "area",
    "volume",
    "probability",
    "sample",
    "variable",
    "constant",
    "coefficient",
    "polynomial",
    "remainder",
    "divisor",
    "graph",
    "edge",
    "node",
    "path",
    "array",
    "index",
    "loop",
    "string",
    "parser",
    "token",
    "cache",
    "query",
    "table",
    "column",
    "row",
    "request",
    "response",
    "answer",
    "question",
    "step",
    "case",
    "assumption",
    "hypothesis",
    "example",
    "counterexample",
    "bound",
    "estimate",
    "interval",
    "domain",
    "range",
    "slope",
    "intercept",
    "ratio",
    "percentage",
    "average",
    "median",
    "distribution",
    "argument",
    "proof",
    "lemma",
    "theorem",
    "condition",
    "constraint",
    "solution",
    "approach",
    "method",
    "result",
]
VERBS = [
    "check",
    "compute",
    "verify",
    "simplify",
    "expand",
    "factor",
    "substitute",
    "compare",
    "count",
    "divide",
    "multiply",
    "add",
    "subtract",
    "evaluate",
    "rewrite",
    "consider",
    "assume",
    "test",
    "recall",
    "derive",
    "prove",
    "estimate",
    "sort",
    "merge",
    "parse",
    "return",
    "update",
    "iterate",
    "handle",
    "split",
    "combine",
    "reduce",
]
ADJECTIVES = [
    "small",
    "large",
    "positive",
    "negative",
    "even",
    "odd",
    "first",
    "last",
    "previous",
    "next",
    "whole",
    "same",
    "other",
    "simple",
    "tricky",
    "obvious",
    "correct",
    "wrong",
    "possible",
    "necessary",
    "sufficient",
    "final",
    "initial",
    "linear",
    "quadratic",
    "recursive",
    "empty",
    "sorted",
    "unique",
]
OPENERS = (
    "Okay, so", "Let me", "Wait,", "Hmm,", "Alternatively,", "So", "Now", "First,", "Then",
    "But", "Actually,", "Let's see:", "Hold on,", "Therefore,", "In that case,", "Right,",
    "Maybe", "I think", "To be safe,", "Double-checking:",
)  # fmt: skip
CHINESE = [
    "我们",
    "需要",
    "计算",
    "这个",
    "问题",
    "的",
    "答案",
    "首先",
    "然后",
    "所以",
    "因为",
    "如果",
    "那么",
    "可以",
    "得到",
    "结果",
    "方程",
    "函数",
    "积分",
    "导数",
    "数列",
    "概率",
    "验证",
    "一下",
    "是否",
    "正确",
    "等于",
    "大于",
    "小于",
    "另外",
    "考虑",
    "情况",
    "假设",
    "条件",
    "步骤",
    "最后",
    "检查",
    "代码",
    "数据",
    "模型",
    "推理",
    "思考",
    "重新",
    "看看",
    "好的",
    "嗯",
    "对",
    "不对",
]
IDENTIFIERS = [
    "n",
    "k",
    "i",
    "j",
    "total",
    "result",
    "items",
    "values",
    "cache",
    "left",
    "right",
    "mid",
    "count",
    "acc",
    "best",
]
SYMBOLS = [
    r"\alpha",
    r"\beta",
    r"\pi",
    r"\theta",
    r"\lambda",
    r"\sigma",
    r"x",
    r"y",
    r"z",
    r"n",
    r"k",
]


class TextGenerator:
    """Sentences, formulas, code and Chinese from vocabularies, driven by one seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def sentence(self) -> str:
        r = self.rng
        words = [r.choice(OPENERS), r.choice(VERBS), "the", r.choice(ADJECTIVES), r.choice(NOUNS)]
        words += [self._word() for _ in range(r.randint(2, 9))]
        return " ".join(words) + r.choice((".", ".", ".", "?", "!", ":"))

    def _word(self) -> str:
        r = self.rng
        return r.choice(
            (
                r.choice(NOUNS),
                r.choice(VERBS),
                r.choice(ADJECTIVES),
                str(r.randint(0, 10 ** r.randint(1, 7))),
                r.choice(("and", "of", "with", "so", "is", "to", "for", "in", "then")),
            )
        )

    def math(self) -> str:
        r = self.rng
        a, b, c = r.randint(1, 99), r.randint(2, 999), r.randint(1, 20)
        s = r.choice(SYMBOLS)
        return r.choice(
            (
                f"$$\\frac{{{a}}}{{{b}}} + {s}^{{{c}}} = {a * c + b}$$",
                f"\\[ \\int_0^{{{c}}} {s}^2 \\, d{s} = \\frac{{{c}^3}}{{3}} \\]",
                f"\\sum_{{k=1}}^{{{b}}} k = \\frac{{{b}({b}+1)}}{{2}} = {b * (b + 1) // 2}",
                f"{a} \\times {b} = {a * b}, so {a * b} - {c} = {a * b - c}.",
                f"So the answer is $\\boxed{{{a * b + c}}}$.",
                f"x^2 - {a}x + {b} = 0 \\implies "
                f"x = \\frac{{{a} \\pm \\sqrt{{{a * a - 4 * b}}}}}{{2}}",
            )
        )

    def code(self) -> str:
        r = self.rng
        f, x, y = r.choice(VERBS), r.choice(IDENTIFIERS), r.choice(IDENTIFIERS)
        n = r.randint(2, 500)
        return r.choice(
            (
                f"```python\ndef {f}_{x}({x}: list[int]) -> int:\n    {y} = 0\n"
                f"    for i in range(len({x})):\n        {y} += {x}[i] * {n}\n    return {y}\n```",
                f"```python\nif {x} % {n} == 0:\n    {y} = {x} // {n}\nelse:\n    {y} = -1\n```",
                f"`{x}[{n}:]` gives {{'{y}': {n}, \"{f}\": [{n}, {n + 1}]}}",
            )
        )

    def chinese(self) -> str:
        r = self.rng
        return "".join(r.choice(CHINESE) for _ in range(r.randint(6, 20))) + r.choice("。，？！")

    def paragraph(self) -> str:
        r = self.rng
        parts = []
        for _ in range(r.randint(2, 7)):
            kind = r.random()
            if kind < 0.62:
                parts.append(self.sentence())
            elif kind < 0.80:
                parts.append(self.math())
            elif kind < 0.90:
                parts.append(self.code())
            else:
                parts.append(self.chinese())
        return " ".join(parts)

    def text(self, paragraphs: int) -> str:
        return "\n\n".join(self.paragraph() for _ in range(paragraphs))


def _records(gen: TextGenerator, n: int, start: int) -> list[dict[str, object]]:
    r = gen.rng
    records: list[dict[str, object]] = []
    for i in range(start, start + n):
        r1 = r.random() < 0.6
        prompt = gen.text(r.randint(1, 3))
        answer = gen.text(r.randint(1, 4))
        reasoning = gen.text(r.randint(8, 80)) if r1 else None
        message: dict[str, object] = {"role": "assistant", "content": answer}
        if reasoning is not None:
            message["reasoning_content"] = reasoning
        response = {
            "id": f"{'r1' if r1 else 'chatcmpl'}-{i:09d}",
            "object": "chat.completion",
            "created": 1737600000 + i * 7,
            "model": "deepseek-reasoner" if r1 else "o1-2024-12-17",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        }
        request = {
            "model": response["model"],
            "messages": [{"role": "user", "content": prompt}],
        }
        records.append({"request": request, "response": response})
    return records


def _add_usage(records: list[dict[str, object]], rng: random.Random) -> None:
    """Usage as billed: exact counts (R1 template included), a little noise, o1's hidden part."""
    for model, tokenizer, template in (
        ("deepseek-reasoner", "deepseek-v3", 3),
        ("o1", "o200k_base", 0),
    ):
        group = [rec for rec in records if str(rec["response"]["model"]).startswith(model)]  # type: ignore[index]
        if not group:
            continue
        count = counter(tokenizer).count_batch
        messages = [rec["response"]["choices"][0]["message"] for rec in group]  # type: ignore[index]
        prompts = count([rec["request"]["messages"][0]["content"] for rec in group])  # type: ignore[index]
        answers = count([m["content"] for m in messages])
        reasonings = count([m.get("reasoning_content") for m in messages])
        for rec, p, a, rs in zip(group, prompts, answers, reasonings, strict=True):
            noise = rng.choice((0, 0, 0, 0, 1, -1, 2))
            hidden = rs if rs is not None else rng.randint(200, 12000)
            output = (a or 0) + hidden + template + noise
            cached = rng.choice((0, 0, (p or 0) // 64 * 64))
            rec["response"]["usage"] = {  # type: ignore[index]
                "prompt_tokens": (p or 0) + 7,
                "completion_tokens": output,
                "total_tokens": (p or 0) + 7 + output,
                "prompt_tokens_details": {"cached_tokens": cached},
                "completion_tokens_details": {"reasoning_tokens": hidden},
            }


def generate(path: str | Path, size_bytes: int, seed: int = 1) -> int:
    """Write at least `size_bytes` of logs to `path`; returns the number of records."""
    gen = TextGenerator(seed)
    written = n = 0
    with Path(path).open("wb") as out:
        while written < size_bytes:
            records = _records(gen, 200, n)
            _add_usage(records, gen.rng)
            chunk = b"".join(orjson.dumps(rec) + b"\n" for rec in records)
            out.write(chunk)
            written += len(chunk)
            n += len(records)
    return n


def parse_size(text: str) -> int:
    """`200MB`, `1.5GB`, `500k` or a plain number of bytes."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([kmg]?)i?b?\s*", text.lower())
    if not match:
        msg = f"not a size: {text!r} (try 200MB)"
        raise argparse.ArgumentTypeError(msg)
    return int(float(match[1]) * 1024 ** " kmg".index(match[2] or " "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, required=True, help="e.g. 200MB")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    n = generate(args.output, args.size, args.seed)
    print(f"wrote {n:,} records to {args.output}")


if __name__ == "__main__":
    main()
