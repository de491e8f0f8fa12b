"""plan: experiment -> game specs with content-hash ids and seeds that ignore scheduling order."""

from __future__ import annotations

from pathlib import Path

import pytest

from glee.backends.spec import EndpointSpec
from glee.engine.plan import derive_seed, plan
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from glee.errors import ConfigError
from glee.games import rules_version
from glee.players.base import Sampling
from glee.prompts import prompt_version
from tests.conftest import baseline, small_config
from tests.support.versions import set_version


def test_paper_grids_have_the_papers_sizes() -> None:
    config = RunConfig(games=[GameSet(family=f, grid="paper") for f in ("bargaining", "negotiation", "persuasion")])
    specs = plan(config)
    by_family = {f: sum(s.family == f for s in specs) for f in ("bargaining", "negotiation", "persuasion")}
    assert by_family == {"bargaining": 384, "negotiation": 576, "persuasion": 360}
    assert len({s.game_id for s in specs}) == len(specs)


def test_ids_and_seeds_do_not_depend_on_order_or_on_other_games(tmp_path: Path) -> None:
    pairs = [(baseline("spe"), baseline("random")), (baseline("fair"), baseline("spe"))]
    full = plan(small_config(tmp_path / "a.duckdb", pairs, n_games=2))
    reordered = plan(small_config(tmp_path / "b.duckdb", pairs[::-1], n_games=3, max_games_in_flight=1))
    seeds = {s.game_id: s.seed for s in reordered}
    assert {s.game_id for s in full} < set(seeds)
    for spec in full:
        assert seeds[spec.game_id] == spec.seed == derive_seed(0, spec.game_id)


def test_the_run_seed_changes_every_id_and_seed(tmp_path: Path) -> None:
    pairs = [(baseline("spe"), baseline("random"))]
    a = plan(small_config(tmp_path / "x.duckdb", pairs))
    b = plan(small_config(tmp_path / "x.duckdb", pairs, seed=1))
    assert not {s.game_id for s in a} & {s.game_id for s in b}
    assert len({s.seed for s in a + b}) == len(a) + len(b)


def test_transport_settings_do_not_change_ids_but_sampling_does(tmp_path: Path) -> None:
    def llm(**endpoint: object) -> PlayerSpec:
        return PlayerSpec(kind="llm", endpoint=EndpointSpec(**{"backend": "openai", "model": "m", **endpoint}))

    def ids(player: PlayerSpec) -> list[str]:
        return [s.game_id for s in plan(small_config(tmp_path / "x.duckdb", [(player, baseline("spe"))]))]

    base = ids(llm())
    assert ids(llm(base_url="http://10.0.0.1:8000/v1", max_concurrency=3, timeout_s=5, api_key_env="K")) == base
    hotter = llm().model_copy(update={"sampling": Sampling(temperature=1)})
    assert not set(ids(hotter)) & set(base)
    assert not set(ids(llm(model="other"))) & set(base)
    # Engine arguments that only spend hardware differently (each backend kind lists its own) keep the
    # ids; one that changes replies does not.
    for backend, fast in (
        ("vllm", {"gpu_memory_utilization": 0.5, "tensor_parallel_size": 2}),
        ("llamacpp", {"n_threads": 8, "n_batch": 256}),
    ):
        plain = ids(llm(backend=backend))
        assert ids(llm(backend=backend, engine_args=fast)) == plain
        assert not set(ids(llm(backend=backend, engine_args={"dtype": "float32", **fast}))) & set(plain)


def test_swapped_seats_are_added_once(tmp_path: Path) -> None:
    pair = (baseline("spe"), baseline("random"))
    plain = plan(small_config(tmp_path / "x.duckdb", [pair]))
    swapped = plan(small_config(tmp_path / "x.duckdb", [pair], swap_seats=True))
    assert len(swapped) == 2 * len(plain)
    assert {(s.player_1.label(), s.player_2.label()) for s in swapped} == {
        ("baseline:spe", "baseline:random"),
        ("baseline:random", "baseline:spe"),
    }
    mirror = plan(small_config(tmp_path / "x.duckdb", [(baseline("spe"), baseline("spe"))], swap_seats=True))
    assert len(mirror) == len(plain)


def test_fixed_params_apply_to_every_configuration_and_duplicates_collapse() -> None:
    config = RunConfig(
        games=[
            GameSet(family="persuasion", params=[{"p": 0.5}, {"p": 0.5, "rounds": 3}], fixed={"rounds": 3}),
            GameSet(family="persuasion", params=[{"p": 0.5}], fixed={"rounds": 3}),
        ]
    )
    specs = plan(config)
    assert len(specs) == 1
    assert specs[0].params_json()["rounds"] == 3 and specs[0].params_json()["p"] == 0.5


def test_bad_parameters_name_the_field_the_value_and_the_configuration() -> None:
    with pytest.raises(ConfigError) as info:
        plan(RunConfig(games=[GameSet(family="bargaining", params=[{"delta_1": 0.9}, {"delta_1": 1.3}])]))
    # one prefix for one bad value, then where it is
    assert str(info.value) == (
        "bargaining.delta_1: got 1.3; allowed: a number <= 1.0 (configuration 1 of the bargaining games)"
    )
    with pytest.raises(ConfigError, match="unknown key"):
        plan(RunConfig(games=[GameSet(family="negotiation", grid={"nonsense": [1, 2]})]))


def test_a_player_spec_must_be_complete() -> None:
    with pytest.raises(ValueError, match="llm player needs an endpoint"):
        PlayerSpec(kind="llm")
    with pytest.raises(ValueError, match="extra"):
        RunConfig(pairs=[(baseline("spe"), baseline("spe"))], unknown=1)  # type: ignore[call-arg]


@pytest.mark.parametrize("layer", ["games", "prompts"])
@pytest.mark.parametrize("bumped", ["bargaining", "negotiation", "persuasion"])
def test_a_family_version_changes_only_that_familys_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layer: str, bumped: str
) -> None:
    config = small_config(tmp_path / "x.duckdb", [(baseline("spe"), baseline("random"))], n_games=2)
    before = {s.game_id: s.family for s in plan(config)}
    version = (rules_version if layer == "games" else prompt_version)(bumped)
    set_version(monkeypatch, bumped, layer, version + 1)  # type: ignore[arg-type]
    after = {s.game_id: s.family for s in plan(config)}
    assert len(before) == len(after) and set(before.values()) == {"bargaining", "negotiation", "persuasion"}
    kept = set(before) & set(after)
    assert {before[gid] for gid in kept} == set(before.values()) - {bumped}
    assert {gid for gid, family in before.items() if family != bumped} == kept
    # A game's seed derives from its id, so the bumped family's games also draw new seeds.
    seeds = {s.seed for s in plan(config) if s.family == bumped}
    set_version(monkeypatch, bumped, layer, version)  # type: ignore[arg-type]
    assert not seeds & {s.seed for s in plan(config) if s.family == bumped}
