"""glee: a benchmark harness for two-player language-based economic games."""

__version__ = "0.1.0"
