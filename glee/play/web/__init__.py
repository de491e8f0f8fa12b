"""The `glee serve-web` app: participants play configured games in the browser."""
