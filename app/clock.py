"""Time in one place, so tests and replays can freeze it.

Timestamps are stored as integer UTC epoch seconds: compact, index-friendly, identical on
SQLite and PostgreSQL, and cheap to bulk-insert (no per-row type conversion).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

Clock = Callable[[], float]
"""Returns the current UTC time as epoch seconds."""

system_clock: Clock = time.time


def frozen(at: float | datetime | str) -> Clock:
    """A clock that always answers `at` (for tests and history replays)."""
    value = to_epoch(at) if not isinstance(at, int | float) else float(at)
    return lambda: value


def to_epoch(value: datetime | str) -> int:
    """Parse an ISO-8601 time (a trailing Z or an offset; naive means UTC) to epoch seconds."""
    if isinstance(value, str):
        value = parse_iso(value)
    return int(value.timestamp())


def parse_iso(text: str) -> datetime:
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


# iso, its hour part and clock_text are remembered: the detectors format thousands of run
# and update times a refresh, many alike and most a few hours apart, and strftime is the
# costly part.
@lru_cache(maxsize=4096)
def iso(epoch: float | None) -> str | None:
    """Epoch seconds to the contract's ISO form, e.g. 2026-11-30T15:00:05Z."""
    if epoch is None:
        return None
    seconds = int(epoch)
    minute, second = divmod(seconds % 3600, 60)
    return f"{_iso_hour(seconds // 3600)}:{minute:02d}:{second:02d}Z"


@lru_cache(maxsize=4096)
def _iso_hour(hour: int) -> str:
    return datetime.fromtimestamp(hour * 3600, UTC).strftime("%Y-%m-%dT%H")


def age_text(seconds: float) -> str:
    """A short human age: 'just now', '12 min ago', '3 h ago', '2 d ago'."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def span_text(seconds: float) -> str:
    """A duration: '45 s', '12 min', '2 h 40 min', '3 d 4 h'."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours = seconds // 60, seconds // 3600
    if seconds < 3600:
        return f"{minutes} min"
    if seconds < 86400:
        rest = minutes % 60
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    rest = hours % 24
    return f"{seconds // 86400} d {rest} h" if rest else f"{seconds // 86400} d"


def narrow_span(seconds: float) -> str:
    """A duration for a narrow column: '45s', '10m', '7h10m', '3d4h'."""
    return span_text(seconds).replace(" min", "m").replace(" ", "")


@lru_cache(maxsize=4096)
def clock_text(epoch: float, now: float) -> str:
    """A time people read at a glance: '09:40 UTC' today, 'Nov 29 22:10 UTC' otherwise."""
    moment = datetime.fromtimestamp(int(epoch), UTC)
    same_day = moment.date() == datetime.fromtimestamp(int(now), UTC).date()
    return moment.strftime("%H:%M UTC" if same_day else "%b %d %H:%M UTC")


def stamp(epoch: float) -> str:
    """A time that reads the same tomorrow (packets, checklists): '2026-11-30 09:40 UTC'."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%d %H:%M UTC")
