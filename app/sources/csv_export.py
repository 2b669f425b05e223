"""Spreadsheet exports (any compared role): a CSV file, or a drop folder of them, read
with the column mapping in config (`columns = { sku = "Item", location = "Warehouse",
on_hand = "On hand", ... }`).

Each row is one SKU at one location. The update time is the row's own `updated_at`
column (ISO 8601; without an offset, in `timezone`) or else the file's modification
time. A folder's *.csv files are read oldest first, a later file's row for the same SKU
and location replacing an earlier one (full exports and change files both work). The
delimiter is whatever the header line uses (comma, semicolon, tab or bar); a byte-order
mark (Excel) is dropped. A malformed row (no SKU or location, a quantity that is not a
number, a time that is not one) is skipped and reported by file and line number in the
run's notes, never silently; a missing mapped column fails the read (nothing is
written). No events or orders: a stock export holds neither.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from app.records import CountRow, Page, RunStats
from app.sources.base import Window, whole
from app.sources.errors import PayloadError

FIELDS = ("sku", "location", "name", "on_hand", "available", "allocated", "in_transit",
          "updated_at")
QUANTITIES = ("on_hand", "available", "allocated", "in_transit")
ROWS_PER_PAGE = 1000
NOTES_KEPT = 20  # a file broken throughout is named, not copied out whole


def check_columns(columns: dict[str, str]) -> None:
    """The mapping config.toml gives: known fields, the keys, at least one quantity."""
    unknown = sorted(set(columns) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (fields: {', '.join(FIELDS)})")
    for key in ("sku", "location"):
        if not columns.get(key):
            raise ValueError(f"{key}: missing (required: the column holding it)")
    if not any(columns.get(q) for q in QUANTITIES):
        raise ValueError(f"no quantity column mapped (any of {', '.join(QUANTITIES)})")


class CsvExportConnector:
    kind = "csv-export"

    def __init__(self, system: str, path: Path, columns: dict[str, str], *,
                 timezone: str = "UTC", page_size: int | None = None) -> None:
        self.system = system
        self.path = path
        self.columns = columns
        self.zone = ZoneInfo(timezone)
        self.page_size = page_size or ROWS_PER_PAGE
        self.stats = RunStats()

    async def aclose(self) -> None:
        return None

    async def read(self, window: Window) -> AsyncIterator[Page]:
        rows = await asyncio.to_thread(self._read_all)
        for start in range(0, len(rows), self.page_size):
            yield Page(counts=rows[start:start + self.page_size])

    async def read_sku(self, sku: str) -> AsyncIterator[Page]:
        rows = [row for row in await asyncio.to_thread(self._read_all) if row.sku == sku]
        yield Page(counts=rows)

    def _files(self) -> list[Path]:
        if self.path.is_dir():
            return sorted((f for f in self.path.iterdir()
                           if f.suffix.lower() == ".csv" and f.is_file()),
                          key=lambda f: (f.stat().st_mtime, f.name))
        if not self.path.is_file():
            raise PayloadError(f"{self.system}: {self.path} is not there (no export yet?)")
        return [self.path]

    def _read_all(self) -> list[CountRow]:
        newest: dict[tuple[str, str], CountRow] = {}
        skipped: list[str] = []
        for file in self._files():
            self.stats.requests += 1  # one file read
            for row in self._read_file(file, skipped):
                newest[(row.sku, row.location_id)] = row
        if skipped:
            more = f" (and {len(skipped) - NOTES_KEPT} more)" if len(skipped) > NOTES_KEPT \
                else ""
            self.stats.notes.append(f"{len(skipped)} malformed rows skipped: "
                                    f"{'; '.join(skipped[:NOTES_KEPT])}{more}")
        return list(newest.values())

    def _read_file(self, file: Path, skipped: list[str]) -> list[CountRow]:
        try:
            text = file.read_text(encoding="utf-8-sig")
            modified = int(file.stat().st_mtime)
        except (OSError, UnicodeDecodeError) as exc:
            raise PayloadError(f"{self.system}: {file.name}: cannot be read "
                               f"({type(exc).__name__})") from None
        header_line = text.split("\n", 1)[0]
        delimiter = max(",;\t|", key=header_line.count)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = next(reader, None)
        if not header:
            return []  # an empty export: nothing to say
        where = {name.strip(): i for i, name in enumerate(header)}
        index: dict[str, int] = {}
        for key, column in self.columns.items():
            if column not in where:
                raise PayloadError(f"{self.system}: {file.name}: no column {column!r} "
                                   f"(columns.{key}); the header has "
                                   f"{', '.join(repr(h) for h in header[:8])}")
            index[key] = where[column]
        rows = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue  # a blank line
            try:
                rows.append(self._row(values, index, modified))
            except ValueError as problem:
                skipped.append(f"{file.name} line {reader.line_num}: {problem}")
        return rows

    def _row(self, values: list[str], index: dict[str, int], modified: int) -> CountRow:
        def cell(key: str) -> str:
            i = index.get(key)
            if i is None:
                return ""
            if i >= len(values):
                raise ValueError(f"{self.columns[key]!r} is missing (short row)")
            return values[i].strip()

        sku, location = cell("sku"), cell("location")
        if not sku or not location:
            raise ValueError(f"no {'SKU' if not sku else 'location'}")
        quantities = {}
        for key in QUANTITIES:
            text = cell(key)
            try:
                quantities[key] = whole(text) if text else None
            except ValueError:
                raise ValueError(f"{self.columns[key]} {text[:30]!r} is not a number in range"
                                 ) from None
        stamp = cell("updated_at")
        try:
            updated = self._time(stamp) if stamp else modified
        except ValueError:
            raise ValueError(f"{self.columns['updated_at']} {stamp[:30]!r} is not a time") \
                from None
        return CountRow(sku, location, quantities["on_hand"], quantities["available"],
                        quantities["allocated"], quantities["in_transit"], updated,
                        cell("name") or None)

    def _time(self, text: str) -> int:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.zone)
        return int(parsed.timestamp())
