"""store layer: the DuckDB schema, the single batched writer, readers and shard merge."""

from glee.store.database import Store, open_store, scrub
from glee.store.schema import TABLES, VIEWS
from glee.store.writer import WriteSummary, write_games

__all__ = ["TABLES", "VIEWS", "Store", "WriteSummary", "open_store", "scrub", "write_games"]
