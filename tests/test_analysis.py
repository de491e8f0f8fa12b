"""Analysis: frames, metric tables, effects, balanced tables, comparisons, ratings, plots, report."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from scipy import stats

from glee.analysis import calls_by_agent, full_prompt, load_calls
from glee.analysis.compare import bradley_terry, paired_comparison
from glee.analysis.design import NotIdentified, identify
from glee.analysis.effects import balanced_table, parameter_effects
from glee.analysis.frames import distinct_transcripts, load_games, load_turns, seat_frame
from glee.analysis.metrics import group_means, metric_table
from glee.analysis.planning import games_needed, half_widths
from glee.analysis.plots import effects_plot, metric_by_parameter, outcome_frame, outcome_vs_theory, spe_prediction
from glee.analysis.report import write_report
from glee.analysis.summary import agent_table
from glee.analysis.transcripts import turn_table
from glee.engine import GameSet, PlayerSpec, RunConfig, run
from glee.engine.record import GameRecord
from glee.errors import ConfigError
from glee.games import Outcome, new_game, parse_params
from glee.store import open_store
from glee.store.glee_import import import_glee
from tests.support.analysis_db import baseline_database, paper_grid_database
from tests.support.calls_db import BARGAINING, MODEL_X, MODEL_Y, NEGOTIATION, REJECTION, calls_database
from tests.support.playout import play_baselines
from tests.support.synthetic import BUYER_EFFECT, SELLER_EFFECT, role_games, synthetic_games

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "glee_samples"


@pytest.fixture(scope="module")
def baseline_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return baseline_database(tmp_path_factory.mktemp("analysis") / "glee.duckdb")


def seat_rows(rows: list[tuple[str, int, str, float | None, float | None, float | None, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["agent", "seat", "status", "self_gain", "efficiency", "fairness", "agreement"]
    ).assign(family="bargaining")


# ---------------------------------------------------------------- metric tables


def test_metric_table_means_by_hand_with_faults_counted_apart() -> None:
    seats = seat_rows(
        [
            ("a", 1, "completed", 0.2, 0.9, 0.5, 1.0),
            ("a", 1, "completed", 0.4, 0.7, None, 0.0),  # no deal: fairness undefined
            ("a", 1, "completed", 0.6, 0.8, 1.0, 1.0),
            ("a", 1, "forfeit", None, None, None, None),
            ("a", 1, "failed", None, None, None, None),
            ("b", 2, "completed", 0.1, 0.5, 0.3, 1.0),
            ("b", 2, "forfeit", 0.99, 0.99, 0.99, 1.0),  # values on a forfeit must never be averaged
        ]
    )
    table = metric_table(seats).set_index("agent")
    a, b = table.loc["a"], table.loc["b"]
    assert (a["games"], a["completed"], a["forfeit_games"], a["failed"]) == (5, 3, 1, 1)
    assert a["self_gain"] == pytest.approx((0.2 + 0.4 + 0.6) / 3)
    assert a["efficiency"] == pytest.approx(0.8)
    assert a["fairness"] == pytest.approx(0.75) and a["fairness_n"] == 2
    assert a["agreement"] == pytest.approx(2 / 3)
    assert a["self_gain_low"] < a["self_gain"] < a["self_gain_high"]
    assert a["self_gain_low"] >= 0.2 and a["self_gain_high"] <= 0.6
    assert (b["games"], b["completed"], b["forfeit_games"]) == (2, 1, 1)
    assert b["self_gain"] == pytest.approx(0.1) and b["self_gain_n"] == 1
    assert np.isnan(b["self_gain_low"])  # one value has no interval


def test_forfeit_games_and_own_forfeits_are_told_apart_and_self_play_counts_once() -> None:
    games = pd.DataFrame(
        {
            "game_id": ["g1", "g2", "g3", "g4"],
            "family": "negotiation",
            "player_1": ["a", "a", "a", "a"],
            "player_2": ["b", "b", "a", "a"],
            "status": ["forfeit", "forfeit", "completed", "forfeit"],
            "forfeit_seat": [1, 2, None, 2],
            "self_gain_1": [None, None, 0.4, None],
            "self_gain_2": [None, None, 0.6, None],
            "payoff_1": 0.0,
            "payoff_2": 0.0,
        }
    )
    seats = seat_frame(games)
    table = metric_table(seats, by=("agent",), metrics=("self_gain",), resamples=10).set_index("agent")
    # a: in all four games, three ended in a forfeit, two of them its own (g1 in seat 1, g4 in seat 2).
    assert table.loc["a", ["games", "completed", "forfeit_games", "own_forfeits"]].tolist() == [4, 1, 3, 2]
    assert table.loc["b", ["games", "completed", "forfeit_games", "own_forfeits"]].tolist() == [2, 0, 2, 1]
    assert table.loc["a", "self_gain"] == pytest.approx(0.5) and table.loc["a", "self_gain_n"] == 2
    by_role = metric_table(seats, by=("agent", "role"), metrics=("self_gain",), resamples=10).set_index(
        ["agent", "role"]
    )
    assert by_role.loc[("a", "seller"), "own_forfeits"] == 1 and by_role.loc[("a", "buyer"), "own_forfeits"] == 1
    assert by_role.loc[("b", "buyer"), ["forfeit_games", "own_forfeits"]].tolist() == [2, 1]


def test_bootstrap_interval_matches_scipy_and_large_groups_use_the_normal_interval() -> None:
    rng = np.random.default_rng(3)
    values = rng.exponential(1.0, 400)
    ours = group_means(values, np.zeros(400, dtype=np.int64), 1, resamples=4000, seed=1)
    scipy_ci = stats.bootstrap((values,), np.mean, n_resamples=4000, method="percentile", random_state=2)
    assert ours["ci_method"][0] == "bootstrap"
    assert ours["low"][0] == pytest.approx(scipy_ci.confidence_interval.low, abs=0.015)
    assert ours["high"][0] == pytest.approx(scipy_ci.confidence_interval.high, abs=0.015)

    normal = group_means(values, np.zeros(400, dtype=np.int64), 1, bootstrap_max_n=100)
    half = 1.959964 * values.std(ddof=1) / np.sqrt(400)
    assert normal["ci_method"][0] == "normal"
    assert normal["low"][0] == pytest.approx(values.mean() - half, rel=1e-6)
    assert normal["high"][0] == pytest.approx(values.mean() + half, rel=1e-6)


def test_metric_table_rejects_unknown_groupings_and_metrics() -> None:
    seats = seat_rows([("a", 1, "completed", 0.2, 0.9, 0.5, 1.0)])
    with pytest.raises(ConfigError, match="nope"):
        metric_table(seats, by=("nope",))
    with pytest.raises(ConfigError, match="utility"):
        metric_table(seats, metrics=("utility",))


# ---------------------------------------------------------------- effects


def effect_data(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """y = 0.2 + 0.3·[size = big] − 0.15·[mode = b] + 0.1·[agent = y] + noise."""
    rng = np.random.default_rng(seed)
    size = rng.choice(["small", "big"], n)
    mode = rng.choice(["a", "b", "c"], n)
    agent = rng.choice(["x", "y"], n)
    y = 0.2 + 0.3 * (size == "big") - 0.15 * (mode == "b") + 0.1 * (agent == "y") + rng.normal(0, 0.2, n)
    return pd.DataFrame({"self_gain": y, "size": size, "mode": mode, "agent": agent, "status": "completed"})


def test_parameter_effects_recover_known_effects_within_their_intervals() -> None:
    data = effect_data()
    effects = parameter_effects(data, "self_gain", ["size", "mode"], reference={"size": "small", "mode": "a"})
    got = effects.set_index(["variable", "level"])
    truth = {("size", "big"): 0.3, ("mode", "b"): -0.15, ("mode", "c"): 0.0, ("agent", "y"): 0.1}
    assert set(got.index) == set(truth)
    for key, value in truth.items():
        assert got.loc[key, "low"] <= value <= got.loc[key, "high"], key
    assert got.loc[("size", "big"), "reference"] == "small"
    assert got.loc[("size", "big"), "p_value"] < 1e-10


def test_cell_fit_equals_statsmodels_cluster_robust_ols_on_the_raw_rows() -> None:
    data = effect_data(n=600, seed=5)
    # 40 configurations whose replicates share a random shift: the errors must be clustered by them.
    rng = np.random.default_rng(6)
    data["configuration"] = rng.integers(0, 40, len(data)).astype(str)
    data["self_gain"] += rng.normal(0, 0.3, 40)[data["configuration"].astype(int)]
    effects = parameter_effects(data, "self_gain", ["size", "mode"], reference={"size": "small", "mode": "a"})
    raw = smf.ols(
        "self_gain ~ C(size, Treatment(reference='small')) + C(mode, Treatment(reference='a'))"
        " + C(agent, Treatment(reference='x'))",
        data=data,
    ).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(data["configuration"])[0]}, use_t=True)
    ci = raw.conf_int()
    term = "C(mode, Treatment(reference='a'))[T.b]"
    row = effects.set_index(["variable", "level"]).loc[("mode", "b")]
    assert row["effect"] == pytest.approx(raw.params[term], abs=1e-10)
    assert row["low"] == pytest.approx(ci.loc[term, 0], abs=1e-10)
    assert row["high"] == pytest.approx(ci.loc[term, 1], abs=1e-10)
    assert row["p_value"] == pytest.approx(raw.pvalues[term], rel=1e-6)
    assert "cluster-robust over 40 configurations" in effects.attrs["caption"]


def test_parameter_effects_refuse_bad_names_and_references() -> None:
    data = effect_data(n=50)
    with pytest.raises(ConfigError, match=r"reference\.size"):
        parameter_effects(data, "self_gain", ["size"], reference={"size": "huge"})
    with pytest.raises(ConfigError, match="column"):
        parameter_effects(data, "self_gain", ["size) + C(os.system('x')"])
    with pytest.raises(ConfigError, match="metric"):
        parameter_effects(data, "payoff", ["size"])


def test_balanced_table_removes_the_bias_of_unbalanced_configurations() -> None:
    # Agent "x" played mostly on delta_1 = 1.0 (which adds 0.4), agent "y" mostly on 0.8.
    # True per-agent mean over the balanced grid: x 0.1 + 0.2 = 0.3, y 0.3 + 0.2 = 0.5.
    rng = np.random.default_rng(1)
    n = 3000
    agent = rng.choice(["x", "y"], n)
    high = np.where(agent == "x", rng.random(n) < 0.9, rng.random(n) < 0.1)
    delta_1 = np.where(high, 1.0, 0.8)
    y = np.where(agent == "x", 0.1, 0.3) + 0.4 * high + rng.normal(0, 0.1, n)
    data = pd.DataFrame({"self_gain": y, "delta_1": delta_1, "agent": agent, "seat": 1, "status": "completed"})
    table = balanced_table(data, "self_gain", "bargaining", parameters=["delta_1"]).set_index("agent")
    assert table.loc["x", "grid_cells"] == 2
    for agent, truth in (("x", 0.3), ("y", 0.5)):
        assert table.loc[agent, "low"] <= truth <= table.loc[agent, "high"]
    # The raw means rank the agents the wrong way round; the balanced ones do not.
    assert table.loc["x", "raw_mean"] > table.loc["y", "raw_mean"]
    assert table.loc["x", "balanced_mean"] < table.loc["y", "balanced_mean"]


# ---------------------------------------------------------------- per role


def test_per_role_fit_recovers_the_seller_and_the_buyer_effect_and_the_pooled_fit_says_it_pools() -> None:
    seats = seat_frame(role_games(1500, seed=4))
    effects = parameter_effects(seats, "self_gain", parameters=["buyer_value"], family="negotiation")
    got = effects[effects["variable"] == "buyer_value"].set_index("role")
    assert list(got.index) == ["seller", "buyer"]
    for role, truth, other in (("seller", SELLER_EFFECT, BUYER_EFFECT), ("buyer", BUYER_EFFECT, SELLER_EFFECT)):
        assert got.loc[role, "low"] <= truth <= got.loc[role, "high"], role
        assert not got.loc[role, "low"] <= other <= got.loc[role, "high"], role
        assert got.loc[role, "n"] == 1500  # one row per game in that role
    assert "per role" in effects.attrs["caption"]
    pooled = parameter_effects(seats, "self_gain", parameters=["buyer_value"], family="negotiation", pooled=True)
    row = pooled[pooled["variable"] == "buyer_value"].iloc[0]
    assert row["role"] == "pooled" and "pooled over both seats" in pooled.attrs["caption"]
    assert row["effect"] == pytest.approx((SELLER_EFFECT + BUYER_EFFECT) / 2, abs=0.03)
    assert row["n"] == 3000


def test_a_game_level_metric_uses_one_row_per_game() -> None:
    games = role_games(400, seed=5)
    seats = seat_frame(games)
    by_seat_frame = metric_table(seats, by=("family",), metrics=("efficiency",), seed=3).iloc[0]
    by_game_frame = metric_table(games, by=("family",), metrics=("efficiency",), seed=3).iloc[0]
    assert by_seat_frame["efficiency_n"] == 400 == by_game_frame["efficiency_n"]
    assert by_seat_frame["efficiency_low"] == pytest.approx(by_game_frame["efficiency_low"])
    assert by_seat_frame["efficiency_high"] == pytest.approx(by_game_frame["efficiency_high"])
    # Read twice (once per seat, as independent rows) the interval would be about 1/sqrt(2) as wide: it is not.
    doubled = pd.concat([games, games.assign(game_id=games["game_id"] + "'")]).drop(columns=["params"])
    twice = metric_table(doubled, by=("family",), metrics=("efficiency",), seed=3).iloc[0]
    width = by_seat_frame["efficiency_high"] - by_seat_frame["efficiency_low"]
    assert width > 1.3 * (twice["efficiency_high"] - twice["efficiency_low"])
    effects = parameter_effects(seats, "efficiency", parameters=["buyer_value"], family="negotiation")
    assert set(effects["role"]) == {"game"} and set(effects["n"]) == {400}
    # The pair of agents is one regressor, each agent named with its role.
    assert set(effects[effects["variable"] == "pair"]["level"]) == {"agent:b (seller) vs agent:a (buyer)"}
    assert set(effects[effects["variable"] == "pair"]["reference"]) == {"agent:a (seller) vs agent:b (buyer)"}
    assert (
        effects.set_index("variable").loc["buyer_value", "low"]
        <= 0.2
        <= effects.set_index("variable").loc["buyer_value", "high"]
    )


def test_replicates_sharing_a_configuration_widen_the_interval() -> None:
    # 100 configurations x 5 replicates: the interval resamples configurations, not games.
    games = role_games(100, seed=6, replicates=5)
    games["configuration"] = games["params"] + games["player_1"]
    clustered = metric_table(games, by=("family",), metrics=("efficiency",)).iloc[0]
    naive = metric_table(games.drop(columns=["configuration", "params"]), by=("family",), metrics=("efficiency",))
    assert clustered["efficiency_n"] == 500
    width = clustered["efficiency_high"] - clustered["efficiency_low"]
    assert width > 1.2 * (naive.iloc[0]["efficiency_high"] - naive.iloc[0]["efficiency_low"])


# ---------------------------------------------------------------- forfeits in the estimate


def forfeits_in_bad_positions() -> tuple[pd.DataFrame, float]:
    """Negotiation games where `model:x` (seller) plays like spe but forfeits wherever the rules leave the seller
    nothing to gain (seller_value >= buyer_value), with one failed game; and the seller's true mean gain."""
    rows, truth = [], []
    grid = [(fa, fb) for fa in (0.8, 1.0, 1.2, 1.5) for fb in (0.8, 1.0, 1.2, 1.5)]
    for i, (fa, fb) in enumerate(grid):
        params = parse_params("negotiation", {"seller_value": fa, "buyer_value": fb, "max_rounds": 9})
        played = asyncio.run(play_baselines(params, "spe", "spe", seed=i))
        truth.append(played.outcome().self_gain_1)
        end = new_game(params, i).forfeit(1) if fa >= fb else played
        out = end.outcome()
        rows.append(
            {
                "game_id": f"g{i}", "family": "negotiation", "params": params.model_dump_json(),
                "seller_value": fa, "buyer_value": fb, "player_1": "model:x", "player_2": "baseline:spe",
                "status": "forfeit" if fa >= fb else "completed", "forfeit_seat": out.forfeit_seat,
                **out.model_dump(include={"payoff_1", "payoff_2", "self_gain_1", "self_gain_2", "efficiency",
                                          "fairness", "agreement"}),
            }
        )  # fmt: skip
    rows.append(
        {
            **rows[0],
            "game_id": "failed",
            "status": "failed",
            "forfeit_seat": None,
            "self_gain_1": None,
            "self_gain_2": None,
        }
    )
    return pd.DataFrame(rows), float(np.mean(truth))


def test_forfeits_in_bad_positions_bias_the_completed_mean_and_the_itt_mean_recovers_the_truth() -> None:
    games, truth = forfeits_in_bad_positions()
    seats = seat_frame(games)
    row = metric_table(seats, by=("agent", "role")).set_index(["agent", "role"]).loc[("model:x", "seller")]
    assert (row["games"], row["completed"], row["forfeit_games"], row["own_forfeits"], row["failed"]) == (
        17, 6, 10, 10, 1,
    )  # fmt: skip
    assert row["self_gain_n"] == 6 and row["self_gain_itt_n"] == 16  # the failed game is in neither view
    assert row["self_gain"] > truth + 0.1  # survivor bias: the bad positions are left out
    assert row["self_gain_itt"] == pytest.approx(truth)
    assert row["self_gain_itt_low"] <= truth <= row["self_gain_itt_high"]
    effects = parameter_effects(seats, "self_gain", ["seller_value"], family="negotiation", view="itt")
    assert set(effects[effects["role"] == "seller"]["n"]) == {16}
    assert "intention to treat" in effects.attrs["caption"]


# ---------------------------------------------------------------- replicates


def test_identical_transcripts_count_once_and_the_caption_says_how_many(baseline_db: Path) -> None:
    games = load_games(baseline_db, family="bargaining")
    spe = games[(games["player_1"] == "baseline:spe") & (games["player_2"] == "baseline:spe")]
    assert len(spe) == 12 and spe["transcript"].notna().all()  # 4 configurations x 3 replicates
    # spe against itself has no chance move: its 3 replicates of a configuration are the same game.
    assert spe.groupby("configuration")["transcript"].nunique().eq(1).all()
    kept, collapsed = distinct_transcripts(spe)
    assert (len(kept), collapsed) == (4, 8)
    table = metric_table(seat_frame(spe), by=("agent", "role"), metrics=("self_gain",), resamples=50)
    assert set(table["games"]) == {4} and table.attrs["collapsed"] == 8
    assert "8 games identical to another of their configuration (same turns) counted once" in table.attrs["caption"]
    # The random baseline draws from its seed, which differs per replicate: those games are not copies.
    rnd = games[games["player_1"] == "baseline:random"]
    assert distinct_transcripts(rnd)[1] < len(rnd) // 3
    effects = parameter_effects(seat_frame(games), "self_gain", family="bargaining")
    assert effects.attrs["collapsed"] == distinct_transcripts(games)[1] >= 8


# ---------------------------------------------------------------- sample-size planning


def planning_frame(n: int, sd: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "game_id": [f"g{seed}-{i}" for i in range(n)],
            "family": "negotiation",
            "params": '{"seller_value": 1.0}',
            "agent": "agent:a",
            "role": "seller",
            "status": "completed",
            "self_gain": rng.normal(0.3, sd, n),
        }
    )


def test_half_widths_by_hand_and_games_needed_reach_the_target() -> None:
    pilot = planning_frame(100, 0.2, seed=1)
    row = half_widths(pilot).iloc[0]
    values = pilot["self_gain"]
    assert row["games"] == 100
    assert row["half_width"] == pytest.approx(stats.t.ppf(0.975, 99) * values.std(ddof=1) / np.sqrt(100))
    plan = games_needed(pilot, target_half_width=0.02).iloc[0]
    assert plan["needed"] == np.ceil((1.959964 * values.std(ddof=1) / 0.02) ** 2)
    assert plan["more"] == plan["needed"] - 100
    # Played at the planned size, the same process reaches the target (within the pilot's sd error).
    reached = half_widths(planning_frame(int(plan["needed"]), 0.2, seed=2)).iloc[0]["half_width"]
    assert 0.016 < reached < 0.024
    one = games_needed(planning_frame(1, 0.2, seed=3), 0.02).iloc[0]
    assert np.isnan(one["needed"]) and np.isnan(half_widths(planning_frame(1, 0.2, seed=3)).iloc[0]["half_width"])
    with pytest.raises(ConfigError, match="target_half_width"):
        games_needed(pilot, 0.0)


# ---------------------------------------------------------------- identified designs


@pytest.fixture(scope="module")
def paper_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return paper_grid_database(tmp_path_factory.mktemp("paper") / "glee.duckdb")


def test_identify_drops_constants_and_columns_that_follow_from_another() -> None:
    data = pd.DataFrame(
        {
            "max_rounds": [1, 10, 30, 1, 10, 30],
            "horizon_disclosed": [True, True, False, True, True, False],
            "money": [100, 100, 100, 100, 100, 100],
            "twin": ["a", "b", "c", "a", "b", "c"],  # the same partition as max_rounds: the later one goes
            "agent": ["x", "x", "x", "y", "y", "y"],
        }
    )
    design = identify(data, ["horizon_disclosed", "max_rounds", "money", "twin", "agent"], protected=["agent"])
    assert design.kept == ("max_rounds", "agent")
    assert {d.name: d.reason for d in design.dropped} == {
        "money": "constant",
        "twin": "follows from max_rounds",
        "horizon_disclosed": "follows from max_rounds",
    }
    assert design.note().startswith("Dropped before fitting: ") and "horizon_disclosed (follows from" in design.note()


@pytest.mark.parametrize("family", ["negotiation", "bargaining"])
def test_paper_grid_effects_are_finite_and_narrower_than_the_metric(paper_db: Path, family: str) -> None:
    seats = seat_frame(load_games(paper_db, family=family))
    game_level = parameter_effects(seats, "efficiency", family=family)
    assert set(game_level["role"]) == {"game"} and "pair" in set(game_level["variable"])
    assert np.isfinite(game_level[["effect", "low", "high"]].to_numpy(dtype=float)).all()
    assert ((game_level["high"] - game_level["low"]) < 1.0).all()  # efficiency lies in [0, 1]
    effects = parameter_effects(seats, "self_gain", family=family)
    # horizon_disclosed follows from max_rounds on the paper grid: one effect, not two splitting it.
    assert "horizon_disclosed" not in set(effects["variable"]) and "max_rounds" in set(effects["variable"])
    assert "horizon_disclosed (follows from max_rounds)" in effects.attrs["dropped"]
    done = seats[seats["status"] == "completed"]["self_gain"]
    spread = float(done.max() - done.min())
    assert spread > 0
    values = effects[["effect", "low", "high"]].to_numpy(dtype=float)
    assert np.isfinite(values).all()
    assert ((effects["high"] - effects["low"]) < spread).all()
    balanced = balanced_table(seats, "self_gain", family)
    assert np.isfinite(balanced[["balanced_mean", "low", "high"]].to_numpy(dtype=float)).all()
    assert ((balanced["high"] - balanced["low"]) < spread).all()


def test_a_database_mixing_two_grids_is_not_identified_rather_than_printed_as_huge_numbers(
    tmp_path: Path,
) -> None:
    db = paper_grid_database(tmp_path / "mixed.duckdb", families=("negotiation",))
    # A second grid with an agent the paper grid never saw: its interactions with the paper levels are not
    # identified, so the balanced table says so rather than showing ±1e12.
    config = RunConfig(
        games=[GameSet(family="negotiation", grid={"seller_value": [0.8, 1.2]}, fixed={"max_rounds": 6})],
        pairs=[(PlayerSpec(kind="baseline", strategy="spe"), PlayerSpec(kind="baseline", strategy="spe"))],
        db=db,
        progress=False,
    )
    run(config)
    seats = seat_frame(load_games(db, family="negotiation"))
    with pytest.raises(NotIdentified, match="not identified"):
        balanced_table(seats[seats["seat"] == 1].assign(agent=lambda f: f["agent"] + "/" + f["opponent"]),
                       "self_gain", "negotiation")  # fmt: skip
    page = write_report(db, tmp_path / "report.html").read_text()
    assert "e+11" not in page and "e+12" not in page


# ---------------------------------------------------------------- comparisons


def test_paired_comparison_by_hand() -> None:
    rows = []
    for cell, (a, b) in enumerate([(0.5, 0.4), (0.6, 0.4), (0.7, 0.4)]):
        rows += [("A", 1, "completed", a, cell), ("B", 1, "completed", b, cell)]
    rows += [("A", 1, "completed", 0.9, 99)]  # a cell B never played is left out
    rows += [("B", 1, "forfeit", None, 0)]
    seats = pd.DataFrame(rows, columns=["agent", "seat", "status", "self_gain", "params"]).assign(family="f")
    result = paired_comparison(seats, "A", "B")
    # Differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, t(0.975, 2) = 4.3027 -> half width 0.24841.
    assert result.cells == 3
    assert result.mean_difference == pytest.approx(0.2)
    assert result.low == pytest.approx(0.2 - 0.248414, abs=1e-5)
    assert result.high == pytest.approx(0.2 + 0.248414, abs=1e-5)
    with pytest.raises(ConfigError, match="C"):
        paired_comparison(seats, "A", "C")


def test_bradley_terry_orders_agents_by_their_skill() -> None:
    games = synthetic_games(6000, seed=2)
    table = bradley_terry(games)
    assert list(table["agent"]) == ["agent:c", "agent:b", "agent:a"]
    top = table.iloc[0]
    assert top["low"] > 0  # c beats the reference a, clearly
    assert table.attrs["reference"] == "agent:a"
    assert table["games"].sum() == 2 * (games["status"] == "completed").sum()
    with pytest.raises(ConfigError, match="two agents"):
        bradley_terry(games.assign(player_1="agent:a", player_2="agent:a"))


# ---------------------------------------------------------------- frames from a real database


def test_load_games_gives_typed_parameters_and_both_seats(baseline_db: Path) -> None:
    games = load_games(baseline_db, family="bargaining")
    assert len(games) == 4 * 7 * 3  # 4 configurations x 7 seatings x 3 replicates
    assert set(games["family"]) == {"bargaining"}
    assert games["delta_1"].dtype == float and set(games["delta_1"]) == {0.8, 1.0}
    assert set(games["complete_information"]) == {True, False}
    assert "seller_value" not in games  # another family's parameter
    seats = seat_frame(games)
    assert len(seats) == 2 * len(games)
    first = seats[seats["game_id"] == games["game_id"].iloc[0]].set_index("seat")
    assert first.loc[1, "agent"] == games["player_1"].iloc[0]
    assert first.loc[2, "self_gain"] == pytest.approx(games["self_gain_2"].iloc[0])
    assert set(zip(seats["seat"], seats["role"], strict=True)) == {(1, "first_proposer"), (2, "second_proposer")}
    every = load_games(baseline_db)
    negotiation = every[every["family"] == "negotiation"]
    persuasion = every[every["family"] == "persuasion"]
    # `price` is the traded price for negotiation rows and the fixed price parameter for persuasion rows.
    assert negotiation["price"].notna().any() and set(persuasion["price"]) == {100.0}


def test_metric_table_by_agent_and_role(baseline_db: Path) -> None:
    seats = seat_frame(load_games(baseline_db, family="negotiation"))
    table = metric_table(seats, by=("agent", "role"), resamples=50).set_index(["agent", "role"])
    seats, collapsed = distinct_transcripts(seats)  # the table counts copies of a replicate once
    assert collapsed > 0
    # Every agent sat in both seats (swap_seats), so each has a seller row and a buyer row.
    assert set(table.index) == {
        (a, r) for a in ("baseline:spe", "baseline:fair", "baseline:random") for r in ("seller", "buyer")
    }
    spe_seller = seats[(seats["agent"] == "baseline:spe") & (seats["seat"] == 1)]
    assert table.loc[("baseline:spe", "seller"), "games"] == len(spe_seller)
    assert table.loc[("baseline:spe", "seller"), "self_gain"] == pytest.approx(
        spe_seller.loc[spe_seller["status"] == "completed", "self_gain"].mean()
    )


def test_filters_are_bound_never_pasted(baseline_db: Path) -> None:
    before = duckdb.connect(str(baseline_db), read_only=True).execute("SELECT count(*) FROM games").fetchone()
    payloads = ["x' OR '1'='1", "bargaining'; DROP TABLE games; --", "1); DELETE FROM games; --"]
    for payload in payloads:
        assert load_games(baseline_db, filters={"player_1": payload}).empty
        assert load_games(baseline_db, filters={"family": [payload, "bargaining"]})["family"].eq("bargaining").all()
    with pytest.raises(ConfigError, match="unknown column"):
        load_games(baseline_db, filters={"1=1 OR player_1": "x"})
    with pytest.raises(ConfigError, match="unknown column"):
        load_games(baseline_db, filters={"game_id; DROP TABLE games": "x"})
    with pytest.raises(ConfigError):
        load_games(baseline_db, filters={"delta_1": "0.8; DROP TABLE games"})
    assert len(load_games(baseline_db, filters={"delta_1": 0.8, "player_1": "baseline:spe"})) > 0
    assert load_turns(baseline_db, "' OR 1=1 --").empty
    after = duckdb.connect(str(baseline_db), read_only=True).execute("SELECT count(*) FROM games").fetchone()
    assert before == after


def test_missing_database_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="database"):
        load_games(tmp_path / "none.duckdb")


def test_spe_predictions_by_hand() -> None:
    # Hidden horizon: the stationary share (1 - δ2)/(1 - δ1·δ2) = 0.05/0.0975.
    assert spe_prediction("bargaining", {"delta_1": 0.95, "delta_2": 0.95, "max_rounds": 99}) == pytest.approx(
        0.05 / 0.0975
    )
    # Disclosed T = 2: Bob proposes last and keeps all, so Alice offers him δ2 = 0.9 and keeps 0.1.
    assert spe_prediction("bargaining", {"delta_2": 0.9, "max_rounds": 2}) == pytest.approx(0.1)
    # Persuasion: the babbling equilibrium sells every round where p·v >= 1 and never elsewhere.
    assert spe_prediction("persuasion", {"p": 1 / 3, "v": 2.0}) == 0.0
    assert spe_prediction("persuasion", {"p": 0.8, "v": 2.0}) == 1.0
    assert spe_prediction("negotiation", {"seller_value": 1.2, "buyer_value": 1.0}) is None


def test_spe_play_matches_the_spe_prediction(baseline_db: Path) -> None:
    games = load_games(baseline_db, filters={"player_1": "baseline:spe", "player_2": "baseline:spe"})
    bargaining = outcome_frame(games, "bargaining")
    assert len(bargaining) == 12
    assert np.allclose(bargaining["share_1"], bargaining["spe"])


def assert_legend_clear_of_panels(fig: Figure) -> None:
    """The figure's legend, drawn, overlaps none of its visible panels."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    assert len(fig.legends) == 1
    box = fig.legends[0].get_window_extent(renderer)
    for ax in fig.axes:
        if ax.get_visible():
            assert not box.overlaps(ax.get_window_extent(renderer)), ax.get_xlabel()


def test_plots_have_a_panel_per_varying_parameter_and_a_point_per_effect(baseline_db: Path) -> None:
    games = load_games(baseline_db)
    seats = seat_frame(games)
    fig = metric_by_parameter(seats, "self_gain", "negotiation")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_xlabel() for ax in visible] == ["seller_value", "buyer_value"]
    labels = visible[0].get_legend_handles_labels()[1]
    assert len(labels) == 6 and "baseline:spe (seller)" in labels and "baseline:spe (buyer)" in labels
    assert fig.get_suptitle().endswith("per role")
    assert_legend_clear_of_panels(fig)
    pooled = metric_by_parameter(seats, "self_gain", "negotiation", by_role=False)
    assert len(pooled.axes[0].get_legend_handles_labels()[1]) == 3  # one line per agent
    assert "both seats pooled" in pooled.get_suptitle()
    # A pooled mean is the mean over both seats' rows; per role it is each seat's own.
    spe = seats[
        (seats["family"] == "negotiation") & (seats["agent"] == "baseline:spe") & (seats["status"] == "completed")
    ]
    seller = spe[spe["role"] == "seller"].groupby("seller_value")["self_gain"].mean()
    buyer = spe[spe["role"] == "buyer"].groupby("seller_value")["self_gain"].mean()
    assert not np.allclose(seller.to_numpy(), buyer.to_numpy())
    effects = parameter_effects(seats[seats["family"] == "negotiation"], "self_gain", family="negotiation")
    fig = effects_plot(effects)
    assert len(fig.axes[0].get_yticklabels()) == len(effects)
    fig = outcome_vs_theory(games, "bargaining")
    assert len(fig.axes) >= 2
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    assert {t.get_text() for t in fig.legends[0].get_texts()} >= {"baseline:spe vs baseline:random"}
    assert_legend_clear_of_panels(fig)
    with pytest.raises(ConfigError, match="nothing to plot"):
        metric_by_parameter(seats[seats["family"] == "bargaining"], "self_gain", "bargaining", ["money"])


# ---------------------------------------------------------------- report


def hostile_samples(tmp_path: Path) -> Path:
    """The real bargaining game 0043BAB60C08E66A with a hostile message in place of `SAME`."""
    root = tmp_path / "samples"
    folder = root / "bargaining" / "0" / "0" / "4" / "0043BAB60C08E66A"
    folder.mkdir(parents=True)
    source = SAMPLES / "bargaining" / "0" / "0" / "4" / "0043BAB60C08E66A"
    (folder / "config.json").write_bytes((source / "config.json").read_bytes())
    text = (source / "game.csv").read_text().replace("SAME", '"<script>alert(1)</script> & <b>bold</b>"')
    (folder / "game.csv").write_text(text)
    return root


def forfeit_database(path: Path) -> Path:
    """`model:x` forfeits both its games against baseline:spe, once in each seat."""
    forfeit = Outcome(
        end_reason="forfeit", rounds=1, agreement=False, payoff_1=0.0, payoff_2=0.0,
        self_gain_1=None, self_gain_2=None, efficiency=None, fairness=None,
    )  # fmt: skip
    seatings = {"g1": ("model:x", "baseline:spe", 1), "g2": ("baseline:spe", "model:x", 2)}
    with open_store(path) as store:
        store.write(
            [
                GameRecord(
                    game_id=game_id,
                    run_id="r",
                    family="negotiation",
                    params={"price_scale": 100},
                    player_1=p1,
                    player_2=p2,
                    status="forfeit",
                    end_reason="forfeit",
                    rounds_played=1,
                    forfeit_seat=seat,
                    outcome=forfeit.model_copy(update={"forfeit_seat": seat}),
                )
                for game_id, (p1, p2, seat) in seatings.items()
            ]
        )
    return path


def test_summary_and_report_tell_forfeit_games_from_own_forfeits(tmp_path: Path) -> None:
    db = forfeit_database(tmp_path / "forfeits.duckdb")
    lines = agent_table(db).splitlines()
    header = lines[1]
    assert "forfeit games" in header and "own forfeits" in header
    assert "self-gain (ITT)" in header
    # One row per agent and role (the agent's label printed once, on its first row).
    rows, agent = {}, ""
    for line in lines[2:]:
        cells = line.split()
        if not line.startswith(" "):
            agent, cells = cells[0], cells[1:]
        rows[(agent, cells[0])] = cells[1:5]
    # games, forfeit games, own forfeits, failed: the baseline forfeited nothing.
    assert rows[("baseline:spe", "seller")] == rows[("baseline:spe", "buyer")] == ["1", "1", "0", "0"]
    assert rows[("model:x", "seller")] == rows[("model:x", "buyer")] == ["1", "1", "1", "0"]
    page = write_report(db, tmp_path / "report.html").read_text()
    assert "<th>forfeit_games</th>" in page and "<th>own_forfeits</th>" in page


def test_report_is_one_offline_page_with_escaped_text_and_linked_transcripts(tmp_path: Path, baseline_db: Path) -> None:
    db = tmp_path / "report.duckdb"
    import_glee(hostile_samples(tmp_path), db)
    out = write_report(db, tmp_path / "out" / "report.html")
    page = out.read_text()
    assert "<script>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from the network
    anchors = set(re.findall(r'id="(game-[^"]+)"', page))
    links = set(re.findall(r'href="#(game-[^"]+)"', page))
    assert anchors and links == anchors

    full = write_report(baseline_db, tmp_path / "out" / "baseline.html").read_text()
    assert full.count("data:image/png;base64,") >= 9  # effects, by-parameter and theory plots per family
    for family in ("bargaining", "negotiation", "persuasion"):
        assert f'<h2 id="{family}">' in full
    assert "baseline:spe" in full


def test_turn_table_names_the_players_and_keeps_messages(baseline_db: Path) -> None:
    games = load_games(baseline_db, family="persuasion", limit=1)
    turns = load_turns(baseline_db, games["game_id"].iloc[0])
    table = turn_table(turns, json.loads(games["params"].iloc[0]))
    assert list(table["player"][:3]) == ["Nature (0)", "Alice (1)", "Bob (2)"]
    assert table["move"].iloc[0].startswith("quality=")


# ---------------------------------------------------------------- model calls


def test_load_calls_places_every_call_in_its_game_seat_and_agent(tmp_path: Path) -> None:
    db = calls_database(tmp_path / "calls.duckdb")
    calls = load_calls(db)
    assert len(calls) == 5
    assert list(calls[["game_id", "turn", "attempt"]].itertuples(index=False, name=None)) == [
        (BARGAINING, 1, 1), (BARGAINING, 2, 1), (NEGOTIATION, 1, 1), (NEGOTIATION, 1, 2), (NEGOTIATION, 4, 1),
    ]  # fmt: skip
    assert list(calls["agent"]) == [MODEL_Y, MODEL_X, MODEL_X, MODEL_X, MODEL_X]
    rejected = calls[calls["rejection"].notna()]
    assert len(rejected) == 1
    row = rejected.iloc[0]
    assert (row["game_id"], row["turn"], row["attempt"], row["seat"]) == (NEGOTIATION, 1, 1, 1)
    assert (row["rejection"], row["finish_reason"], row["prompt_tokens"], row["latency_ms"]) == (
        REJECTION, "length", 101, 250.0,
    )  # fmt: skip
    x = load_calls(db, filters={"agent": MODEL_X, "finish_reason": "stop"})
    assert len(x) == 3 and set(x["agent"]) == {MODEL_X} and x["completion_tokens"].sum() == 11 + 12 + 11
    assert list(load_calls(db, NEGOTIATION)["turn"]) == [1, 1, 4]
    assert load_calls(db, filters={"agent": "x' OR '1'='1"}).empty
    with pytest.raises(ConfigError, match="unknown column 'tokens'"):
        load_calls(db, filters={"tokens": 1})
    # The full prompt of the last call: the system prompt, the rejected reply and its re-ask, the next turn.
    prompt = full_prompt(db, NEGOTIATION, 4)
    assert [m["role"] for m in prompt] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert prompt[3]["content"] == f"Invalid: {REJECTION}" and prompt[-1]["content"] == "Bob offers 105."
    with pytest.raises(ConfigError, match="no call"):
        full_prompt(db, NEGOTIATION, 2)


def test_calls_by_agent_counts_rejections_truncations_and_tokens_and_the_report_shows_them(tmp_path: Path) -> None:
    db = calls_database(tmp_path / "calls.duckdb")
    table = calls_by_agent(load_calls(db)).set_index(["family", "agent"])
    assert table["calls"].sum() == 5
    negotiation = table.loc[("negotiation", MODEL_X)]
    assert (negotiation["calls"], negotiation["rejected"], negotiation["failed"], negotiation["truncated"]) == (
        3,
        1,
        0,
        1,
    )
    assert negotiation["completion_tokens"] == pytest.approx((11 + 12 + 11) / 3)
    assert table.loc[("bargaining", MODEL_Y), "calls"] == 1
    page = write_report(db, tmp_path / "report.html").read_text()
    assert '<h2 id="calls">Model calls</h2>' in page and "truncated" in page
