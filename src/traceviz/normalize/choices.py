"""The logged usage of a response with several choices (`n > 1`), split among them.

A Chat Completions response bills its usage once for all its choices: the prompt once,
and `completion_tokens` (with its `reasoning_tokens`) for every choice's output together.
Each choice is a trace of its own, so the figures are shared out, and they add up to the
logged ones exactly:

- the prompt (input, cached and cache-write tokens) and a logged cost go to the first
  choice, which is what was billed once (the others' are 0, even with no usage logged:
  a prompt text is counted once);
- the reasoning tokens in proportion to each choice's visible reasoning (characters),
  evenly where a choice's reasoning is hidden (nothing says how it was spread);
- the rest of the output (the answers) in proportion to each choice's answer.

Per choice, these are estimates (the choices' own token counts are not logged); every
trace but a lone choice's is marked `usage_split`, and the report says how many.
"""

from __future__ import annotations

from typing import Any

_PROMPT = ("usage_input", "usage_cached_input", "usage_cache_write", "usage_cache_write_1h")
_PROMPT_AND_COST = (*_PROMPT, "cost_logged")


def shares(total: int, weights: list[int]) -> list[int]:
    """`total` split in proportion to `weights` (evenly if they are all 0), as whole
    numbers that add up to it: the largest remainders get the units left over, the
    earlier choice on a tie.

    >>> shares(192, [10, 10, 10, 10]), shares(5, [1, 2]), shares(3, [0, 0])
    ([48, 48, 48, 48], [2, 3], [2, 1])
    """
    weights = weights if any(weights) else [1] * len(weights)
    whole = sum(weights)
    floors = [total * w // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in order[: total - sum(floors)]:
        floors[i] += 1
    return floors


def split_usage(
    usage: dict[str, Any], reasoning: list[str | None], answers: list[str]
) -> list[dict[str, Any]]:
    """Each choice's part of a response's `usage` (the canonical usage fields), given
    its choices' reasoning (None where hidden) and answers, in order."""
    if len(answers) == 1:
        return [usage]
    parts: list[dict[str, Any]] = [{"usage_split": True} for _ in answers]
    for name in _PROMPT_AND_COST:
        parts[0][name] = usage.get(name)
    for part in parts[1:]:  # billed once, with the first: 0, or a prompt text would count
        part.update(dict.fromkeys(_PROMPT, 0))
    output, thought = usage.get("usage_output"), usage.get("usage_reasoning")
    visible = all(r is not None for r in reasoning)
    by_reasoning = [len(r) if visible and r is not None else 1 for r in reasoning]
    by_answer = [len(a) for a in answers]
    if thought is not None:
        for part, share in zip(parts, shares(thought, by_reasoning), strict=True):
            part["usage_reasoning"] = share
    if output is not None:
        if thought is not None and thought <= output:  # reasoning within the output
            answered = shares(output - thought, by_answer)
            for part, share in zip(parts, answered, strict=True):
                part["usage_output"] = part["usage_reasoning"] + share
        else:  # no reasoning split logged (or an impossible one): the texts together
            together = [
                (len(r) if r is not None else 0) + len(a)
                for r, a in zip(reasoning, answers, strict=True)
            ]
            for part, share in zip(parts, shares(output, together), strict=True):
                part["usage_output"] = share
    return parts
