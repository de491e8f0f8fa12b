"""Experiment -> the list of games to play, each with a content-hash id and a derived seed."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from glee.engine.specs import GameSet, GameSpec, PlayerSpec, RunConfig
from glee.errors import ConfigError
from glee.games import Params, registry, rules_version
from glee.games.grids import expand
from glee.players.families import complete
from glee.prompts import prompt_version


def canonical_json(data: Any) -> str:
    """One spelling per value: sorted keys, no spaces, so equal specs hash equally."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def game_id(
    family: str,
    params: dict[str, Any],
    player_1: PlayerSpec,
    player_2: PlayerSpec,
    run_seed: int,
    replicate: int,
) -> str:
    """16 hex chars of sha256 over everything that determines what is played (no transport settings).

    The family's own rules and prompt versions are part of it, no other family's: bumping one
    family's VERSION gives its games new ids and leaves every other family's stored games valid.
    """
    return id_of(family, params, player_1.identity(), player_2.identity(), run_seed, replicate)


def id_of(
    family: str,
    params: dict[str, Any],
    identity_1: dict[str, Any],
    identity_2: dict[str, Any],
    run_seed: int,
    replicate: int,
) -> str:
    """`game_id` from the players' identities (PlayerSpec.identity), for callers that reuse them."""
    identity = {
        "family": family,
        "rules_version": rules_version(family),
        "prompt_version": prompt_version(family),
        "params": params,
        "player_1": identity_1,
        "player_2": identity_2,
        "run_seed": run_seed,
        "replicate": replicate,
    }
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()[:16]


def family_versions() -> dict[str, dict[str, int]]:
    """Every family's rules and prompt version, as a run records them (`runs.versions`)."""
    return {f: {"rules": rules_version(f), "prompt": prompt_version(f)} for f in registry.families()}


def derive_seed(run_seed: int, gid: str) -> int:
    """A 63-bit seed from the run seed and the game id alone, never from scheduling order."""
    digest = hashlib.sha256(f"{run_seed}:{gid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def configurations(games: GameSet) -> list[Params]:
    """The validated parameters of one game set, in a stable order, duplicates removed."""
    raw = list(games.params)
    if games.grid == "paper":
        raw += expand(registry.family(games.family).grids["paper"])
    elif games.grid is not None:
        raw += expand(games.grid)
    if not raw:
        raw = [{}]
    seen: dict[str, Params] = {}
    for i, item in enumerate(raw):
        merged = {**item, **games.fixed}
        try:
            params = registry.family(games.family).params.parse(merged)
        except ConfigError as exc:
            # One prefix (the family's, from Params.parse) for one bad value; which configuration says where.
            raise ConfigError(f"{exc} (configuration {i} of the {games.family} games)") from None
        seen.setdefault(canonical_json(params.model_dump(mode="json")), params)
    return list(seen.values())


def seat_pairs(config: RunConfig) -> list[tuple[PlayerSpec, PlayerSpec]]:
    """The pairs in seat order, with the swapped seating added when asked (once per distinct seating)."""
    out: dict[str, tuple[PlayerSpec, PlayerSpec]] = {}
    for a, b in config.pairs:
        for pair in ((a, b), (b, a)) if config.swap_seats else ((a, b),):
            out.setdefault(
                canonical_json([pair[0].identity(), pair[1].identity(), pair[0].label(), pair[1].label()]), pair
            )
    return list(out.values())


def check_sdk_players(config: RunConfig, pairs: list[tuple[PlayerSpec, PlayerSpec]]) -> None:
    """Import every sdk player's strategy and find every family's codec before anything is played, so a
    wrong `strategy` or a family competition agents cannot play is one ConfigError, not failed games."""
    if not any(p.kind == "sdk" for pair in pairs for p in pair):
        return
    from glee.players.sdk import codec, load_strategy

    for player in {p for pair in pairs for p in pair if p.kind == "sdk"}:
        load_strategy(str(player.strategy))
    for games in config.games:
        codec(games.family)


def plan(config: RunConfig) -> list[GameSpec]:
    """Every game of the experiment (of its shard, with `config.shard`), in a stable order; ids and
    seeds do not depend on that order, and a game's shard depends on its id alone.

    Checks first that every registered family has all its pieces (a missing one is one FamilyError line)."""
    complete()
    specs: list[GameSpec] = []
    ids: set[str] = set()
    pairs = seat_pairs(config)
    check_sdk_players(config, pairs)
    identities = [(p1.identity(), p2.identity()) for p1, p2 in pairs]
    shard = config.shard
    for games in config.games:
        for params in configurations(games):
            dumped = params.model_dump(mode="json")
            for (p1, p2), (id_1, id_2) in zip(pairs, identities, strict=True):
                for replicate in range(config.n_games):
                    # A shard's plan skips the other shards' games before building their specs (the
                    # id alone decides), so each of N jobs spends about 1/N of the plan's work on specs.
                    if shard is not None and not shard.holds(
                        id_of(games.family, dumped, id_1, id_2, config.seed, replicate)
                    ):
                        continue
                    spec = GameSpec.create(games.family, params, p1, p2, replicate, config.seed)
                    if spec.game_id in ids:  # the same game named twice (e.g. two equal game sets): play it once
                        continue
                    ids.add(spec.game_id)
                    specs.append(spec)
    return specs
