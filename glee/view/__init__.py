"""`glee view DB`: a local, read-only browser of a glee database (runs, games, transcripts, model calls)."""
