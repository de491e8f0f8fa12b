"""Human play: a person against models and baselines, in the terminal (`glee play`) and in the
browser (`glee serve-web`). Sits beside the CLI: it runs games (engine) and writes them (store)."""
