"""The family registry: every family has every piece, and a missing piece is one line naming it."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from glee.games import FamilyError, GameFamily, families, family, new_game, registry
from glee.games.bargaining import BargainingExtras, BargainingParams, BargainingState
from glee.games.base import Frozen
from glee.games.grids import paper_grid
from glee.players.baseline import STRATEGIES, Baselines, Theory, baselines
from glee.players.families import complete
from glee.prompts.registry import Renderer, renderer
from glee.store.schema import extra_columns
from tests.support.playout import play_baselines

GLEE = Path(__file__).resolve().parents[1] / "glee"


def test_every_registered_family_has_every_piece() -> None:
    names = complete()
    assert names[:3] == ("bargaining", "negotiation", "persuasion")
    assert "ultimatum" in names  # the plugin of tests/plugins, installed by make setup
    for name in names:
        declared = family(name)
        assert declared.params.family == name and declared.state.family == name
        assert paper_grid(name), name
        assert declared.version >= 1
        assert renderer(name).version >= 1
        assert set(baselines(name).strategies) >= set(STRATEGIES)
        # Every record a finished game keeps in its extras is a typed column of the family's view.
        for strategy in STRATEGIES:
            params = declared.params.parse(paper_grid(name)[0])
            state = asyncio.run(play_baselines(params, strategy, strategy, 0))
            extras = state.outcome().extras
            assert set(extras) <= set(extra_columns(name)), (name, strategy, extras)
            declared.extras.model_validate(extras)


def test_a_family_missing_a_piece_fails_at_declaration_in_one_line() -> None:
    with pytest.raises(FamilyError) as caught:
        GameFamily(
            name="bargaining",
            params=BargainingParams,
            state=BargainingState,
            extras=None,  # type: ignore[arg-type]
            grids={"paper": {}},
            version=1,
            roles=("first_proposer", "second_proposer"),
            bounds=family("bargaining").bounds,
        )
    assert str(caught.value) == "family 'bargaining': piece 'extras' is missing or wrong (got None)"
    with pytest.raises(FamilyError, match=r"^family 'bargaining': piece 'grids' is missing or wrong"):
        GameFamily(
            "bargaining",
            BargainingParams,
            BargainingState,
            BargainingExtras,
            {},
            1,
            ("a", "b"),
            family("bargaining").bounds,
        )
    with pytest.raises(FamilyError, match=r"^family 'x': piece 'baseline fair' is missing$"):
        Baselines("x", {"spe": object, "random": object}, baselines("bargaining").theory)  # type: ignore[dict-item]
    with pytest.raises(FamilyError, match=r"^family 'x': renderer piece 'version' is missing or wrong \(got 0\)$"):
        Renderer("x", str, lambda *a: None, 0)  # type: ignore[arg-type,return-value]


def test_a_family_without_renderer_or_baselines_fails_at_registry_completion(monkeypatch: pytest.MonkeyPatch) -> None:
    class LoneParams(BargainingParams):
        family = "lone"

    class LoneState(BargainingState):
        family = "lone"
        params: LoneParams

    class LoneExtras(Frozen):
        share_1: float | None = None

    lone = GameFamily(
        "lone", LoneParams, LoneState, LoneExtras, {"paper": {}}, 1, ("a", "b"), family("bargaining").bounds
    )
    monkeypatch.setitem(registry._FAMILIES, "lone", lone)
    assert "lone" in families()
    with pytest.raises(FamilyError) as caught:
        complete()
    assert str(caught.value) == "family 'lone': piece 'renderer' is missing (register one with register_renderer)"
    monkeypatch.setitem(
        __import__("glee.prompts.registry", fromlist=["_RENDERERS"])._RENDERERS,
        ("glee", "lone"),
        renderer("bargaining"),
    )
    with pytest.raises(FamilyError, match=r"^family 'lone': piece 'baselines' is missing"):
        complete()
    # and a game of it is still nothing the engine plays: plan() completes the registry first
    from glee.engine import plan
    from glee.engine.specs import GameSet, RunConfig

    with pytest.raises(FamilyError, match="'lone'"):
        plan(RunConfig(games=[GameSet(family="bargaining")]))
    assert new_game(LoneParams(), 0).family == "lone"


def test_theory_is_declared_on_the_scale_of_a_recorded_measure() -> None:
    for name in complete():
        theory = baselines(name).theory
        assert isinstance(theory, Theory) and theory.label


def test_no_file_under_glee_names_the_plugin_family() -> None:
    found = subprocess.run(["grep", "-rli", "ultimatum", str(GLEE)], capture_output=True, text=True, check=False)
    assert found.returncode == 1, found.stdout  # grep: 1 = no match
    assert (GLEE / "games" / "bargaining.py").is_file()  # the grep searched the real package


def test_an_entry_point_that_cannot_be_imported_is_left_out_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    ghost = EntryPoint(name="ghost", value="no_such_module_anywhere", group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [ghost])
    monkeypatch.setattr(registry, "_loaded", False)
    with pytest.warns(RuntimeWarning, match=r"^family 'ghost': entry point 'no_such_module_anywhere' cannot be imp"):
        assert "ghost" not in families()
    assert families()[:3] == ("bargaining", "negotiation", "persuasion")


def test_an_entry_point_that_registers_no_rules_fails_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    empty = EntryPoint(name="empty", value="glee.errors", group=registry.ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [empty])
    monkeypatch.setattr(registry, "_loaded", False)
    with pytest.raises(FamilyError) as caught:
        families()
    assert str(caught.value) == "family 'empty': entry point 'glee.errors' registered no rules (GameFamily)"
