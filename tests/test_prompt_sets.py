"""Prompt sets: a player's `prompts` is a registered, versioned set, part of every game id and of `runs`."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from glee.backends.spec import EndpointSpec
from glee.config import expand_seats, validate
from glee.engine.plan import plan
from glee.engine.specs import GameSet, PlayerSpec, RunConfig
from glee.errors import ConfigError
from glee.games import FamilyError
from glee.prompts import prompt_set_versions, prompt_sets
from glee.prompts import registry as prompts_registry
from glee.store import open_store
from tests.conftest import baseline
from tests.support import prompt_sets as prompt_sets_support

TINY = prompts_registry.PromptSet("tiny", "a test set that renders bargaining only")


@pytest.fixture
def tiny_set(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A registered set `tiny` with a bargaining renderer (glee's, under another name) and no other family."""
    prompts_registry.prompt_sets()  # load glee's sets first
    monkeypatch.setitem(prompts_registry._SETS, "tiny", TINY)
    borrowed = dataclasses.replace(prompts_registry.renderer("bargaining"), prompt_set="tiny", text_hash="t" * 16)
    monkeypatch.setitem(prompts_registry._RENDERERS, ("tiny", "bargaining"), borrowed)
    yield "tiny"


def llm(prompts: str = "glee", **options: object) -> PlayerSpec:
    return PlayerSpec(
        kind="llm",
        endpoint=EndpointSpec(backend="openai", model="m"),
        prompts=prompts,
        prompts_options=dict(options),
    )


def ids(player: PlayerSpec, family: str = "bargaining") -> dict[str, str]:
    config = RunConfig(games=[GameSet(family=family)], pairs=[(player, baseline("spe"))])
    return {s.game_id: s.family for s in plan(config)}


def test_glee_is_the_default_set_and_an_unknown_set_is_one_line_listing_the_sets() -> None:
    assert PlayerSpec().prompts == "glee" and prompt_sets()[0] == "glee"
    with pytest.raises(ConfigError) as caught:
        validate(expand_seats(["player_1=smollm2", "player_1.prompts=nonesuch"]))
    assert str(caught.value) == (
        "player_1.prompts: unknown prompt set; allowed: one of glee, original_information, or a folder of templates "
        "(got 'nonesuch')"
    )


def test_a_baseline_refuses_a_prompt_set_like_any_llm_setting(tiny_set: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate(expand_seats(["player_1=spe", f"player_1.prompts={tiny_set}"]))
    assert str(caught.value).startswith("player_1.prompts: got 'tiny', but player_1 is the baseline 'spe'")


def test_the_set_its_version_and_text_hash_are_in_the_game_id(tiny_set: str, monkeypatch: pytest.MonkeyPatch) -> None:
    glee_ids, tiny_ids = ids(llm()), ids(llm(tiny_set))
    assert len(glee_ids) == len(tiny_ids) == 1 and not set(glee_ids) & set(tiny_ids)
    identity = llm(tiny_set).identity("bargaining")["prompts"]
    assert identity == {"set": "tiny", "version": 1, "text": "t" * 16}
    # Another text under the same name and version is another game.
    retexted = dataclasses.replace(prompts_registry.renderer("bargaining", "tiny"), text_hash="u" * 16)
    monkeypatch.setitem(prompts_registry._RENDERERS, ("tiny", "bargaining"), retexted)
    assert not set(ids(llm(tiny_set))) & set(tiny_ids)
    # glee's own set hashes the source of the module that renders the family.
    source = Path(prompts_registry.__file__).with_name("bargaining.py").read_bytes()
    assert llm().identity("bargaining")["prompts"]["text"] == hashlib.sha256(source).hexdigest()[:16]
    # A baseline reads no prompts: its identity has none.
    assert "prompts" not in baseline("spe").identity("bargaining")


def test_a_set_without_a_family_fails_in_one_line_naming_both(tiny_set: str) -> None:
    with pytest.raises(FamilyError) as caught:
        ids(llm(tiny_set), family="negotiation")
    assert str(caught.value) == "prompt set 'tiny' has no renderer for family 'negotiation' (it renders: bargaining)"


def test_runs_record_every_sets_version_and_text_hash(tiny_set: str, tmp_path: Path) -> None:
    store = open_store(tmp_path / "runs.duckdb")
    store.begin_run("r1", {"experiment": "x"})
    row = store.con.execute("SELECT versions FROM runs WHERE run_id = 'r1'").fetchone()
    assert row is not None
    recorded = json.loads(row[0])["prompt_sets"]
    assert recorded == prompt_set_versions()
    assert recorded["tiny"] == {"bargaining": {"version": 1, "text": "t" * 16}}
    assert set(recorded["glee"]) >= {"bargaining", "negotiation", "persuasion"}
    store.close()


def test_a_named_sampling_profile_sets_every_sampling_field() -> None:
    config = validate(expand_seats(["player_1=smollm2", "player_1.sampling=original"]))
    sampling = config.pairs[0][0].sampling
    assert (sampling.temperature, sampling.top_p, sampling.max_tokens) == (0.5, 1.0, 300)
    # a field set after the profile wins
    config = validate(expand_seats(["player_1=smollm2", "player_1.sampling=original", "player_1.temperature=0.2"]))
    assert config.pairs[0][0].sampling.temperature == 0.2


# --- the shipped sets' text: fixtures side by side, and the facts table ----------------------------

_PLAYED: dict[str, Any] = {}


def _text(family: str, params: dict[str, Any], prompt_set: str, options: dict[str, Any], seat: int) -> str:
    key = json.dumps([family, params, prompt_set, options], sort_keys=True)
    if key not in _PLAYED:
        _PLAYED[key] = prompt_sets_support.play_with(family, params, prompt_set, options)
    return prompt_sets_support.seat_text(_PLAYED[key], seat)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "row", prompt_sets_support.facts(), ids=lambda r: f"{r['family']}-{r['seat']}-{r['fact'][:40]}"
)
def test_each_fact_of_the_table_is_told_or_absent_as_it_says(row: dict[str, Any]) -> None:
    for name in ("glee", "original_information"):
        options = row.get("options", {}) if name == "original_information" else {}
        text = _text(row["family"], row["params"], name, options, row["seat"])
        found = re.search(row["probe"][name], text)
        if row[name] == "told":
            assert found, f"{name}: {row['fact']!r} should be told ({row['probe'][name]!r} not found)"
        else:
            assert row[name] == "not told"
            assert not found, f"{name}: {row['fact']!r} should not be told, found {found.group()!r}"


def test_the_games_md_table_is_the_facts_table() -> None:
    games_md = (Path(__file__).resolve().parents[1] / "glee" / "GAMES.md").read_text()
    assert prompt_sets_support.facts_table() in games_md


def test_the_rendered_prompts_of_both_sets_match_their_fixtures() -> None:
    stale = []
    for family, cases in prompt_sets_support.CASES.items():
        for case in cases:
            file = prompt_sets_support.path(family, case)
            if not file.exists() or file.read_text() != prompt_sets_support.render(family, case):
                stale.append(str(file.relative_to(file.parents[3])))
    assert not stale, f"{stale} differ from the rendered prompts: regenerate with `{prompt_sets_support.COMMAND}`"


def test_original_information_answers_in_free_text_and_glee_under_a_schema() -> None:
    played = prompt_sets_support.play_with("negotiation", {}, "original_information")
    assert all(schema is None for stand_in in played.values() for schema in stand_in.endpoint.schemas)
    played = prompt_sets_support.play_with("negotiation", {}, "glee")
    assert all(schema is not None for stand_in in played.values() for schema in stand_in.endpoint.schemas)
    # The original's field order: the message before the price.
    text = prompt_sets_support.seat_text(prompt_sets_support.play_with("negotiation", {}, "original_information"), 1)
    assert '{"message": "<your message to Bob>", "price":' in text


# --- template folder sets --------------------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[1] / "glee" / "configs" / "prompt_templates" / "plain"


def _copy_example(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(EXAMPLE, folder)
    spec = folder / "set.yaml"
    spec.write_text(spec.read_text().replace("name: plain", f"name: {name}"))
    return folder


def test_a_template_folder_is_a_prompt_set_with_its_own_words_and_quoted_opponent_text() -> None:
    played = prompt_sets_support.play_with("bargaining", {"max_rounds": 4}, str(EXAMPLE))
    alice, bob = (prompt_sets_support.seat_text(played, s) for s in (1, 2))  # type: ignore[arg-type]
    assert alice.startswith("You are Alice. You and Bob split $10,000.")
    assert "After 4 rejected offers nobody gets anything." in alice
    # The opponent's message went through glee's cleaning and quoting: every line of it is quoted.
    assert 'Alice wrote:\n> Alice, round 1: "my last word"\n> or not.' in bob
    # The set is identified by its set.yaml name, version and a hash of its files.
    spec = llm(str(EXAMPLE))
    files = sorted(p for p in EXAMPLE.rglob("*") if p.suffix == ".j2" or p.name == "set.yaml")
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(EXAMPLE)).encode() + b"\0" + file.read_bytes() + b"\0")
    assert spec.identity("bargaining")["prompts"] == {"set": "plain", "version": 1, "text": digest.hexdigest()[:16]}


def test_an_edited_template_is_another_set_text_and_another_game(tmp_path: Path) -> None:
    folder = _copy_example(tmp_path, "edited")
    before = llm(str(folder)).identity("bargaining")["prompts"]["text"]
    template = folder / "bargaining" / "respond.j2"
    template.write_text(template.read_text().replace("offers you", "proposes that you get"))
    again = _copy_example(tmp_path / "second", "edited2")
    (again / "bargaining" / "respond.j2").write_text(template.read_text())
    edited = llm(str(again)).identity("bargaining")["prompts"]["text"]
    assert before != edited


@pytest.mark.parametrize(
    ("file", "edit", "message"),
    [
        (
            "bargaining/respond.j2",
            lambda text: text + "\n{{ nonesuch }}",
            "template bargaining/respond.j2 uses an unknown variable: 'nonesuch' is undefined; known: ",
        ),
        ("negotiation/propose.j2", None, "template negotiation/propose.j2 is missing"),
        (
            "persuasion/buyer_decision.j2",
            lambda text: text.replace("quote(other_name", "attr('_cleaned') | string | quote(other_name", 1),
            "template persuasion/buyer_decision.j2: access to attribute '_cleaned' of 'Untrusted' object is unsafe",
        ),
        ("bargaining/system.j2", lambda text: text + "\n{% if %}", "template bargaining/system.j2, line "),
    ],
    ids=["unknown-variable", "missing-template", "raw-opponent-text", "syntax-error"],
)
def test_a_broken_template_fails_at_load_in_one_line_naming_the_template(
    tmp_path: Path, file: str, edit: Any, message: str
) -> None:
    folder = _copy_example(tmp_path, f"broken-{file.replace('/', '-').removesuffix('.j2')}")
    target = folder / file
    if edit is None:
        target.unlink()
    else:
        target.write_text(edit(target.read_text()))
    with pytest.raises(ConfigError) as caught:
        validate(expand_seats(["player_1=smollm2", f"player_1.prompts={folder}"]))
    line = str(caught.value)
    assert "\n" not in line and line.startswith(f"player_1.prompts: {message}"), line


def test_the_example_folder_plays_end_to_end_through_the_cli_config(tmp_path: Path) -> None:
    config = validate(
        expand_seats(["player_1=smollm2", f"player_1.prompts={EXAMPLE}", "experiment=single", "game=negotiation"])
    )
    spec = plan(config)[0]
    assert spec.player_1.prompts == str(EXAMPLE)
    assert spec.player_1.identity(spec.family)["prompts"]["set"] == "plain"


# --- end to end: the command, the real llama.cpp server and SmolLM2 --------------------------------


@pytest.mark.llm
def test_glee_run_plays_original_information_and_a_template_folder_against_smollm2(tmp_path: Path) -> None:
    db = tmp_path / "sets.duckdb"
    glee = Path(sys.executable).parent / "glee"
    result = subprocess.run(
        [
            str(glee),
            "run",
            "experiment=single",
            "game=negotiation",
            "game.max_rounds=1",
            "game.messages_allowed=false",
            # The seller answers under a schema (the example folder's answer mode), so the game reaches the
            # buyer whatever the model writes; the buyer answers in free text and may forfeit.
            "player_1=smollm2",
            f"player_1.prompts={EXAMPLE}",
            "player_2=smollm2",
            "player_2.prompts=original_information",
            "player_2.sampling=original",
            "progress=false",
            f"db={db}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(db), read_only=True) as con:
        [(gid, status, spec)] = con.execute("SELECT game_id, status, spec FROM games").fetchall()
        calls = con.execute("SELECT seat, request FROM llm_calls ORDER BY turn, attempt").fetchall()
        row = con.execute("SELECT versions FROM runs").fetchone()
    systems: dict[int, str] = {}
    for seat, request in calls:
        systems.setdefault(seat, json.loads(request)[0]["content"])  # a seat's first call starts with its system prompt
    assert row is not None
    versions = row[0]
    assert status in ("completed", "forfeit")
    played = json.loads(spec)
    assert played["player_2"]["prompts"] == "original_information"
    assert played["player_2"]["prompts_options"] == {"reveal_discount_reminder": True}
    assert played["player_2"]["sampling"]["temperature"] == 0.5
    assert played["player_1"]["prompts"] == str(EXAMPLE)
    # Each seat was sent its own set's words.
    assert systems[1].startswith("You are Alice, the seller. The product is worth $10,000 to you.")
    assert "Your aim is to get the product while keeping as much of your money as you can." in systems[2]
    # The run records every set it knew, with version and text hash, the template folder's by its name.
    recorded = json.loads(versions)["prompt_sets"]
    assert recorded["original_information"]["negotiation"]["version"] == 1
    template = llm(str(EXAMPLE)).identity("negotiation")["prompts"]
    assert recorded["plain"]["negotiation"] == {"version": template["version"], "text": template["text"]}
    assert gid == plan_ids_of(played)


def plan_ids_of(spec: dict[str, Any]) -> str:
    """The id the plan gives the stored spec: the same game, so a second run would skip it."""
    from glee.engine.specs import GameSpec

    stored = GameSpec.model_validate(spec)
    return GameSpec.create(stored.family, stored.params, stored.player_1, stored.player_2, stored.replicate).game_id


# --- people read a set too ------------------------------------------------------------------------


def test_a_person_reads_the_set_named_for_them_in_glee_play_and_in_a_study(tmp_path: Path) -> None:
    from glee.play.config import StudyConfig, play_config
    from glee.play.session import game_spec, opening_rules

    chosen = play_config(["game=negotiation", "seat=2", "prompts=original_information"])
    spec = game_spec(chosen.seating, "ann", 0, set())
    assert spec.player_2.kind == "human" and spec.player_2.prompts == "original_information"
    rules = opening_rules(spec, 2)
    assert "Your aim is to get the product while keeping as much of your money as you can." in rules
    assert "Answer with one JSON object" not in rules  # a person answers field by field
    # The default is glee's own words, and the set is part of the person's game id.
    plain = play_config(["game=negotiation", "seat=2"])
    assert plain.seating.prompts == "glee"
    assert game_spec(plain.seating, "ann", 0, set()).game_id != spec.game_id
    study = StudyConfig.model_validate({"games": [{"family": "bargaining", "prompts": "original_information"}]})
    assert study.seatings()[0].prompts == "original_information"
    with pytest.raises(ConfigError) as caught:
        StudyConfig.model_validate({"games": [{"family": "bargaining", "prompts": "nope"}]}).seatings()
    assert str(caught.value).startswith("games.0.prompts: unknown prompt set; allowed: one of glee")
