"""A static HTML report of a glee database: one page, viewable offline.

Tables come from pandas (`to_html`, which escapes cells) and every other piece of text
goes through `html.escape`: agent labels, parameters and above all messages are untrusted.
Plots are embedded as base64 PNG; transcripts are sections of the same page, linked by
anchors from the list of games.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from glee.analysis.compare import bradley_terry
from glee.analysis.effects import balanced_table, parameter_effects
from glee.analysis.frames import METRICS, load_calls, load_games, load_turns, seat_frame
from glee.analysis.leaderboard import leaderboard_section
from glee.analysis.metrics import calls_by_agent, metric_table
from glee.analysis.planning import half_widths
from glee.analysis.plots import effects_plot, metric_by_parameter, outcome_vs_theory, theory
from glee.analysis.transcripts import turn_table
from glee.errors import GleeError
from glee.games import families as registered_families

TRANSCRIPTS_PER_FAMILY = 20
"""Games whose transcripts the page includes per family (imported non-conforming ones come first)."""

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #f3f3f3; }
td.text, th.text { text-align: left; }
img { max-width: 100%; }
.note { color: #666; font-style: italic; }
.caption { color: #444; font-size: 0.85em; margin-top: -1em; }
section.transcript { border-top: 1px solid #ddd; margin-top: 1em; }
"""


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def _table(frame: pd.DataFrame, digits: int = 3) -> str:
    """The frame as HTML, followed by its caption (`attrs["caption"]`: what a row and an interval are)."""
    page = frame.to_html(index=False, escape=True, na_rep="–", float_format=lambda x: f"{x:.{digits}f}", border=0)
    caption = frame.attrs.get("caption")
    return page + (f'<p class="caption">{html.escape(caption)}</p>' if caption else "")


def _try(what: str, build: Callable[[], str]) -> str:
    """One section; a section without enough data says so instead of stopping the report."""
    try:
        return build()
    except GleeError as exc:
        return f'<p class="note">{html.escape(what)}: {html.escape(str(exc))}</p>'


def _anchor(game_id: str) -> str:
    return "game-" + "".join(c for c in game_id if c.isalnum() or c in "-_")


def _metric_section(seats: pd.DataFrame) -> str:
    table = metric_table(seats, by=("agent", "seat", "role"))
    keep = ["agent", "seat", "role", "games", "completed", "forfeit_games", "own_forfeits", "failed"]
    for m in METRICS:
        keep += [m, f"{m}_low", f"{m}_high", f"{m}_itt", f"{m}_itt_low", f"{m}_itt_high", f"{m}_itt_n"]
    shown = table[[c for c in keep if c in table]]
    shown.attrs["caption"] = table.attrs["caption"]
    return _table(shown)


def _precision_section(seats: pd.DataFrame) -> str:
    """Per agent and role, the 95 % half-widths of self-gain its cells reached (glee.analysis.half_widths)."""
    cells = half_widths(seats, "self_gain")
    table = (
        cells.groupby(["agent", "role"], sort=True)
        .agg(
            cells=("games", "size"),
            games_per_cell=("games", "median"),
            median_half_width=("half_width", "median"),
            max_half_width=("half_width", "max"),
        )
        .reset_index()
    )
    table.attrs["caption"] = (
        "One row per agent and role, over its cells (one configuration each): the median games per cell and the"
        " median and largest half-width of the 95 % t interval of self-gain (intention to treat) a cell reached."
        " glee.analysis.games_needed(pilot, target) says how many games a target half-width needs."
    )
    return _table(table)


def _family_section(family: str, games: pd.DataFrame, seats: pd.DataFrame) -> str:
    fam_seats = seats[seats["family"] == family]
    parts = [f'<h2 id="{family}">{html.escape(family)}</h2>']
    parts.append("<h3>Metrics per agent and role (completed games, and intention to treat)</h3>")
    parts.append(_metric_section(fam_seats))

    def effects(view: str) -> str:
        frame = parameter_effects(fam_seats, "self_gain", family=family, view=view)
        plot = _png(effects_plot(frame, f"{family}: effects on self_gain per role")) if view == "completed" else ""
        return _table(frame) + plot

    def balanced(view: str) -> str:
        return _table(balanced_table(fam_seats, "self_gain", family, view=view))

    def rating() -> str:
        frame = bradley_terry(games[games["family"] == family])
        home = frame.attrs["home_advantage"]
        if home[0] != home[0]:  # NaN: every pair met in one seating only
            note = "<p>Seat 1 advantage: not identifiable (every pair met in one seating only).</p>"
        else:
            note = f"<p>Seat 1 advantage (log-odds): {home[0]:.3f} [{home[1]:.3f}, {home[2]:.3f}]</p>"
        return _table(frame) + note

    for view, words in (("completed", "completed games"), ("itt", "intention to treat")):
        parts.append(f"<h3>Parameter effects on self-gain per role ({words})</h3>")
        parts.append(_try("effects", partial(effects, view)))
        parts.append(f"<h3>Balanced self-gain over the parameter grid per role ({words})</h3>")
        parts.append(_try("balanced table", partial(balanced, view)))
    parts.append("<h3>Precision reached per cell (configuration, agent, role)</h3>")
    parts.append(_try("precision", lambda: _precision_section(fam_seats)))
    parts.append("<h3>Self-gain by parameter (per role)</h3>")
    parts.append(_try("plot", lambda: _png(metric_by_parameter(seats, "self_gain", family))))
    parts.append(f"<h3>Outcomes against {theory(family).benchmark}</h3>")
    parts.append(_try("plot", lambda: _png(outcome_vs_theory(games, family))))
    parts.append(
        "<h3>Rating from head-to-head games (Bradley–Terry on who gained more; pools both seats, with a"
        " seat-1 advantage term, because a rating compares the two seats of each game)</h3>"
    )
    parts.append(_try("rating", rating))
    return "\n".join(parts)


def _chosen_games(games: pd.DataFrame) -> pd.DataFrame:
    """Per family, the games whose transcripts are shown: failures of conformance first, then the rest."""
    picks = []
    for _, part in games.groupby("family", sort=True):
        order = part.assign(_bad=(part["conforms"] == False) if "conforms" in part else False)  # noqa: E712
        picks.append(order.sort_values(["_bad", "game_id"], ascending=[False, True]).head(TRANSCRIPTS_PER_FAMILY))
    return pd.concat(picks) if picks else games.head(0)


def _transcript(game: Any, turns: pd.DataFrame) -> str:
    turns = turn_table(turns, json.loads(game.params))
    head = (
        f"{game.family} · {game.player_1} (seat 1) vs {game.player_2} (seat 2) · status {game.status}"
        f" · end {game.end_reason} · rounds {game.rounds_played}"
    )
    extra = ""
    if getattr(game, "conform_error", None):
        extra = f'<p class="note">does not conform to glee rules: {html.escape(str(game.conform_error))}</p>'
    params = ", ".join(f"{k}={v}" for k, v in json.loads(game.params).items())
    return (
        f'<section class="transcript" id="{_anchor(game.game_id)}"><h3>game {html.escape(game.game_id)}</h3>'
        f"<p>{html.escape(head)}</p><p>{html.escape(params)}</p>{extra}{_table(turns)}"
        '<p><a href="#games">back to the list of games</a></p></section>'
    )


def _calls_section(db_path: Path) -> str:
    table = calls_by_agent(load_calls(db_path))
    if table.empty:
        return '<h2 id="calls">Model calls</h2><p class="note">No model calls: only baselines or humans played.</p>'
    return (
        '<h2 id="calls">Model calls</h2><p>One row per family and agent; every attempt is a call (re-asks'
        " included). rejected: the reply was refused by the parser or the rules; failed: the call itself"
        " failed; truncated: cut at max_tokens. Tokens are means per call, latency the median in ms.</p>"
        + _table(table, digits=1)
    )


def write_report(db_path: Path, out_path: Path) -> Path:
    """Write one static HTML page about the database at `db_path` to `out_path`; return its path."""
    db_path, out_path = Path(db_path), Path(out_path)
    games = load_games(db_path)
    title = f"glee report: {db_path.name}"
    body = [f"<h1>{html.escape(title)}</h1>"]
    body.append(
        f"<p>Database {html.escape(str(db_path))}, {len(games)} games, written"
        f" {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}. Every table is per role (the"
        " family's names for the two seats) unless its title says it pools. Each metric is shown over completed"
        " games only and by intention to treat (_itt: forfeits scored as the outcome their rules store);"
        " failed games are in neither and counted apart: forfeit_games are the games that ended in a forfeit"
        " (by either seat), own_forfeits the forfeits of that agent in that seat. Under each table: what a row"
        " is and what its intervals are over.</p>"
    )
    if games.empty:
        body.append('<p class="note">The database holds no games yet.</p>')
    else:
        counts = games.groupby(["family", "status"]).size().unstack(fill_value=0).reset_index()
        body.append(_table(counts))
        families = [f for f in registered_families() if f in set(games["family"])]
        body.append(
            "<p>" + " · ".join(f'<a href="#{f}">{f}</a>' for f in families) + ' · <a href="#games">games</a></p>'
        )
        seats = seat_frame(games)
        body.append(leaderboard_section(games, seats, families))
        body += [_family_section(f, games, seats) for f in families]
        body.append(_calls_section(db_path))
        chosen = _chosen_games(games)
        listing = chosen[["game_id", "family", "player_1", "player_2", "status", "end_reason"]].copy()
        rows = []
        for game in listing.to_dict("records"):
            game_id = str(game.pop("game_id"))
            cells = [f'<a href="#{_anchor(game_id)}">{html.escape(game_id)}</a>']
            cells += [html.escape(str(v)) for v in game.values()]
            rows.append("<tr>" + "".join(f'<td class="text">{c}</td>' for c in cells) + "</tr>")
        header = "".join(f'<th class="text">{html.escape(c)}</th>' for c in listing.columns)
        body.append(f'<h2 id="games">Games with transcripts</h2><table><tr>{header}</tr>{"".join(rows)}</table>')
        turns = load_turns(db_path, list(chosen["game_id"]))
        body += [_transcript(game, turns[turns["game_id"] == game.game_id]) for game in chosen.itertuples(index=False)]
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(page, encoding="utf-8")
    return out_path
