"""Importer of the original GLEE data: folders of config.json + game.csv (GAMES.md section 6).

Every game is replayed through glee's own rules (parse_params with the original keys,
new_game, apply), so its outcome and metrics come from the same code as glee's games.
A game the rules accept is stored as completed with `conforms = true`. A game they
refuse (an offer whose gains do not sum to M, a move out of turn, ...) is stored with
`conforms = false`, `conform_error` saying why, status `failed` (so it never enters a
metric) and the turns that were legal up to that point plus the refused row. A folder
that cannot be read at all is skipped with a reason and counted. Game ids hash the family
and the original id, and ids already in the database are skipped: importing twice adds nothing.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from tqdm import tqdm

from glee.engine.record import GameRecord, TurnRecord
from glee.errors import ConfigError, IllegalAction
from glee.games import Family, GameState, new_game, parse_params, variant_metrics
from glee.players.base import LLMCall
from glee.store.database import open_store

IMPORT_VERSION = "1"
"""Part of every imported game's id; bump when the importer changes what it stores."""

HUMAN_TYPES = {"otree": "human"}
"""Original player types -> glee agent labels; `otree_LLM` is the LLM of the human-vs-LLM dataset."""
MODEL_TYPES = {"otree_LLM": "gemini-1.5-flash"}

COLUMNS: dict[str, tuple[str, ...]] = {
    "bargaining": ("player", "round"),
    "negotiation": ("product_price", "player", "round"),
    "persuasion": ("round_quality", "player", "round"),
}
"""Columns game.csv must have per family (bargaining also `<name>_gain` for both public names).
The original logger writes a column only when some action had that field, so `message`,
`decision` and `product_worth` may be absent (messages off, binary persuasion): an absent
column reads as empty cells. The original GLEE data holds these three families only, so
this format's table lists them."""

MAX_BYTES = {"config.json": 1 << 20, "game.csv": 16 << 20}
"""The largest file the importer reads (a 99-round game with 2000-character messages is under 1 MB):
a bigger one is skipped unread, so no folder can make the import hold a huge file in memory."""
LOG_MAX_BYTES = 256 << 20
"""log_player_N.csv files are read row by row (streamed), up to this size."""
EXCERPT = 60
"""Characters of a file's text a skip or conformance reason may quote at most."""

NEGOTIATION_DECISIONS = {
    "acceptoffer": "accept",
    "rejectoffer": "reject",
    "selltojhon": "outside_option",
    "buyfromjhon": "outside_option",
    "dealwithjhon": "outside_option",
}
OWN_OUTSIDE_OPTION = {"selltojhon": 1, "buyfromjhon": 2}
"""Which seat may take which outside option (the seller sells, the buyer buys)."""

BATCH = 500
SKIPPED_KEPT = 1000
"""Skipped folders listed one by one in an ImportSummary (beyond these, only counted)."""


class SkippedFolder(BaseModel):
    path: str
    reason: str


class ImportSummary(BaseModel):
    """What one import did. `found` = imported + already_present + malformed."""

    found: int = 0
    imported: int = 0
    conforming: int = 0
    nonconforming: int = 0
    already_present: int = 0
    malformed: int = 0
    skipped: list[SkippedFolder] = []
    """The first SKIPPED_KEPT folders skipped, each with its reason (all are counted in skip_reasons)."""
    skip_reasons: dict[str, int] = {}
    """How many folders were skipped for each kind of reason (no_config, link_outside, too_big, ...)."""
    run_id: str | None = None
    """The run recorded for this import (None when it added nothing)."""


class MalformedGame(Exception):
    """A folder that cannot be read as an original game (the reason is the message; `kind` the
    reason's name, counted per import)."""

    def __init__(self, reason: str, kind: str) -> None:
        super().__init__(reason)
        self.kind = kind


class Nonconforming(Exception):
    """A transcript glee's rules refuse at some row (the reason is the message)."""


def excerpt(text: object, limit: int = EXCERPT, quote: bool = True) -> str:
    """A short, cleaned quote of file text for a reason: control characters replaced, whitespace
    collapsed, cut to `limit` characters, in quotes. Never more of a file than that."""
    cleaned = " ".join("".join(c if c.isprintable() else " " for c in str(text)).split())
    cut = cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
    return repr(cut) if quote else cut


def game_folders(root: Path) -> Iterator[Path]:
    """Every folder under `root` holding a config.json or a game.csv, in a stable order. Folder links
    are not followed, and `.partial` folders (the logger's saves of games still in play) are left out."""
    found = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != ".partial")
        if "config.json" in files or "game.csv" in files:
            found.append(Path(folder))
    yield from sorted(found)


def _inside(path: Path, root: Path) -> bool:
    """Whether `path`, links resolved, lies under `root`."""
    try:
        path.resolve(strict=True).relative_to(root.resolve())
    except (OSError, ValueError):
        return False
    return True


def _readable(path: Path, root: Path | None, limit: int) -> None:
    """MalformedGame unless `path` is a regular file inside `root` of at most `limit` bytes."""
    name = path.name
    if path.is_symlink() and (root is None or not _inside(path, root)):
        raise MalformedGame(f"{name} is a link out of the import folder; allowed: files inside it", "link_outside")
    if not path.is_file():
        raise MalformedGame(f"{name} is not a regular file", "not_a_file")
    size = path.stat().st_size
    if size > limit:
        raise MalformedGame(f"{name} has {size} bytes; allowed: at most {limit}", "too_big")


def import_game_id(family: str, source_id: str) -> str:
    """16 hex chars of sha256 over the importer version, the family and the original id."""
    identity = json.dumps({"import": IMPORT_VERSION, "family": family, "source_id": source_id}, sort_keys=True)
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def _null(cell: Any) -> str | None:
    """The original writes null as an empty cell, `None`, or `nan` (a message when messages were off)."""
    if cell is None:
        return None
    text = str(cell)
    return None if text.strip() in ("", "None", "nan", "NaN") else text


def _number(cell: Any, what: str, line: int) -> float:
    text = _null(cell)
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise Nonconforming(f"game.csv line {line}: {what} is {excerpt(cell)}, not a number")
    return value


def agent_label(config: dict[str, Any], seat: int) -> str:
    """`human` for an oTree participant, gemini-1.5-flash for `otree_LLM`, else the model name."""
    kind = str(config.get(f"player_{seat}_type", ""))
    if kind in HUMAN_TYPES:
        return HUMAN_TYPES[kind]
    if kind in MODEL_TYPES:
        return MODEL_TYPES[kind]
    args = config.get(f"player_{seat}_args") or {}
    return str(args.get("model_name") or kind or "unknown")


def original_params(family: Family, config: dict[str, Any]) -> dict[str, Any]:
    """glee parameters from an original config, undoing the format's quirks."""
    raw = dict(config.get("game_args") or {})
    args = {seat: config.get(f"player_{seat}_args") or {} for seat in (1, 2)}
    for seat in (1, 2):
        if "public_name" in args[seat]:
            raw[f"name_{seat}"] = args[seat]["public_name"]
    if family == "bargaining":
        # Older files keep δ in player_N_args.delta (default 1.0), newer ones in game_args.
        for seat in (1, 2):
            raw.setdefault(f"delta_{seat}", args[seat].get("delta", 1.0))
    if family == "persuasion" and "v" in raw and "c" in raw:
        # Older files hold the high multiple in c with v = 0: the high multiple is max(v, c), low 0.
        raw["v"], raw["c"] = max(float(raw["v"]), float(raw["c"])), 0.0
    return raw


def read_folder(folder: Path, root: Path | None = None) -> tuple[dict[str, Any], list[tuple[int, dict[str, str]]]]:
    """config.json and the rows of game.csv (with their line numbers), or MalformedGame. Files that
    are links out of `root`, or too big (MAX_BYTES), are refused unread."""
    config_path, csv_path = folder / "config.json", folder / "game.csv"
    if not config_path.is_file() and not config_path.is_symlink():
        raise MalformedGame("no config.json", "no_config")
    if not csv_path.is_file() and not csv_path.is_symlink():
        raise MalformedGame("no game.csv", "no_game_csv")
    _readable(config_path, root, MAX_BYTES["config.json"])
    _readable(csv_path, root, MAX_BYTES["game.csv"])
    try:
        config = json.loads(config_path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedGame(f"config.json is not JSON: {excerpt(exc, 80, quote=False)}", "not_json") from None
    if not isinstance(config, dict):
        raise MalformedGame("config.json is not a JSON object", "not_json")
    if config.get("partial"):
        raise MalformedGame("config.json marks a game still in play (partial)", "partial")
    try:
        # newline="": the csv module copes with CRLF and quoted line breaks itself; read as a stream.
        with csv_path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle, strict=True)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            rows = []
            for row in reader:
                if None in row:
                    raise MalformedGame(
                        f"game.csv line {reader.line_num}: more cells than the header has columns", "bad_csv"
                    )
                rows.append((reader.line_num, row))
    except UnicodeDecodeError:
        raise MalformedGame("game.csv is not UTF-8 text", "not_utf8") from None
    except csv.Error as exc:
        raise MalformedGame(f"game.csv is not valid CSV: {excerpt(exc, 80, quote=False)}", "bad_csv") from None
    if not header:
        raise MalformedGame("game.csv is empty", "empty")
    if not rows:
        raise MalformedGame("game.csv has a header but no rows", "empty")
    return config, rows


class Replay:
    """Applies the rows of one original game to glee's rules, one row at a time."""

    def __init__(self, family: Family, state: GameState, header: set[str]) -> None:
        self.family = family
        self.state = state
        params = state.params
        self.names = {params.name_1: 1, params.name_2: 2}
        missing = [c for c in COLUMNS[family] if c not in header]
        if family == "bargaining":
            self.gain_column = {seat: self._gain_column(name, header) for name, seat in self.names.items()}
            missing += [f"{name.lower()}_gain" for name, seat in self.names.items() if not self.gain_column[seat]]
        if missing:
            has = excerpt(", ".join(sorted(header)), 120)
            raise MalformedGame(f"game.csv lacks column(s) {', '.join(missing)}; it has {has}", "missing_columns")

    @staticmethod
    def _gain_column(name: str, header: set[str]) -> str:
        """Bargaining gain columns derive from the public names (`alice_gain`)."""
        wanted = f"{name.lower()}_gain"
        return next((h for h in header if h.lower() == wanted), "")

    def seat_of(self, player: str, line: int) -> int:
        if player == "Nature":
            return 0
        for name, seat in self.names.items():
            if player.strip().casefold() == name.casefold():
                return seat
        if self.family == "persuasion" and player.strip().casefold() == "the buyer":
            return 2  # a myopic buyer is named "the buyer"
        raise Nonconforming(
            f"game.csv line {line}: unknown player {excerpt(player)}; the players are {list(self.names)}"
        )

    def seat_or_none(self, row: dict[str, str]) -> Literal[0, 1, 2] | None:
        """The seat a row names, for recording a refused row (None if it names nobody)."""
        try:
            return self.seat_of(row.get("player") or "", 0)  # type: ignore[return-value]
        except Nonconforming:
            return None

    def action(self, row: dict[str, str], seat: int, line: int) -> dict[str, Any]:
        """The glee action of one original row, for the seat that plays it."""
        kind = self.state.kind()
        decision = (_null(row.get("decision")) or "").strip()
        message = _null(row.get("message"))
        messages_allowed = bool(getattr(self.state.params, "messages_allowed", False))
        if self.family == "bargaining":
            if kind == "respond":
                return {"decision": decision.lower()}
            gains = {s: _number(row.get(col), col, line) for s, col in self.gain_column.items()}
            money = float(self.state.params.money)  # type: ignore[attr-defined]
            if abs(gains[1] + gains[2] - money) > 1e-9 * money:
                raise Nonconforming(
                    f"game.csv line {line}: offer {gains[1]:g} + {gains[2]:g} = {gains[1] + gains[2]:g},"
                    f" not M = {money:g}"
                )
            offer: dict[str, Any] = {"own_gain": gains[seat]}
            if messages_allowed:
                offer["message"] = message or ""
            return offer
        if self.family == "negotiation":
            if kind == "respond":
                token = decision.lower()
                if token not in NEGOTIATION_DECISIONS:
                    raise Nonconforming(
                        f"game.csv line {line}: decision {excerpt(decision)}; allowed: {sorted(NEGOTIATION_DECISIONS)}"
                    )
                own = OWN_OUTSIDE_OPTION.get(token, seat)
                if own != seat:
                    raise Nonconforming(f"game.csv line {line}: {decision} is the other player's outside option")
                return {"decision": NEGOTIATION_DECISIONS[token]}
            proposal: dict[str, Any] = {"price": _number(row.get("product_price"), "product_price", line)}
            if messages_allowed:
                proposal["message"] = message or ""
            return proposal
        if kind == "nature":
            quality = (_null(row.get("round_quality")) or "").removesuffix("-quality")
            self._check_worth(row, quality, line)
            return {"quality": quality}
        if kind == "seller_message":
            if self.state.params.seller_message_type == "binary":  # type: ignore[attr-defined]
                return {"recommend": (decision or message or "").lower()}
            return {"message": message or ""}
        buy = {"yes": "buy", "no": "pass"}.get(decision.lower(), decision)
        return {"decision": buy, **({"message": message or ""} if self.state.params.buyer_messages_allowed else {})}  # type: ignore[attr-defined]

    def _check_worth(self, row: dict[str, str], quality: str, line: int) -> None:
        """Nature's row states the product's worth: v·P when high, c·P when low."""
        worth = _null(row.get("product_worth"))
        if worth is None or quality not in ("high", "low"):
            return
        p = self.state.params
        expected = (p.v if quality == "high" else p.c) * p.price  # type: ignore[attr-defined]
        if abs(_number(worth, "product_worth", line) - expected) > 1e-6 * max(1.0, expected):
            raise Nonconforming(
                f"game.csv line {line}: product_worth {excerpt(worth)} but a {quality} product is worth {expected:g}"
            )

    def apply(self, line: int, row: dict[str, str]) -> None:
        if self.state.is_over:
            raise Nonconforming(f"game.csv line {line}: a row after the game ended ({self.state.end_reason})")
        seat = self.seat_of(row.get("player") or "", line)
        round_cell = _null(row.get("round"))
        if round_cell is None or not round_cell.strip().removesuffix(".0").isdigit():
            raise Nonconforming(f"game.csv line {line}: round is {excerpt(row.get('round'))}, not a whole number")
        if int(round_cell.strip().removesuffix(".0")) != self.state.round:
            raise Nonconforming(
                f"game.csv line {line}: round {excerpt(round_cell)} while the game is in round {self.state.round}"
            )
        if seat != self.state.to_act():
            raise Nonconforming(
                f"game.csv line {line}: {excerpt(row.get('player'))} moved out of turn"
                f" (seat {self.state.to_act()} to act)"
            )
        try:
            self.state = self.state.apply(self.action(row, seat, line))
        except IllegalAction as exc:
            raise Nonconforming(f"game.csv line {line}: {exc}") from None


def _turns(state: GameState) -> list[TurnRecord]:
    return [
        TurnRecord(
            turn=i,
            round=t.round,
            seat=t.seat,
            kind=t.kind,
            action=t.action,
            message=t.action.get("message") if isinstance(t.action.get("message"), str) else None,
        )
        for i, t in enumerate(state.turns, start=1)
    ]


def read_log(path: Path, root: Path | None) -> list[tuple[str, str]]:
    """The (prompt, response) rows of a log_player_N.csv, read row by row; MalformedGame when it
    cannot be read (a link out of the root, too big, not CSV, no prompt/response columns)."""
    _readable(path, root, LOG_MAX_BYTES)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if not {"prompt", "response"} <= {h.strip() for h in reader.fieldnames or []}:
                raise MalformedGame(f"{path.name} lacks the prompt and response columns", "bad_log")
            return [(row.get("prompt") or "", row.get("response") or "") for row in reader]
    except UnicodeDecodeError:
        raise MalformedGame(f"{path.name} is not UTF-8 text", "bad_log") from None
    except csv.Error as exc:
        raise MalformedGame(f"{path.name} is not valid CSV: {excerpt(exc, 80, quote=False)}", "bad_log") from None


def logged_calls(folder: Path, root: Path | None, turns: list[TurnRecord], models: dict[int, str]) -> list[LLMCall]:
    """The model calls of an LLM game's log_player_N.csv files, prompt and response as logged (the
    prompt as one user message). The original logs no turn: a seat's k-th logged call is placed on
    its k-th turn, and calls beyond its last turn become further attempts of that turn."""
    calls = []
    for seat in (1, 2):
        path = folder / f"log_player_{seat}.csv"
        if not path.exists() and not path.is_symlink():
            continue
        rows = read_log(path, root)
        own = [t.turn for t in turns if t.seat == seat]
        if not own:
            continue
        for k, (prompt, response) in enumerate(rows):
            turn, attempt = (own[k], 1) if k < len(own) else (own[-1], 1 + k - len(own) + 1)
            calls.append(
                LLMCall(
                    turn=turn,
                    seat=seat,
                    attempt=attempt,
                    model=models[seat],
                    request=[{"role": "user", "content": prompt}],
                    response=response,
                )
            )
    return calls


def game_record(folder: Path, run_id: str | None = None, root: Path | None = None) -> GameRecord:
    """One original game folder replayed as a GameRecord, or MalformedGame with the reason."""
    config, rows = read_folder(folder, root)
    family = config.get("game_type")
    if family not in COLUMNS:
        raise MalformedGame(f"game_type is {excerpt(family)}; allowed: one of {list(COLUMNS)}", "unknown_family")
    try:
        params = parse_params(family, original_params(family, config))
    except ConfigError as exc:
        raise MalformedGame(f"config.json game_args: {excerpt(exc, 200, quote=False)}", "bad_parameters") from None
    source_id = folder.name
    replay = Replay(family, new_game(params, seed=0), set(rows[0][1]))
    error: str | None = None
    refused: TurnRecord | None = None
    for line, row in rows:
        try:
            replay.apply(line, row)
        except Nonconforming as exc:
            error = str(exc)
            state = replay.state
            refused = TurnRecord(
                turn=len(state.turns) + 1,
                round=state.round,
                seat=replay.seat_or_none(row) or 0,
                kind=state.kind(),
                action={k: v for k, v in row.items() if _null(v) is not None},
                valid=False,
            )
            break
    state = replay.state
    if error is None and not state.is_over:
        error = f"game.csv ends in round {state.round} before the game is over ({state.kind()} to play)"
    outcome = state.outcome() if error is None else None
    turns = _turns(state) + ([refused] if refused else [])
    models = {seat: agent_label(config, seat) for seat in (1, 2)}
    return GameRecord(
        game_id=import_game_id(family, source_id),
        run_id=run_id,
        family=family,
        params=params.model_dump(mode="json"),
        player_1=models[1],
        player_2=models[2],
        seed=None,
        status="completed" if outcome is not None else "failed",
        end_reason=outcome.end_reason if outcome else None,
        rounds_played=outcome.rounds if outcome else state.round,
        error=error,
        source_id=source_id,
        conforms=error is None,
        conform_error=error,
        turns=turns,
        calls=logged_calls(folder, root, turns, models),
        outcome=outcome,
        metrics=variant_metrics(state) if outcome is not None else {},
    )


def _known(folder: Path, root: Path, existing: set[str]) -> bool:
    """Whether the game of `folder` is already imported, from its config's game_type and its id alone."""
    try:
        _readable(folder / "config.json", root, MAX_BYTES["config.json"])
        config = json.loads((folder / "config.json").read_text(encoding="utf-8-sig"))
    except (MalformedGame, OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    family = config.get("game_type") if isinstance(config, dict) else None
    return isinstance(family, str) and import_game_id(family, folder.name) in existing


def import_glee(root: Path, db_path: Path, progress: bool = False) -> ImportSummary:
    """Import every original game under `root` into the database at `db_path`.

    Any layout under `root` works: the human-vs-LLM data (`<family>/<a>/<b>/<c>/<id>/`) and the
    LLM-vs-LLM data (`<experiment>/<family>/<a>/<b>/<c>/<id>/`) alike. `progress` shows a bar
    (tqdm, on stderr). Importing the same folders again adds nothing."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"root: got {str(root)!r}; allowed: a folder of original GLEE games")
    summary = ImportSummary()
    reasons: Counter[str] = Counter()
    run_id = "import-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    with open_store(db_path) as store:
        existing = {r[0] for r in store.con.execute("SELECT game_id FROM games WHERE source_id IS NOT NULL").fetchall()}
        batch: list[GameRecord] = []
        folders = tqdm(game_folders(root), desc="import", unit=" games", disable=not progress, mininterval=0.5)
        for folder in folders:
            summary.found += 1
            if _known(folder, root, existing):
                summary.already_present += 1  # known by its id: not read or replayed again
                continue
            try:
                record = game_record(folder, run_id, root)
            except MalformedGame as exc:
                summary.malformed += 1
                reasons[exc.kind] += 1
                if len(summary.skipped) < SKIPPED_KEPT:
                    summary.skipped.append(SkippedFolder(path=str(folder.relative_to(root)), reason=str(exc)))
                continue
            if record.game_id in existing:
                summary.already_present += 1
                continue
            existing.add(record.game_id)
            if summary.run_id is None:
                store.begin_run(run_id, {"import_glee": str(root)}, experiment="glee-import")
                summary.run_id = run_id
            batch.append(record)
            summary.imported += 1
            summary.conforming += bool(record.conforms)
            summary.nonconforming += not record.conforms
            if len(batch) >= BATCH:
                store.write(batch)
                batch = []
        if batch:
            store.write(batch)
    summary.skip_reasons = dict(sorted(reasons.items()))
    return summary
