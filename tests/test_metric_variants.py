"""Metric variants: glee's corrected metrics and the original GLEE code's, from the same turns.

Every expected value below is worked by hand in the comment beside it (GAMES.md section 7).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from glee.games import GameState, all_metric_variants, new_game, parse_params, variant_metrics
from glee.store import SEAT_METRICS_VIEW, open_store
from glee.store.glee_import import import_glee

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "glee_samples"


def play(family: str, params: dict[str, Any], actions: list[dict[str, Any]]) -> GameState:
    state = new_game(parse_params(family, params), seed=0)
    for action in actions:
        state = state.apply(action)
    assert state.is_over
    return state


def as_tuple(state: GameState, variant: str) -> tuple[float | None, ...]:
    m = variant_metrics(state)[variant]
    return (m.self_gain_1, m.self_gain_2, m.efficiency, m.fairness)


def test_no_deal_bargaining_original_scores_it_as_if_bob_got_everything() -> None:
    # M = 100, δ_1 = 0.9, δ_2 = 0.8, T = 2: Alice keeps 60 (rejected), Bob keeps 70 (rejected): no deal.
    state = play(
        "bargaining",
        {"money": 100, "delta_1": 0.9, "delta_2": 0.8, "max_rounds": 2, "messages_allowed": False},
        [{"own_gain": 60}, {"decision": "reject"}, {"own_gain": 70}, {"decision": "reject"}],
    )
    # glee: both 0, efficiency 0, fairness undefined.
    assert as_tuple(state, "glee") == (0.0, 0.0, 0.0, None)
    # original: Alice's gain read as 0, so s = 0 in round t = 2: Alice 0·0.9^1 = 0, Bob (1 − 0)·0.8^1 = 0.8,
    # efficiency 0 + 0.8 = 0.8, fairness 1 − 4·(0 − ½)² = 0. The paper's code is the same.
    for variant in ("original", "original_paper"):
        got = as_tuple(state, variant)
        assert got == pytest.approx((0.0, 0.8, 0.8, 0.0)), variant


def test_bargaining_deal_scores_the_same_under_every_variant() -> None:
    # Alice keeps 60 of 100 in round 1: s = 0.6, gains 0.6 and 0.4, efficiency 1, fairness 1 − 4·0.01 = 0.96.
    state = play("bargaining", {"money": 100, "messages_allowed": False}, [{"own_gain": 60}, {"decision": "accept"}])
    for variant in all_metric_variants():
        assert as_tuple(state, variant) == pytest.approx((0.6, 0.4, 1.0, 0.96)), variant


def test_no_trade_negotiation_original_fairness_is_one() -> None:
    # F_A = 1, F_B = 1.2, M = 100, T = 1: the seller asks 150, the buyer buys from a third party: no trade.
    state = play(
        "negotiation",
        {"seller_value": 1, "buyer_value": 1.2, "price_scale": 100, "max_rounds": 1, "messages_allowed": False},
        [{"price": 150}, {"decision": "outside_option"}],
    )
    # No trade although F_B > F_A: efficiency 0 in both. glee: fairness undefined; original: 1.
    assert as_tuple(state, "glee") == (0.0, 0.0, 0.0, None)
    assert as_tuple(state, "original") == (0.0, 0.0, 0.0, 1.0)
    assert as_tuple(state, "original_paper") == (0.0, 0.0, 0.0, 1.0)


def test_negotiation_original_fairness_is_not_clipped_per_game() -> None:
    # A trade at 200 with F_A = 1, F_B = 1.2, M = 100: p = 2, gains 2 − 1 = 1 and 1.2 − 2 = −0.8, efficient (1);
    # fairness 1 − 4·(2 − 1.1)² = 1 − 3.24 = −2.24 unclipped (original), max(0, −2.24) = 0 (glee).
    state = play(
        "negotiation",
        {"seller_value": 1, "buyer_value": 1.2, "price_scale": 100, "max_rounds": 1, "messages_allowed": False},
        [{"price": 200}, {"decision": "accept"}],
    )
    assert as_tuple(state, "glee") == pytest.approx((1.0, -0.8, 1.0, 0.0))
    assert as_tuple(state, "original") == pytest.approx((1.0, -0.8, 1.0, -2.24))


def test_persuasion_three_buyer_formulas_and_the_fixed_twenty_rounds() -> None:
    # T = 4, v = 3, c = 0. Qualities high, low, low, low; the buyer buys, buys, passes, passes.
    # n = 1 high, k = 1 high sold, L = 3 low, r = 2 low not sold, 2 sales.
    actions: list[dict[str, Any]] = []
    for quality, decision in (("high", "buy"), ("low", "buy"), ("low", "pass"), ("low", "pass")):
        actions += [{"quality": quality}, {"message": "buy it"}, {"decision": decision}]
    state = play("persuasion", {"rounds": 4, "v": 3, "c": 0, "p": 0.5, "price": 100}, actions)
    # glee: seller 2/4 = 0.5; buyer (k·(v−1) + (L−r)·(c−1))/T = (1·2 + 1·(−1))/4 = 0.25;
    # efficiency k/n = 1; fairness r/L = 2/3.
    assert as_tuple(state, "glee") == pytest.approx((0.5, 0.25, 1.0, 2 / 3))
    # original (today's code): seller 2/20 = 0.1; buyer (k·(v−1) + r·(0−1))/20 = (2 − 2)/20 = 0;
    # efficiency 1/1 = 1; fairness r/(20 − n) = 2/19.
    assert as_tuple(state, "original") == pytest.approx((0.1, 0.0, 1.0, 2 / 19))
    # original_paper: buyer (k·(0−1) + (20 − r)·(v−1))/20 = (−1 + 18·2)/20 = 1.75; the rest as today's.
    assert as_tuple(state, "original_paper") == pytest.approx((0.1, 1.75, 1.0, 2 / 19))


def test_persuasion_without_a_high_product_has_no_original_efficiency() -> None:
    # T = 2, both low, both passed: n = 0 (efficiency undefined), r = 2: fairness glee 2/2 = 1, original 2/20 = 0.1.
    actions: list[dict[str, Any]] = []
    for _ in range(2):
        actions += [{"quality": "low"}, {"message": "no"}, {"decision": "pass"}]
    state = play("persuasion", {"rounds": 2}, actions)
    assert as_tuple(state, "glee") == (0.0, 0.0, None, 1.0)
    assert as_tuple(state, "original") == pytest.approx((0.0, -0.1, None, 0.1))


def test_a_forfeit_is_scored_as_no_deal_under_every_variant() -> None:
    # The rules score a forfeit as their no deal (intention to treat); the original had no forfeits, so
    # every variant takes that score: bargaining without a deal is (0, 0, 0, fairness NULL).
    state = new_game(parse_params("bargaining", {}), seed=0).forfeit(1)
    for variant in all_metric_variants():
        assert as_tuple(state, variant) == (0.0, 0.0, 0.0, None)


def metrics_rows(db: Path) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT * FROM outcome_metrics ORDER BY game_id, variant").fetchall()
    finally:
        con.close()


def test_imported_games_carry_every_variant_and_older_files_get_them_back(tmp_path: Path) -> None:
    db = tmp_path / "glee.duckdb"
    import_glee(SAMPLES, db)
    rows = metrics_rows(db)
    assert len(rows) == 6 * len(all_metric_variants())
    with open_store(db) as store:
        con = store.con
        # The glee rows are the outcomes' own metrics.
        differ = con.execute(
            "SELECT count(*) FROM outcomes o JOIN outcome_metrics m USING (game_id) WHERE m.variant = 'glee' AND "
            "(o.self_gain_1, o.self_gain_2, o.efficiency, o.fairness) IS DISTINCT FROM "
            "(m.self_gain_1, m.self_gain_2, m.efficiency, m.fairness)"
        ).fetchone()
        assert differ == (0,)
        # Two rows per game and variant in the seats view by variant, each with its own seat's self-gain.
        seats = con.execute(
            f"SELECT variant, count(*), count(DISTINCT game_id) FROM {SEAT_METRICS_VIEW} GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert seats == [(v, 12, 6) for v in sorted(all_metric_variants())]
        persuasion = con.execute(
            f"SELECT seat, self_gain FROM {SEAT_METRICS_VIEW} s JOIN games g USING (game_id) "
            "WHERE g.source_id = '05FD369904ABE9E3' AND variant = 'original' ORDER BY seat"
        ).fetchall()
        # A file written before the variants: no outcome_metrics rows.
        con.execute("DELETE FROM outcome_metrics")
    with open_store(db):  # opening it for writing recomputes them from the stored turns
        pass
    assert metrics_rows(db) == rows
    with open_store(db, read_only=True) as store:
        again = store.con.execute(
            f"SELECT seat, self_gain FROM {SEAT_METRICS_VIEW} s JOIN games g USING (game_id) "
            "WHERE g.source_id = '05FD369904ABE9E3' AND variant = 'original' ORDER BY seat"
        ).fetchall()
        glee_seller = store.con.execute(
            f"SELECT self_gain FROM {SEAT_METRICS_VIEW} s JOIN games g USING (game_id) "
            "WHERE g.source_id = '05FD369904ABE9E3' AND variant = 'glee' AND seat = 1"
        ).fetchone()
    assert again == persuasion
    # The persuasion sample plays 20 rounds: its original seller self-gain (sales / 20) is glee's (sales / T).
    assert glee_seller is not None and persuasion[0][1] == pytest.approx(glee_seller[0])


def test_merge_gives_the_games_of_an_older_shard_their_variants(tmp_path: Path) -> None:
    from glee.store import merge

    shard, out = tmp_path / "shard.duckdb", tmp_path / "out.duckdb"
    import_glee(SAMPLES, shard)
    con = duckdb.connect(str(shard))
    con.execute("DROP VIEW seat_metrics")
    con.execute("DROP TABLE outcome_metrics")  # as a shard written before the metric variants
    con.close()
    merge([shard], out)
    assert len(metrics_rows(out)) == 6 * len(all_metric_variants())
