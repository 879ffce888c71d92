"""Where entities and their repositories come from besides local files."""
