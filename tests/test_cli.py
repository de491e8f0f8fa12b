"""The `glee` command: config composition and validation, one-line errors, run, show, merge, sweeps."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from glee.api_keys import looks_like_key, refuse_secrets_in_config
from glee.backends.spec import EndpointSpec
from glee.cli import main
from glee.config import CONFIG_DIR, expand_seats, play_named_game, validate
from glee.engine import plan
from glee.engine.specs import PlayerSpec
from glee.errors import ConfigError
from glee.players.base import Sampling
from tests.support.calls_db import MODEL_X, NEGOTIATION, REJECTION, calls_database

GLEE = [str(Path(sys.executable).parent / "glee")]
"""The installed console script (make setup installs the project in editable mode)."""
SMOLLM2 = "SmolLM2-135M-Instruct@llamacpp"


def glee(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess (its own cwd, so Hydra's outputs/ land in a temporary dir)."""
    return subprocess.run([*GLEE, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def games_in(db: Path) -> list[tuple[str, str, str, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT game_id, family, player_1, player_2 FROM games ORDER BY game_id").fetchall()
    return [tuple(r) for r in rows]  # type: ignore[misc]


# --- composition -----------------------------------------------------------------------------


def test_seat_shorthands_become_hydra_overrides() -> None:
    assert expand_seats(["player_1=smollm2", "player_2=spe,random", "n_games=2"]) == [
        "player@player_1=smollm2",
        "player@player_2=spe,random",
        "n_games=2",
    ]
    assert expand_seats(["player_1.temperature=0.7", "player_2.model=x.gguf", "player_1.max_attempts=2"]) == [
        "player_1.sampling.temperature=0.7",
        "player_2.endpoint.model=x.gguf",
        "player_1.max_attempts=2",
    ]


def test_overrides_reach_the_run_config(tmp_path: Path) -> None:
    config = validate(
        expand_seats(
            [
                "experiment=single",
                "game=negotiation",
                "game.max_rounds=10",
                "player_1=smollm2",
                "player_1.temperature=0.7",
                "player_1.sampling.max_tokens=99",
                "player_2=random",
                "n_games=3",
                "seed=7",
                f"db={tmp_path / 'x.duckdb'}",
            ]
        )
    )
    assert config.experiment == "single"
    assert (config.n_games, config.seed, config.db) == (3, 7, tmp_path / "x.duckdb")
    [(p1, p2)] = config.pairs
    assert p1.label() == SMOLLM2 and p2.label() == "baseline:random"
    assert (p1.sampling.temperature, p1.sampling.max_tokens) == (0.7, 99)
    specs = plan(config)
    assert len(specs) == 3
    assert {s.family for s in specs} == {"negotiation"}
    assert {s.params_json()["max_rounds"] for s in specs} == {10}


def test_a_grid_expands_over_the_game_and_keeps_its_other_parameters() -> None:
    config = validate(["experiment=single", "grid={delta_1:[0.8,0.9,1.0]}", "game.max_rounds=5"])
    specs = plan(config)
    assert sorted(s.params_json()["delta_1"] for s in specs) == [0.8, 0.9, 1.0]
    assert {s.params_json()["max_rounds"] for s in specs} == {5}


@pytest.mark.parametrize(
    ("experiment", "games"),
    [("paper_bargaining", 384), ("paper_negotiation", 576), ("paper_persuasion", 360), ("paper", 1320)],
)
def test_paper_experiments_plan_every_configuration(experiment: str, games: int) -> None:
    specs = plan(validate([f"experiment={experiment}", "player@player_1=spe", "player@player_2=random"]))
    assert len(specs) == games
    assert len({s.game_id for s in specs}) == games
    assert {(s.player_1.label(), s.player_2.label()) for s in specs} == {("baseline:spe", "baseline:random")}


def test_paper_with_both_seatings_and_replicates_multiplies() -> None:
    config = validate(
        ["experiment=paper", "player@player_1=spe", "player@player_2=fair", "swap_seats=true", "n_games=2"]
    )
    assert len(plan(config)) == 1320 * 2 * 2


def test_the_default_run_is_the_demo() -> None:
    config = validate([])
    specs = plan(config)
    assert config.experiment == "demo"
    seatings = {(s.player_1.label(), s.player_2.label()) for s in specs}
    assert seatings == {(SMOLLM2, "baseline:spe"), ("baseline:spe", SMOLLM2), (SMOLLM2, SMOLLM2)}
    for family in ("bargaining", "negotiation", "persuasion"):
        configs = {tuple(sorted(s.params_json().items())) for s in specs if s.family == family}
        assert len(configs) == 2, family
    assert len(specs) == 6 * 3
    assert max(s.params_json().get("max_rounds", s.params_json().get("rounds", 0)) for s in specs) <= 4


def test_naming_a_game_plays_that_game_instead_of_the_demo(tmp_path: Path) -> None:
    assert play_named_game(["player_1=spe"]) == ["player_1=spe"]  # nothing named: the demo
    assert play_named_game(["game=negotiation"]) == ["game=negotiation", "experiment=single"]
    assert play_named_game(["grid=paper"]) == ["grid=paper", "experiment=single"]
    assert play_named_game(["experiment=demo", "game.max_rounds=5"]) == ["experiment=demo", "game.max_rounds=5"]
    db = tmp_path / "x.duckdb"
    args = ["game=negotiation", "game.max_rounds=3", "player_1=spe", "player_2=fair", f"db={db}", "progress=false"]
    result = glee("run", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [g[1:] for g in games_in(db)] == [("negotiation", "baseline:spe", "baseline:fair")]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT experiment FROM runs").fetchall() == [("single",)]
    grid = glee("run", "grid={max_rounds:[2,3]}", "player_1=spe", "player_2=fair", f"db={db}", cwd=tmp_path)
    assert grid.returncode == 0, grid.stderr
    assert len(games_in(db)) == 3  # bargaining, the default game, over the grid


def test_naming_a_seat_plays_it_instead_of_the_experiment_pairs() -> None:
    config = validate(expand_seats(["player_1=random", "player_2=fair"]))
    assert {(a.label(), b.label()) for a, b in config.pairs} == {("baseline:random", "baseline:fair")}
    specs = plan(config)  # the demo's six configurations, and its swap_seats still holds
    assert len(specs) == 12
    assert {(s.player_1.label(), s.player_2.label()) for s in specs} == {
        ("baseline:random", "baseline:fair"),
        ("baseline:fair", "baseline:random"),
    }


def test_pairs_name_players_of_the_group() -> None:
    config = validate(["experiment=single", "pairs=[[spe,random],[fair,qwen2.5-7b-instruct]]"])
    labels = [(a.label(), b.label()) for a, b in config.pairs]
    assert labels == [("baseline:spe", "baseline:random"), ("baseline:fair", "Qwen2.5-7B-Instruct@vllm")]


def test_example_players_carry_their_endpoints() -> None:
    gpt = validate(expand_seats(["experiment=single", "player_1=gpt-4o-mini"])).pairs[0][0]
    assert gpt.endpoint is not None
    assert (gpt.endpoint.backend, gpt.endpoint.model, gpt.endpoint.api_key_env) == (
        "openai",
        "gpt-4o-mini",
        "OPENAI_API_KEY",
    )
    qwen = validate(expand_seats(["experiment=single", "player_1=qwen2.5-7b-instruct"])).pairs[0][0]
    assert qwen.endpoint is not None and qwen.endpoint.backend == "vllm"
    assert qwen.endpoint.engine_args["tensor_parallel_size"] == 1
    smol = validate(expand_seats(["experiment=single", "player_1=smollm2"])).pairs[0][0]
    assert smol.endpoint is not None and (smol.endpoint.backend, smol.endpoint.base_url) == ("llamacpp", None)


def test_defaults_files_list_every_field_of_the_models() -> None:
    """Every field must be in the defaults files, or Hydra refuses to override it."""
    player = yaml.safe_load((CONFIG_DIR / "player_defaults.yaml").read_text())
    endpoint = yaml.safe_load((CONFIG_DIR / "endpoint_defaults.yaml").read_text())
    assert set(player) == set(PlayerSpec.model_fields)
    assert PlayerSpec.model_validate(player) == PlayerSpec()
    assert set(endpoint) == set(EndpointSpec.model_fields)
    assert EndpointSpec.model_validate(endpoint) == EndpointSpec()


def test_game_configs_are_the_reference_configurations() -> None:
    from glee.games import registry

    for family in ("bargaining", "negotiation", "persuasion"):  # glee's own families ship a commented yaml
        params = registry.family(family).params
        data = yaml.safe_load((CONFIG_DIR / "game" / f"{family}.yaml").read_text())
        assert data.pop("family") == family
        assert set(data) == set(params.model_fields)
        assert params.parse(data) == params.parse({})


def test_a_config_dir_of_ones_own_adds_players(tmp_path: Path) -> None:
    mine = tmp_path / "my_configs" / "player"
    mine.mkdir(parents=True)
    (mine / "house.yaml").write_text(
        "defaults: [/player_defaults@_here_, _self_]\nkind: baseline\nstrategy: fair\nname: house-fair\n"
    )
    config = validate(["experiment=single", "pairs=[[house,spe]]"], config_dir=tmp_path / "my_configs")
    assert [(a.label(), b.label()) for a, b in config.pairs] == [("house-fair", "baseline:spe")]
    db = tmp_path / "mine.duckdb"
    result = glee(
        "run",
        "--config-dir",
        str(tmp_path / "my_configs"),
        "experiment=single",
        "player_1=house",
        "player_2=random",
        "progress=false",
        f"db={db}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert [g[2:] for g in games_in(db)] == [("house-fair", "baseline:random")]


# --- errors ----------------------------------------------------------------------------------

SECRET = "sk-proj-Zq8vN3xLw0pR7tY2uK5mB9cD"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["game.detla_1=0.9"], ["game.detla_1", "unknown key", "delta_1", "max_rounds"]),
        (["experiment=single", "game.delta_1=1.3"], ["game.delta_1", "1.3", "<= 1"]),
        (["n_games=0"], ["n_games", "0", ">= 1"]),
        (["player_1=gpt5"], ["player_1", "'gpt5'", "smollm2", "spe", "gpt-4o-mini"]),
        (["experiment=paper_bargainin"], ["experiment", "'paper_bargainin'", "paper_bargaining", "demo"]),
        (["game=chess"], ["game", "'chess'", "bargaining", "negotiation", "persuasion"]),
        (["experimnt=demo"], ["experimnt", "unknown key", "experiment", "n_games"]),
        (["player_1.temprature=1"], ["player_1.temprature", "unknown key", "sampling"]),
        (["hydra/launcher=jobib"], ["hydra/launcher", "'jobib'", "joblib"]),
        (["pairs=[[spe,gpt6]]"], ["pairs.0.1", "'gpt6'", "smollm2"]),
        (["grid={detla:[1]}", "experiment=single"], ["grid.detla", "delta_1"]),
        (["experiment=demo", "game.max_rounds=5"], ["game", "demo", "games"]),  # the demo lists its own games
        (["n_games=="], ["n_games=="]),
        (["player_1=spe", "player_1.temperature=0.7"], ["player_1.sampling.temperature", "0.7", "'spe'", "strategy"]),
        (["player_2=fair", "player_2.max_attempts=5"], ["player_2.max_attempts", "5", "'fair'", "baseline"]),
        (["-m", "player_1=spe,random", "player_1.seed=3"], ["player_1.sampling.seed", "3", "'spe'"]),
        ([f"player_1.api_key={SECRET}"], ["player_1.api_key", "api_key_env"]),
        ([f"player_1.name={SECRET}"], ["player_1.name", "api_key_env"]),
        (["player_1=gpt-4o-mini", "player_1.endpoint.token=abc"], ["player_1.endpoint.token", "api_key_env"]),
        (["player_1=gpt-4o-mini", "player_1.base_url=aB3dE5gH7jK9mN1pQ3rS5tU7vW9xY1zC2"], ["base_url", "api_key_env"]),
    ],
)
def test_a_bad_override_is_one_line_naming_it(
    args: list[str],
    expected: list[str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", *args]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("glee: error: "), err
    for word in expected:
        assert word in err, (word, err)
    assert SECRET not in err
    assert "Traceback" not in err
    assert not (tmp_path / "outputs").exists() and not (tmp_path / "multirun").exists()  # Hydra wrote nothing


def test_errors_exit_non_zero_from_the_real_command(tmp_path: Path) -> None:
    result = glee("run", "game.detla_1=0.9", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "game.detla_1" in result.stderr and "delta_1" in result.stderr


def test_a_bad_job_of_a_sweep_is_refused_before_any_job_runs(tmp_path: Path) -> None:
    result = glee("run", "-m", "experiment=single", "n_games=1,0", f"db={tmp_path / 'x.duckdb'}", cwd=tmp_path)
    assert result.returncode == 2
    assert "n_games: got 0" in result.stderr
    assert not (tmp_path / "multirun").exists()


def test_key_like_values_are_found_in_configs() -> None:
    with pytest.raises(ConfigError, match=r"player_1\.endpoint\.api_key: .*api_key_env"):
        refuse_secrets_in_config({"player_1": {"endpoint": {"api_key": "not-even-random"}}})
    with pytest.raises(ConfigError, match=r"games\.0\.fixed\.name_1"):
        refuse_secrets_in_config({"games": [{"fixed": {"name_1": SECRET}}]})
    # What is not a key passes: variable names, model names, paths, sizes.
    refuse_secrets_in_config(
        {
            "api_key_env": "OPENAI_API_KEY",
            "model": "Qwen/Qwen2.5-7B-Instruct",
            "path": "/models/DeepSeek-R1-Distill-Qwen-32B-Instruct-Q4_K_M.gguf",
            "sampling": {"max_tokens": 256},
        }
    )
    assert looks_like_key("hf_abcdefghijklmnopqrstuvwxyz12")
    assert not looks_like_key("SmolLM2-135M-Instruct")
    assert not looks_like_key("0123456789abcdef")  # a game id (16 hex digits) is no key
    assert looks_like_key("0123456789abcdef0123456789abcdef")  # 32 hex digits: an Azure key's shape


# --- run, show, merge ------------------------------------------------------------------------


def test_run_prints_a_table_and_a_query_then_show_prints_a_transcript(tmp_path: Path) -> None:
    db = tmp_path / "data" / "glee.duckdb"
    args = ["experiment=single", "grid={max_rounds:[1,6]}", "player_1=spe", "player_2=random", "progress=false"]
    result = glee("run", *args, "game=negotiation", f"db={db}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "negotiation" in result.stdout
    for header in ("games", "agreement", "self-gain", "efficiency", "fairness"):
        assert header in result.stdout
    assert "baseline:spe" in result.stdout and "baseline:random" in result.stdout
    assert "SELECT" in result.stdout and str(db) in result.stdout
    games = games_in(db)
    assert len(games) == 2 and {g[1:] for g in games} == {("negotiation", "baseline:spe", "baseline:random")}

    again = glee("run", *args, "game=negotiation", f"db={db}", cwd=tmp_path)  # resume: nothing left to play
    assert again.returncode == 0 and len(games_in(db)) == 2
    assert "skipped (already done) 2" in again.stderr

    shown = glee("show", games[0][0], "--db", str(db), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert games[0][0] in text and "negotiation" in text
    assert "player 1 (Alice): baseline:spe" in text and "player 2 (Bob): baseline:random" in text
    assert "round   1  Alice" in text and "propose" in text and "price=" in text
    assert "outcome:" in text and "efficiency=" in text

    missing = glee("show", "0000000000000000", "--db", str(db), cwd=tmp_path)
    assert missing.returncode == 2 and "0000000000000000" in missing.stderr and "Traceback" not in missing.stderr


def test_show_calls_lists_each_call_with_tokens_latency_finish_reason_and_rejection(tmp_path: Path) -> None:
    db = calls_database(tmp_path / "calls.duckdb")
    shown = glee("show", NEGOTIATION, "--db", str(db), "--calls", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.split("model calls (3):\n", 1)[1].splitlines()
    header, rows = lines[0], [line.split() for line in lines[1:]]
    for column in ("turn", "seat", "agent", "attempt", "prompt tokens", "latency ms", "finish", "rejection"):
        assert column in header
    # turn, seat, agent, attempt, prompt, completion, cached tokens, latency ms, finish, rejection
    assert rows[0][:9] == ["1", "1", MODEL_X, "1", "101", "11", "0", "250", "length"]
    assert " ".join(rows[0][9:]) == REJECTION
    assert rows[1][:9] == ["1", "1", MODEL_X, "2", "102", "12", "90", "500", "stop"] and rows[1][9:] == ["-"]
    assert rows[2][0] == "4" and len(rows) == 3
    plain = glee("show", NEGOTIATION, "--db", str(db), cwd=tmp_path)
    assert plain.returncode == 0 and "model calls" not in plain.stdout
    assert f"rejected attempt 1: {REJECTION}" in plain.stdout  # the transcript itself names rejections


def test_a_joblib_sweep_writes_one_shard_per_job_and_merge_drops_duplicates(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    result = glee(
        "run",
        "-m",
        "experiment=single",
        "game=bargaining",
        "game.max_rounds=4",
        "player_1=spe",
        "player_2=spe,random,fair",
        "grid={delta_1:[0.8,1.0]}",
        "progress=false",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    shards = sorted(sweep.glob("*/shard.duckdb"))
    assert len(shards) == 3
    per_shard = [games_in(s) for s in shards]
    assert all(len(g) == 2 for g in per_shard)
    assert f"glee merge {sweep}" in result.stdout
    assert not (tmp_path / "data").exists()  # jobs never write the shared database

    out = tmp_path / "merged.duckdb"
    merged = glee("merge", str(sweep), "--out", str(out), cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert "6 games added" in merged.stdout
    assert sorted(games_in(out)) == sorted(g for shard in per_shard for g in shard)

    twice = glee("merge", str(shards[0]), str(shards[1]), "--out", str(out), cwd=tmp_path)
    assert twice.returncode == 0 and "4 duplicates dropped" in twice.stdout
    assert len(games_in(out)) == 6

    bad = glee("merge", str(tmp_path / "nowhere"), "--out", str(out), cwd=tmp_path)
    assert bad.returncode == 2 and "nowhere" in bad.stderr and "Traceback" not in bad.stderr


def test_the_paper_bargaining_example_plays_384_games_in_one_process(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    args = ["experiment=paper_bargaining", "player_1=spe", "player_2=spe", "n_games=1", f"db={db}", "progress=false"]
    result = glee("run", *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    games = games_in(db)
    assert len(games) == 384 and {g[1:] for g in games} == {("bargaining", "baseline:spe", "baseline:spe")}
    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.execute("SELECT count(*), any_value(experiment) FROM runs").fetchone()
        statuses = con.execute("SELECT DISTINCT status FROM games").fetchall()
    assert runs == (1, "paper_bargaining")
    assert statuses == [("completed",)]


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local", "submitit_slurm"])
def test_the_launchers_compose(launcher: str) -> None:
    """The sweep launchers are installed and compose with glee's config (slurm itself needs a cluster)."""
    from glee.config import compose_config

    cfg = compose_config("run", [f"hydra/launcher={launcher}"], hydra_node=True)
    assert launcher.split("_")[0] in cfg.hydra.launcher._target_.lower()


# --- the real model --------------------------------------------------------------------------


@pytest.mark.llm
def test_smollm2_plays_a_tiny_game_through_the_command(tmp_path: Path) -> None:
    """glee starts its own llama.cpp server for the smollm2 player, plays, and stops it."""
    db = tmp_path / "llm.duckdb"
    result = glee(
        "run",
        "experiment=single",
        "game=bargaining",
        "game.max_rounds=1",
        "game.messages_allowed=false",
        "player_1=smollm2",
        "player_2=spe",
        "progress=false",
        f"db={db}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    [(gid, family, p1, p2)] = games_in(db)
    assert (family, p1, p2) == ("bargaining", SMOLLM2, "baseline:spe")
    with duckdb.connect(str(db), read_only=True) as con:
        calls = con.execute("SELECT count(*), count(response) FROM llm_calls WHERE game_id = ?", [gid]).fetchone()
        status = con.execute("SELECT status FROM games").fetchone()
        run_row = con.execute("SELECT versions, overrides FROM runs").fetchone()
    assert calls is not None and calls[0] >= 1 and calls[1] >= 1
    assert run_row is not None
    [server] = json.loads(run_row[0])["servers"]  # the server glee started, and the GGUF it served
    assert (server["backend"], server["package"]) == ("llamacpp", "llama-cpp-python")
    assert server["version"] and server["model"].endswith(".gguf") and len(server["model_sha256"]) == 64
    assert "player@player_1=smollm2" in json.loads(run_row[1])
    assert status is not None and status[0] in ("completed", "forfeit")
    assert SMOLLM2 in result.stdout


def test_import_glee_then_report(tmp_path: Path) -> None:
    """The six original GLEE games in tests/fixtures go in once, and the report covers them."""
    samples = Path(__file__).parent / "fixtures" / "glee_samples"
    db = tmp_path / "imported.duckdb"
    first = glee("import-glee", str(samples), "--db", str(db), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "imported 6 of 6" in first.stdout
    again = glee("import-glee", str(samples), "--db", str(db), cwd=tmp_path)
    assert "imported 0 of 6" in again.stdout and "6 already there" in again.stdout
    assert len(games_in(db)) == 6

    out = tmp_path / "report.html"
    report = glee("report", "--db", str(db), "--out", str(out), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "bargaining" in page

    missing = glee("import-glee", str(tmp_path / "nowhere"), "--db", str(db), cwd=tmp_path)
    assert missing.returncode == 2 and "nowhere" in missing.stderr and "Traceback" not in missing.stderr


# --- glee's own help, -m --cfg, show by prefix, baselines take no sampling -------------------


def test_run_help_is_glee_s_own(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Hydra" not in out.replace("--hydra-help      Hydra's own options", "")
    assert out.startswith("usage: glee run")
    assert "paper_bargaining" in out and "smollm2" in out and "negotiation" in out and "-m, --multirun" in out
    assert "study" not in out  # a serve-web config, not a group of glee run


def test_a_sweep_with_cfg_prints_every_job_and_plays_nothing(tmp_path: Path) -> None:
    result = glee("run", "-m", "--cfg", "job", "player_1=spe,fair", "player_2=random", "game=negotiation", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    jobs = result.stdout.split("# job ")[1:]
    assert len(jobs) == 2 and "Traceback" not in result.stderr
    for job, strategy in zip(jobs, ("spe", "fair"), strict=True):
        printed = yaml.safe_load(job.split("\n", 1)[1])
        assert printed["player_1"]["strategy"] == strategy and printed["game"]["family"] == "negotiation"
        assert "hydra" not in printed
    assert not (tmp_path / "multirun").exists() and not (tmp_path / "data").exists()
    bad = glee("run", "-m", "--cfg", "job", "n_games=1,0", cwd=tmp_path)
    assert bad.returncode == 2 and "n_games" in bad.stderr and "Traceback" not in bad.stderr


def test_a_baseline_takes_no_sampling_in_any_spelling() -> None:
    with pytest.raises(ValueError, match="baseline"):
        PlayerSpec(kind="baseline", strategy="spe", sampling=Sampling(temperature=0.7))
    with pytest.raises(ConfigError, match=r"pairs\.0\.0\.sampling\.temperature: got 0\.7"):
        validate(["experiment=single", "pairs=[[{kind:baseline,strategy:spe,sampling:{temperature:0.7}},spe]]"])
    assert validate(expand_seats(["player_1=spe", "player_1.name=me"])).pairs[0][0].label() == "me"


def test_show_takes_a_unique_prefix_of_a_game_id(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    rounds = ",".join(str(n) for n in range(1, 18))  # 17 hex ids: two of them share a first digit
    args = [f"grid={{max_rounds:[{rounds}]}}", "player_1=spe", "player_2=fair", f"db={db}", "progress=false"]
    assert glee("run", *args, cwd=tmp_path).returncode == 0
    ids = [g[0] for g in games_in(db)]
    unique = next(i[:n] for n in range(1, 17) for i in ids if sum(j.startswith(i[:n]) for j in ids) == 1)
    shown = glee("show", unique, "--db", str(db), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    [full] = [i for i in ids if i.startswith(unique)]
    assert full in shown.stdout
    assert len(ids) == 17
    shared = next(i[:1] for i in ids if sum(j.startswith(i[:1]) for j in ids) > 1)
    ambiguous = glee("show", shared, "--db", str(db), cwd=tmp_path)
    assert ambiguous.returncode == 2 and f"{shared!r} is the start of more than one game" in ambiguous.stderr
    none = glee("show", "zz", "--db", str(db), cwd=tmp_path)
    assert none.returncode == 2 and "no game starts with 'zz'" in none.stderr
