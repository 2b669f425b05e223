"""The domain error types: every error a user can cause or must hand off has a title."""

from __future__ import annotations


class SeamdeskError(Exception):
    """An error with a short title and a one-line message fit for a terminal or a ticket."""

    title = "seamdesk error"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        if title:
            self.title = title

    @property
    def message(self) -> str:
        return str(self)


class UsageError(SeamdeskError):
    """Bad input from the user (CLI arguments, config, scenario files): exit code 2."""

    title = "Bad input"


class ConfigError(UsageError):
    title = "Configuration problem"


class ScenarioError(UsageError):
    title = "Scenario problem"


class CacheError(UsageError):
    """The cache file [cache] url names cannot be used (unwritable, damaged): exit 2."""

    title = "Cache problem"


def read_toml(path, error: type[UsageError], what: str) -> dict:
    """A TOML file as a dict; anything wrong is one `error` line naming the file."""
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such {what} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
