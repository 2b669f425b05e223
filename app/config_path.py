"""Where the config file is: found without loading pydantic, so the TUI can paint before
the config is validated (in a thread, right after)."""

from __future__ import annotations

import os
from pathlib import Path

from app.errors import ConfigError


def discover(explicit: str | None) -> Path:
    """--config, else $SEAMDESK_CONFIG, else ./config.toml, else the user config dir."""
    if explicit:
        return Path(explicit)
    if env := os.environ.get("SEAMDESK_CONFIG"):
        return Path(env)
    tried = [Path("config.toml"), Path(_user_config_dir()) / "config.toml"]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise ConfigError(
        "no config found: tried --config, $SEAMDESK_CONFIG, " + ", ".join(map(str, tried))
    )


def _user_config_dir() -> str:
    import platformdirs

    return platformdirs.user_config_dir("seamdesk")
