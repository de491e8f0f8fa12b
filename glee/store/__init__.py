"""store layer: the DuckDB schema, the single batched writer, readers and shard merge."""

from glee.api_keys import scrub
from glee.store.database import Store, open_store
from glee.store.merge import MergeSummary, merge
from glee.store.readers import list_games, load_game, prompt_of, resolve_game_id
from glee.store.schema import SEAT_METRICS_VIEW, SEATS_VIEW, TABLES, views
from glee.store.writer import WriteSummary, write_games

__all__ = [
    "SEATS_VIEW",
    "SEAT_METRICS_VIEW",
    "TABLES",
    "MergeSummary",
    "Store",
    "WriteSummary",
    "list_games",
    "load_game",
    "merge",
    "open_store",
    "prompt_of",
    "resolve_game_id",
    "scrub",
    "views",
    "write_games",
]
