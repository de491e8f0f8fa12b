"""Shared fixtures: a fresh database path and small run configs over the three families."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glee.engine.specs import GameSet, PlayerSpec, RunConfig


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "glee.duckdb"


def baseline(strategy: str, name: str | None = None) -> PlayerSpec:
    return PlayerSpec(kind="baseline", strategy=strategy, name=name)


SHORT = {
    "bargaining": {"max_rounds": 6, "money": 100},
    "negotiation": {"max_rounds": 6, "price_scale": 100},
    "persuasion": {"rounds": 4, "price": 100},
}
"""Short horizons keep the small sweeps fast; the grids still vary the family's main parameters."""

SMALL_GRIDS: dict[str, dict[str, list[Any]]] = {
    "bargaining": {"delta_1": [0.8, 1.0], "complete_information": [True, False]},
    "negotiation": {"seller_value": [0.8, 1.2], "buyer_value": [1.0, 1.5]},
    "persuasion": {"p": [1 / 3, 0.8], "seller_message_type": ["text", "binary"]},
}


def small_config(db: Path, pairs: list[tuple[PlayerSpec, PlayerSpec]], n_games: int = 1, **kw: Any) -> RunConfig:
    """Every family's small grid (4 configurations each) for every pair, without a progress bar."""
    games = [GameSet(family=f, grid=SMALL_GRIDS[f], fixed=SHORT[f]) for f in SHORT]
    return RunConfig(games=games, pairs=pairs, n_games=n_games, db=db, progress=False, **kw)


pytest_plugins = ["tests.support.web_server"]
"""Its `serve` fixture starts a `glee serve-web` server (the browser and HTTP tests of the web app)."""
