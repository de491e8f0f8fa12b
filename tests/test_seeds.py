"""Real replicates: every model call carries its own sampling seed, derived from the game seed, the
seat, the seat's turn and the attempt; the seed reaches the server in the request body and is kept in
`llm_calls.seed`; a run whose replicates can only be copies says so once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from glee.backends import ManagedServer
from glee.backends.base import BACKENDS
from glee.engine import GameSet, GameSpec, PlayerSpec, RunConfig, run
from glee.engine.match import play, seat_seed
from glee.engine.plan import copied_replicates
from glee.engine.players import player_factory
from glee.games import FamilyError, family
from glee.games.registry import GameFamily
from glee.players.base import SEED_BITS, Sampling, call_seed
from glee.store import open_store
from tests.conftest import small_config
from tests.support.fault_server import FaultPlan, FaultServer
from tests.support.llamacpp import smollm2_endpoint, smollm2_server  # noqa: F401 (a fixture)


def llm(server: FaultServer, **sampling: Any) -> PlayerSpec:
    endpoint = {"backend": "openai", "model": "mock-model", "base_url": server.base_url, "timeout_s": 5.0}
    return PlayerSpec(kind="llm", endpoint=endpoint, sampling=Sampling(**sampling), max_attempts=3)


def calls_of(db: Path) -> list[tuple[Any, ...]]:
    with open_store(db, read_only=True) as store:
        return store.con.execute(
            "SELECT c.game_id, g.seed, c.seat, c.turn, c.attempt, c.seed FROM llm_calls c "
            "JOIN games g USING (game_id) ORDER BY c.game_id, c.turn, c.attempt"
        ).fetchall()


def test_each_call_sends_its_own_seed_and_llm_calls_records_it(tmp_path: Path) -> None:
    with FaultServer() as server:
        server.set_plan(FaultPlan(reply="hashed"))
        player = llm(server, temperature=0.7)
        config = small_config(tmp_path / "a.duckdb", [(player, player)], n_games=2)
        summary = run(config)
        sent = [json.loads(r.body).get("seed") for r in server.requests()]
    assert summary.failed == 0 and summary.played == 24
    rows = calls_of(config.db)
    assert len(rows) == len(sent) > 100
    # Every request carried a seed, and the database holds exactly the seeds that were sent.
    assert None not in sent and sorted(sent) == sorted(r[5] for r in rows)
    assert all(0 <= s < 2**SEED_BITS for s in sent)
    # Each one is the call's own: from the game seed, the seat, the seat's turn and the attempt.
    seat_turns: dict[tuple[str, int], list[int]] = {}
    for game_id, game_seed, seat, turn, attempt, seed in rows:
        turns = seat_turns.setdefault((game_id, seat), [])
        if attempt == 1:
            turns.append(turn)
        assert seed == call_seed(seat_seed(game_seed, seat), len(turns), attempt)
    assert len({r[5] for r in rows}) == len(rows)  # no two calls of the run share a seed
    # The two replicates of a configuration were sent different seeds from their first call on.
    firsts: dict[str, int] = {r[0]: r[5] for r in reversed(rows)}
    assert len(set(firsts.values())) == len(firsts) == 24


def test_each_re_ask_has_its_own_seed(tmp_path: Path) -> None:
    with FaultServer() as server:
        server.set_plan(FaultPlan(reply="garbage"))  # every attempt refused: three calls, then a forfeit
        config = RunConfig(
            games=[GameSet(family="negotiation", fixed={"max_rounds": 2})],
            pairs=[(llm(server), PlayerSpec())],
            db=tmp_path / "reasks.duckdb",
            progress=False,
        )
        assert run(config).forfeit == 1
        sent = [json.loads(r.body)["seed"] for r in server.requests()]
    rows = calls_of(config.db)
    assert [(r[2], r[3], r[4]) for r in rows] == [(1, 1, 1), (1, 1, 2), (1, 1, 3)]
    game_seed = rows[0][1]
    assert sent == [r[5] for r in rows] == [call_seed(seat_seed(game_seed, 1), 1, a) for a in (1, 2, 3)]


def test_a_fixed_seed_in_the_sampling_is_sent_with_every_call(tmp_path: Path) -> None:
    with FaultServer() as server:
        server.set_plan(FaultPlan(reply="hashed"))
        player = llm(server, seed=42)
        config = RunConfig(
            games=[GameSet(family="bargaining", fixed={"max_rounds": 3, "money": 100})],
            pairs=[(player, PlayerSpec())],
            db=tmp_path / "fixed.duckdb",
            progress=False,
        )
        run(config)
        sent = {json.loads(r.body).get("seed") for r in server.requests()}
    assert sent == {42} and {r[5] for r in calls_of(config.db)} == {42}


@pytest.mark.parametrize("backend", ["llamacpp", "openai", "vllm"])  # glee's own (tests register toys)
def test_every_built_in_backend_kind_takes_a_per_call_seed(backend: str) -> None:
    kind = BACKENDS[backend]
    assert kind.sampling_kwargs(Sampling(seed=9))["seed"] == 9
    assert "seed" not in kind.sampling_kwargs(Sampling())


def test_an_older_llm_calls_table_gets_the_seed_column(tmp_path: Path) -> None:
    db = tmp_path / "old.duckdb"
    open_store(db).close()
    with duckdb.connect(str(db)) as con:  # a glee file whose llm_calls is as it was before the seed column
        con.execute("ALTER TABLE llm_calls DROP COLUMN seed")
        con.execute("INSERT INTO llm_calls (game_id, turn, seat, attempt, model) VALUES ('g', 1, 1, 1, 'm')")
    with open_store(db) as store:
        assert store.con.execute("SELECT game_id, seed FROM llm_calls").fetchall() == [("g", None)]


# ------------------------------------------------------------------ replicates that are copies


def config_of(family_name: str, p1: PlayerSpec, p2: PlayerSpec, n_games: int) -> RunConfig:
    return RunConfig(games=[GameSet(family=family_name)], pairs=[(p1, p2)], n_games=n_games, progress=False)


def test_copies_are_named_only_without_chance_moves_and_with_deterministic_players() -> None:
    spe, rnd = PlayerSpec(strategy="spe"), PlayerSpec(strategy="random")
    greedy = PlayerSpec(kind="llm", endpoint={"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"})
    warm = greedy.model_copy(update={"sampling": Sampling(temperature=0.5)})
    message = copied_replicates(config_of("bargaining", greedy, spe, 3))
    assert message is not None and message.startswith("n_games=3: the replicates of bargaining games")
    assert "temperature" in message
    assert copied_replicates(config_of("negotiation", spe, spe, 2)) is not None
    assert copied_replicates(config_of("bargaining", greedy, spe, 1)) is None  # one game is no copy
    assert copied_replicates(config_of("persuasion", greedy, spe, 3)) is None  # Nature draws per replicate
    assert copied_replicates(config_of("bargaining", warm, spe, 3)) is None  # sampled with per-call seeds
    assert copied_replicates(config_of("bargaining", rnd, spe, 3)) is None  # draws from its seeded generator
    assert family("persuasion").chance_moves and not family("bargaining").chance_moves


def test_a_run_of_copied_replicates_warns_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = RunConfig(
        games=[GameSet(family=f, fixed=fixed) for f, fixed in (("bargaining", {"max_rounds": 3}), ("negotiation", {}))],
        pairs=[(PlayerSpec(), PlayerSpec(strategy="fair"))],
        n_games=2,
        db=tmp_path / "copies.duckdb",
        progress=False,
    )
    summary = run(config)
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("glee: warning:")]
    assert summary.completed == 4
    assert warnings == [f"glee: warning: {copied_replicates(config)}"]
    assert "bargaining, negotiation games" in warnings[0]


def test_a_family_must_declare_its_chance_moves_truly() -> None:
    declared = family("persuasion")
    with pytest.raises(FamilyError, match=r"^family 'persuasion': piece 'chance_moves' is missing or wrong"):
        GameFamily(**{**declared.__dict__, "chance_moves": False})
    with pytest.raises(FamilyError, match=r"^family 'bargaining': piece 'chance_moves' is missing or wrong"):
        GameFamily(**{**family("bargaining").__dict__, "chance_moves": True})


# ------------------------------------------------------------------ the seed honoured by llama.cpp

PROMPT = [{"role": "user", "content": "Write one sentence about a market."}]
OTHER = [{"role": "user", "content": "Say OK."}]


@pytest.mark.llm
async def test_smollm2_on_llamacpp_honours_the_seed(smollm2_server: ManagedServer) -> None:  # noqa: F811 (the imported fixture)
    endpoint = smollm2_endpoint(smollm2_server)
    try:

        async def reply(seed: int) -> str:
            # llama-cpp-python evaluates a prompt partly from the previous request's KV cache, and a
            # prompt's logits from the cache differ in the last bits from a fresh evaluation: the same
            # other request before each call gives every call the same cache (DESIGN.md, replicates).
            await endpoint.complete(OTHER, None, Sampling(temperature=0.7, max_tokens=5, seed=1))
            call = await endpoint.complete(PROMPT, None, Sampling(temperature=0.7, max_tokens=40, seed=seed))
            return call.response or ""

        first, again, other = await reply(11), await reply(11), await reply(12)
    finally:
        await endpoint.aclose()
    assert first and first == again  # same seed, same reply
    assert other != first  # another seed, another reply


@pytest.mark.llm
async def test_two_replicates_at_temperature_0_7_differ(smollm2_server: ManagedServer) -> None:  # noqa: F811 (the imported fixture)
    endpoint = smollm2_endpoint(smollm2_server)
    model = PlayerSpec(kind="llm", endpoint=smollm2_server.spec, sampling=Sampling(temperature=0.7, max_tokens=60))
    params = family("bargaining").params.parse({"max_rounds": 2, "money": 100})
    specs = [GameSpec.create("bargaining", params, model, PlayerSpec(strategy="fair"), r) for r in (0, 1)]
    make = player_factory({smollm2_server.spec: endpoint})
    try:
        first, second = [await play(s, make) for s in specs]
    finally:
        await endpoint.aclose()
    assert first.calls and second.calls and first.seed != second.seed
    assert {c.seed for c in first.calls}.isdisjoint({c.seed for c in second.calls})
    assert [c.response for c in first.calls] != [c.response for c in second.calls]  # two samples
