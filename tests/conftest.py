"""Shared fixtures: paths to the bundled samples, and a CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings

# No per-example deadline: a deadline is a timing test, and on a shared, loaded machine
# (CI's two cores) it fails examples that are merely slow (seen: a price property, 200 ms)
settings.register_profile("traceviz", deadline=None)
settings.load_profile("traceviz")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test keeps its results in its own cache folder, never the user's."""
    monkeypatch.setenv("TRACEVIZ_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def samples() -> Path:
    return SAMPLES


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="Rewrite the golden files in tests/golden/."
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
