"""The ultimatum game as a glee family: importing the package registers its rules, prompt
renderer and baselines (the `glee.families` entry point names this package)."""

from glee_ultimatum import baselines, prompt, rules

__all__ = ["baselines", "prompt", "rules"]
