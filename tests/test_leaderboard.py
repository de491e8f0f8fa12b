"""The leaderboard: agents ranked by Bradley–Terry strength next to their metrics per role, in the
report and as JSON from `glee view`'s API."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from glee.analysis.frames import distinct_transcripts, load_games, seat_frame
from glee.analysis.leaderboard import leaderboard, leaderboards
from glee.analysis.report import write_report
from glee.engine.scheduler import run
from glee.engine.specs import PlayerSpec
from glee.errors import GleeError
from tests.conftest import baseline, small_config
from tests.support.loopback import free_port
from tests.test_web import GLEE

AGENT = PlayerSpec(kind="sdk", strategy=f"{Path(__file__).parent / 'agents' / 'steady.py'}:strategy")


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("leaderboard") / "lb.duckdb"
    pairs = [(AGENT, baseline("spe")), (AGENT, baseline("random")), (baseline("fair"), baseline("random"))]
    summary = run(small_config(db, pairs, n_games=2, swap_seats=True))
    assert summary.completed == summary.planned
    return db


def test_agents_are_ranked_by_strength_with_their_metrics_per_role(played: Path) -> None:
    games = load_games(played)
    seats = seat_frame(games)
    board = leaderboard(games, seats, "negotiation")
    assert list(board["rank"]) == list(range(1, len(board) + 1))
    assert list(board["strength"]) == sorted(board["strength"], reverse=True)
    assert set(board["agent"]) == {"sdk:strategy", "baseline:spe", "baseline:random", "baseline:fair"}
    assert dict(zip(board["agent"], board["competition"], strict=True))["sdk:strategy"] == True  # noqa: E712
    assert int(board["competition"].sum()) == 1
    # Games count once per distinct transcript: copies of a deterministic replicate are collapsed.
    distinct, _ = distinct_transcripts(seats)
    sellers = distinct[(distinct["family"] == "negotiation") & (distinct["role"] == "seller")]
    completed = sellers[sellers["status"] == "completed"].groupby("agent").size().to_dict()
    buyers = distinct[(distinct["family"] == "negotiation") & (distinct["role"] == "buyer")]
    expected = buyers[buyers["status"] == "completed"].groupby("agent")["self_gain"].mean().to_dict()
    for row in board.itertuples():
        assert row.buyer_self_gain == pytest.approx(expected[row.agent])
        assert row.seller_games == completed[row.agent]
    with pytest.raises(GleeError, match="at least two agents"):
        leaderboard(games[games["player_1"] == "nobody"], seats, "negotiation")


# These baseline games have no residual variation, so a balanced mean's variance is 0 up to rounding;
# its sqrt once went NaN (a printed interval of nan) with this warning.
@pytest.mark.filterwarnings("error:invalid value encountered in sqrt:RuntimeWarning")
def test_the_report_has_a_leaderboard_and_glee_view_serves_it_as_json(played: Path, tmp_path: Path) -> None:
    page = write_report(played, tmp_path / "report.html").read_text()
    board = page[page.index('<h2 id="leaderboard">') : page.index('<h2 id="bargaining">')]
    assert board.count("<table") == 3 and "sdk:strategy" in board and "first_proposer_self_gain" in board
    assert "documents no 0–100 score" in board
    port = free_port()
    process = subprocess.Popen([GLEE, "view", str(played), "--port", str(port)], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/leaderboard", timeout=5) as reply:
                    data = json.loads(reply.read())
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
    finally:
        process.kill()
        process.wait(10)
    games = load_games(played)
    assert data == json.loads(json.dumps(leaderboards(games, seat_frame(games))))
    assert set(data) == {"bargaining", "negotiation", "persuasion"}
    assert [row["rank"] for row in data["persuasion"]] == [1, 2, 3, 4]
