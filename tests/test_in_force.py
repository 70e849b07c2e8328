"""The prices in force (`price.in_force.listing`), which `traceviz prices` renders."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from traceviz import price
from traceviz.errors import ConfigError
from traceviz.price.in_force import listing

NIGHT = datetime(2025, 3, 1, 17, 0, tzinfo=UTC)  # inside DeepSeek's 16:30-00:30 window
DAY = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NOW = datetime(2025, 6, 1, tzinfo=UTC)  # the caller's clock


def test_every_model_at_a_moment_lists_its_plain_price_and_its_windows() -> None:
    catalog = price.load()
    found = listing(catalog, NOW, at=DAY)
    assert not found.history
    assert found.at == DAY
    r1 = [p for p in found.entries if p.model == "deepseek-reasoner" and p.currency == "USD"]
    # the standard price, then the night discount (shown at noon too, with its window)
    assert [bool(p.daily) for p in r1] == [False, True]
    assert all(p.start <= DAY and (p.until is None or p.until > DAY) for p in found.entries)
    keys = [(p.model, p.start, bool(p.daily)) for p in found.entries]
    assert keys == sorted(keys)
    assert "o3" not in {p.model for p in found.entries}  # launched 2025-04-16


def test_one_model_at_a_moment_or_its_history() -> None:
    catalog = price.load()
    history = listing(catalog, NOW, "deepseek-reasoner-2025-01-20")
    assert history.history
    assert history.model == "deepseek-reasoner"
    assert history.at is None
    assert {p.model for p in history.entries} == {"deepseek-reasoner"}
    day = listing(catalog, NOW, "deepseek-reasoner", DAY)
    night = listing(catalog, NOW, "deepseek-reasoner", NIGHT)
    assert [bool(p.daily) for p in day.entries if p.currency == "USD"] == [False]
    assert [bool(p.daily) for p in night.entries if p.currency == "USD"] == [False, True]
    assert len(history.entries) > len(night.entries)


def test_now_is_the_default_moment() -> None:
    assert listing(price.load(), NOW).at == NOW
    assert "o3" in {p.model for p in listing(price.load(), NOW).entries}


def test_an_unknown_model_says_what_to_run() -> None:
    with pytest.raises(ConfigError, match="no price for model 'nope'") as error:
        listing(price.load(), NOW, "nope")
    assert error.value.hint == "Run `traceviz prices` to list the models in the catalog."
