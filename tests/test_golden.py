"""Golden transcripts (tests/fixtures/golden): what each seat is shown and what the rules play,
for fixed games of every family, must match the stored text, or the family's version must be
bumped and the files regenerated (tests/support/golden.py says how)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from glee.games import Outcome
from glee.games.bargaining import BargainingState
from glee.games.registry import BUILTIN as FAMILIES  # the golden files cover the families glee ships
from glee.prompts import bargaining as bargaining_text
from tests.support import golden
from tests.support.golden import COMMAND, Case, cases, problem, rendered
from tests.support.versions import set_version

CASES = [case for family in FAMILIES for case in cases(family)]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.family}/{c.name}" for c in CASES])
def test_golden_transcript(case: Case) -> None:
    problems = [p for layer, now in rendered(case).items() if (p := problem(case, layer, now)) is not None]
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def test_every_golden_file_belongs_to_a_case() -> None:
    expected = {golden.path(case, layer) for case in CASES for layer in rendered(case)}
    stored = set(golden.ROOT.rglob("*.txt"))
    assert stored == expected, f"stale: {sorted(stored - expected)}, missing: {sorted(expected - stored)}"
    assert {p.name for p in stored if p.parent.name == "bargaining"} >= {
        "stand-ins.prompts.txt",
        "stand-ins.turns.txt",
        "baselines.turns.txt",
    }


def test_the_stand_ins_render_every_kind_of_prompt() -> None:
    """The stand-in games show system prompts, turn messages, quoted opponent messages and re-asks."""
    text = rendered(cases("bargaining")[1])["prompts"]
    for marker in ("--- system ---", "--- user ---", "--- schema ---", "Your reply could not be used", "> or not."):
        assert marker in text
    forfeit = rendered(cases("negotiation")[3])["turns"]
    assert "status: forfeit" in forfeit and "(invalid)" in forfeit


def _dollars_as_usd(monkeypatch: pytest.MonkeyPatch) -> None:
    """A prompt edit: bargaining shows amounts as 'USD 10,000' instead of '$10,000'."""
    original = bargaining_text.money

    def usd(amount: float) -> str:
        return original(amount).replace("$", "USD ")

    monkeypatch.setattr(bargaining_text, "money", usd)


def test_a_prompt_edit_without_a_version_bump_fails_with_a_diff(monkeypatch: pytest.MonkeyPatch) -> None:
    case = cases("bargaining")[1]
    _dollars_as_usd(monkeypatch)
    now = rendered(case)
    report = problem(case, "prompts", now["prompts"])
    assert report is not None
    assert "--- tests/fixtures/golden/bargaining/stand-ins.prompts.txt (stored)" in report
    assert "\n-You are Alice. You and Bob bargain over how to divide $10,000." in report
    assert "\n+You are Alice. You and Bob bargain over how to divide USD 10,000." in report
    assert report.endswith(f"bump VERSION in glee/prompts/bargaining.py and regenerate with `{COMMAND} bargaining`")
    # The replies do not depend on the text: the rules-level transcript is unchanged.
    assert problem(case, "turns", now["turns"]) is None


def test_a_bumped_prompt_version_asks_for_regeneration(monkeypatch: pytest.MonkeyPatch) -> None:
    case = cases("bargaining")[1]
    old = golden.version("bargaining", "prompts")
    assert f"made with VERSION {old} of glee/prompts/bargaining.py" in golden.path(case, "prompts").read_text()
    set_version(monkeypatch, "bargaining", "prompts", old + 1)
    unchanged = problem(case, "prompts", rendered(case)["prompts"])
    assert unchanged is not None and unchanged.startswith(
        f"tests/fixtures/golden/bargaining/stand-ins.prompts.txt was made with VERSION {old} of "
        f"glee/prompts/bargaining.py, which is now {old + 1}: regenerate it with"
    )
    _dollars_as_usd(monkeypatch)
    edited = problem(case, "prompts", rendered(case)["prompts"])
    assert edited is not None and "\n+You are Alice." in edited
    assert edited.endswith(
        f"VERSION in glee/prompts/bargaining.py was bumped ({old} -> {old + 1}): regenerate with `{COMMAND} bargaining`"
    )
    # Other families' files are not affected by bargaining's version.
    other = cases("negotiation")[1]
    assert all(problem(other, layer, now) is None for layer, now in rendered(other).items())


def test_a_rules_change_without_a_version_bump_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = BargainingState.outcome

    def halved_fairness(self: BargainingState) -> Outcome:
        result = outcome(self)
        return result.model_copy(update={"fairness": None if result.fairness is None else result.fairness / 2})

    monkeypatch.setattr(BargainingState, "outcome", halved_fairness)
    case = cases("bargaining")[0]
    report = problem(case, "turns", rendered(case)["turns"])
    assert report is not None and '\n-  "fairness": ' in report and '\n+  "fairness": ' in report
    assert report.endswith(f"bump VERSION in glee/games/bargaining.py and regenerate with `{COMMAND} bargaining`")


def test_write_then_check_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setattr(golden, "ROOT", tmp_path / "tests" / "fixtures" / "golden")
    assert golden.main(["negotiation"]) == 1  # nothing stored yet
    assert "tests/fixtures/golden/negotiation/stand-ins.prompts.txt is missing" in capsys.readouterr().err
    assert golden.main(["--write", "negotiation"]) == 0
    assert "wrote tests/fixtures/golden/negotiation/stand-ins.prompts.txt" in capsys.readouterr().out
    written = sorted(p.relative_to(golden.ROOT).as_posix() for p in golden.ROOT.rglob("*.txt"))
    assert written == sorted(
        p.relative_to(Path(__file__).parent / "fixtures" / "golden").as_posix()
        for p in (Path(__file__).parent / "fixtures" / "golden" / "negotiation").glob("*.txt")
    )
    assert golden.main(["negotiation"]) == 0
    assert golden.main(["--write", "negotiation"]) == 0 and capsys.readouterr().out == ""  # nothing to rewrite
