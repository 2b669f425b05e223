"""Integration health: per-system and per-handoff figures over the last days, the
ownership matrix, and the reports built from them (no Textual)."""
