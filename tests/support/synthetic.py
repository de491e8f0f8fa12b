"""Synthetic bargaining games with known effects, shaped like `load_games` output.

A test fixture, not part of the package: used by the analysis benchmark (a million games)
and by tests that must recover a known effect. Shares follow s = ½ + skill_1 − skill_2 + 0.05·[delta_1 = 1] + noise,
so an agent's skill and the δ_1 = 1 effect are the ground truth to recover.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pandas as pd

from glee.games.grids import paper_grid

DEFAULT_SKILLS: Mapping[str, float] = {"agent:a": 0.0, "agent:b": 0.05, "agent:c": 0.1}
DELTA_1_EFFECT = 0.05
"""Added to Alice's share when delta_1 = 1 (the ground-truth parameter effect)."""


def synthetic_games(
    n: int,
    seed: int = 0,
    skills: Mapping[str, float] = DEFAULT_SKILLS,
    noise: float = 0.1,
    forfeit_rate: float = 0.02,
    failure_rate: float = 0.01,
) -> pd.DataFrame:
    """`n` bargaining games over the paper grid between agents of known `skills`."""
    rng = np.random.default_rng(seed)
    grid = pd.DataFrame(paper_grid("bargaining"))
    cfg = rng.integers(0, len(grid), n)
    frame = grid.iloc[cfg].reset_index(drop=True)
    names = np.array(list(skills))
    skill = np.array([skills[a] for a in names])
    a1, a2 = rng.integers(0, len(names), n), rng.integers(0, len(names), n)
    delta_1 = frame["delta_1"].to_numpy()
    delta_2 = frame["delta_2"].to_numpy()
    share = 0.5 + skill[a1] - skill[a2] + DELTA_1_EFFECT * (delta_1 == 1.0) + rng.normal(0, noise, n)
    share = np.clip(share, 0.0, 1.0)
    t = rng.geometric(0.6, n)
    agreement = rng.random(n) < 0.9
    u = rng.random(n)
    status = np.where(u < forfeit_rate, "forfeit", np.where(u < forfeit_rate + failure_rate, "failed", "completed"))
    done = status == "completed"
    deal = done & agreement
    g1 = np.where(deal, share * delta_1 ** (t - 1), np.where(done, 0.0, np.nan))
    g2 = np.where(deal, (1 - share) * delta_2 ** (t - 1), np.where(done, 0.0, np.nan))
    keys = np.array([json.dumps(row, sort_keys=True) for row in grid.to_dict("records")], dtype=object)
    frame.insert(0, "game_id", np.char.add("g", np.arange(n).astype(str)).astype(object))
    frame.insert(1, "family", "bargaining")
    frame["params"] = keys[cfg]
    frame["player_1"] = names[a1].astype(object)
    frame["player_2"] = names[a2].astype(object)
    frame["status"] = status.astype(object)
    end = np.full(n, None, dtype=object)
    end[done] = "no_deal"
    end[deal] = "agreement"
    end[status == "forfeit"] = "forfeit"
    frame["end_reason"] = end
    frame["rounds_played"] = t
    frame["payoff_1"] = g1 * frame["money"].to_numpy()
    frame["payoff_2"] = g2 * frame["money"].to_numpy()
    frame["self_gain_1"] = g1
    frame["self_gain_2"] = g2
    frame["efficiency"] = np.where(done, np.nan_to_num(g1) + np.nan_to_num(g2), np.nan)
    frame["fairness"] = np.where(deal, 1 - 4 * (share - 0.5) ** 2, np.nan)
    frame["agreement"] = np.where(done, deal.astype(float), np.nan)
    frame["share_1"] = np.where(deal, share, np.nan)
    return frame


SELLER_EFFECT = 0.0
BUYER_EFFECT = 0.94
"""Effect of buyer_value = 1.5 (against 1.2) on the seller's and on the buyer's self-gain in `role_games`."""


def role_games(n: int, seed: int = 0, replicates: int = 1) -> pd.DataFrame:
    """`n` negotiation-shaped games (x `replicates` sharing each configuration) where buyer_value moves the
    buyer's self-gain by BUYER_EFFECT and the seller's by SELLER_EFFECT, between agents a and b in both seats."""
    rng = np.random.default_rng(seed)
    high = rng.random(n) < 0.5
    buyer_value = np.where(high, 1.5, 1.2)
    seating = rng.integers(0, 2, n)
    player_1 = np.where(seating == 0, "agent:a", "agent:b").astype(object)
    player_2 = np.where(seating == 0, "agent:b", "agent:a").astype(object)
    config_shift = rng.normal(0, 0.05, n)  # what the replicates of one configuration share
    frame = pd.DataFrame(
        {
            "family": "negotiation",
            "buyer_value": np.repeat(buyer_value, replicates),
            "player_1": np.repeat(player_1, replicates),
            "player_2": np.repeat(player_2, replicates),
            "params": np.repeat(
                [json.dumps({"buyer_value": v, "case": i}) for i, v in enumerate(buyer_value)], replicates
            ),
        }
    )
    size = len(frame)
    shift = np.repeat(config_shift, replicates)
    up = (frame["buyer_value"] == 1.5).to_numpy()
    frame.insert(0, "game_id", [f"g{i}" for i in range(size)])
    frame["status"] = "completed"
    frame["self_gain_1"] = 0.5 + SELLER_EFFECT * up + shift + rng.normal(0, 0.1, size)
    frame["self_gain_2"] = 0.2 + BUYER_EFFECT * up + shift + rng.normal(0, 0.1, size)
    frame["payoff_1"] = frame["self_gain_1"] * 100
    frame["payoff_2"] = frame["self_gain_2"] * 100
    frame["efficiency"] = np.clip(0.6 + 0.2 * up + shift + rng.normal(0, 0.1, size), 0, 1)
    frame["fairness"] = np.nan
    frame["agreement"] = 1.0
    return frame
