"""The health window: N daily buckets in UTC, the last one today (so far)."""

from __future__ import annotations

from dataclasses import dataclass

DAY = 86400


@dataclass(frozen=True, slots=True)
class Window:
    days: int
    now: int

    @property
    def since(self) -> int:
        """The start of the oldest bucket (midnight UTC, days - 1 before today's)."""
        return (self.now // DAY - (self.days - 1)) * DAY

    def starts(self) -> list[int]:
        return [self.since + i * DAY for i in range(self.days)]

    def end(self, index: int) -> int:
        """The end of bucket `index` (today's: now)."""
        return min(self.since + (index + 1) * DAY, self.now)

    def bucket(self, at: int) -> int:
        """The bucket of time `at`; -1 before the window."""
        return -1 if at < self.since else min((at - self.since) // DAY, self.days - 1)
