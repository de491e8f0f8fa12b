"""glee's own families' baseline strategies, one module per family (each registers itself)."""
