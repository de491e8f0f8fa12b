"""players layer."""
