"""The connector protocol and the small parsing helpers every vendor needs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from app.records import INT64, Page, RunStats
from app.sources.errors import PayloadError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Window:
    """What to read: everything (None) or what changed since an epoch second."""

    counts_since: int | None = None
    events_since: int | None = None
    messages_since: int | None = None  # middleware errors (resolved ones) since
    orders_since: int | None = None  # order/PO documents changed since (the vendor's clock)


class Connector(Protocol):
    system: str
    stats: RunStats

    def read(self, window: Window) -> AsyncIterator[Page]:
        """Page through the vendor API to the end, yielding normalized pages."""
        ...

    def read_sku(self, sku: str) -> AsyncIterator[Page]:
        """Every location of one SKU, through the vendor's single-item query."""
        ...

    async def aclose(self) -> None: ...


class Fields:
    """Typed access to one vendor record; a wrong or missing field is a PayloadError."""

    def __init__(self, system: str, what: str, record: Any) -> None:
        if not isinstance(record, Mapping):
            raise PayloadError(f"{system}: {what} is not an object: {_preview(record)}")
        self.system, self.what, self.record = system, what, record

    def _fail(self, key: str, problem: str) -> PayloadError:
        return PayloadError(f"{self.system}: {self.what}.{key} {problem}")

    def text(self, key: str, *, optional: bool = False) -> str | None:
        value = self.record.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or (not value and not optional):
            raise self._fail(key, f"should be text, got {_preview(value)}")
        return value

    def int(self, key: str, *, optional: bool = False, default: int | None = None) -> int | None:
        value = self.record.get(key, default)
        if value is None and (optional or default is not None):
            return default
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise self._fail(key, f"should be a whole number, got {_preview(value)}")
        try:
            number = int(value)
        except ValueError:
            raise self._fail(key, f"should be a whole number, got {_preview(value)}") from None
        if number not in INT64:
            raise self._fail(key, f"is out of range: {_preview(value)}")
        return number

    def quantity(self, key: str, *, optional: bool = False) -> int | None:
        """A quantity vendors send as a decimal (10.0, "12.000000"), rounded to units."""
        value = self.record.get(key)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self._fail(key, f"should be a number, got {_preview(value)}")
        try:
            return whole(value)
        except ValueError:
            raise self._fail(key, f"should be a number in range, got {_preview(value)}") \
                from None

    def time(self, key: str, parse: Callable[[str], int], *, optional: bool = True) -> int | None:
        value = self.text(key, optional=optional)
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError:
            raise self._fail(key, f"is not a time: {_preview(value)}") from None

    def obj(self, key: str) -> Fields:
        return Fields(self.system, f"{self.what}.{key}", self.record.get(key))

    def list(self, key: str) -> list:
        value = self.record.get(key)
        if not isinstance(value, list):
            raise self._fail(key, f"should be a list, got {_preview(value)}")
        return value


def whole(value: float | int | str) -> int:
    """A vendor's number as a whole one (10.0 and "12.000000" are 10 and 12), within the
    64 bits the cache stores; ValueError for anything else, bigger numbers included."""
    try:  # a whole number's text as it is (through a float, 19 digits would be rounded)
        number = value if type(value) is int else int(value) if type(value) is str and \
            value.strip().lstrip("+-").isdigit() else round(float(value))
    except OverflowError:  # inf
        raise ValueError(f"{value!r} is out of range") from None
    if number not in INT64:
        raise ValueError(f"{value!r} is out of range")
    return number


def quick_or_careful(quick: Callable[..., T], careful: Callable[..., T]) -> Callable[..., T]:
    """Parse records the quick way (plain lookups, strict type checks); when anything is
    off, parse again the careful way, which names the field and the problem. Hot paths
    read hundreds of thousands of rows; errors are rare and deserve good messages."""

    def parse(*args: Any) -> T:
        try:
            return quick(*args)
        except (KeyError, TypeError, ValueError, AttributeError):
            return careful(*args)

    return parse


def iso_epoch(text: str) -> int:
    """ISO-8601 with Z, an offset, or nothing (read as UTC) → epoch seconds."""
    # The common stamp, whole seconds in UTC ("2026-11-27T10:28:31", with or without Z),
    # is two lookups: a big read's rows fall into a few hundred hours, each parsed once,
    # and ":MM:SS" (or ":MM:SSZ") is one of 7,200 texts. Anything else misses one of them.
    try:
        return _HOURS[text[:13]] + _MINUTE_SECOND[text[13:]]
    except KeyError:
        pass
    if text[13:] not in _MINUTE_SECOND:  # fractions, offsets, another shape: the long way
        return _epoch(text)
    try:
        hour = _epoch(text[:13] + ":00:00")
    except ValueError:
        return _epoch(text)  # raises, with the whole text
    if len(_HOURS) >= 100_000:  # bounded, whatever a vendor sends
        _HOURS.clear()
    _HOURS[text[:13]] = hour
    return hour + _MINUTE_SECOND[text[13:]]


_MINUTE_SECOND = {f":{m:02d}:{s:02d}{z}": m * 60 + s
                  for m in range(60) for s in range(60) for z in ("", "Z")}
_HOURS: dict[str, int] = {}  # "YYYY-MM-DDTHH" → epoch seconds (UTC)


def _epoch(text: str) -> int:
    parsed = datetime.fromisoformat(text.strip())  # 3.11 reads Z, offsets and a space
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


async def merge(streams: list[AsyncIterator[Page]], limit: int) -> AsyncIterator[Page]:
    """Run up to `limit` page streams at once, yielding pages as they arrive.

    An error in any stream stops the others and is raised here.
    """
    queue: asyncio.Queue = asyncio.Queue(maxsize=limit * 2)  # backpressure: stream, not buffer
    done = object()
    gate = asyncio.Semaphore(limit)

    async def pump(stream: AsyncIterator[Page]) -> None:
        try:
            async with gate:
                async for page in stream:
                    await queue.put(page)
        except asyncio.CancelledError:
            # The reader stopped (another stream failed): nobody waits for this stream's
            # end, and the queue may be full, so putting `done` would block for ever.
            raise
        except BaseException:
            await queue.put(done)
            raise
        await queue.put(done)

    tasks = [asyncio.create_task(pump(s)) for s in streams]
    try:
        finished = 0
        while finished < len(tasks):
            item = await queue.get()
            if item is done:
                finished += 1
                for task in tasks:
                    if task.done() and not task.cancelled() and task.exception():
                        raise task.exception()
                continue
            yield item
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
