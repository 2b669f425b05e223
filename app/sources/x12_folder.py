"""Supplier confirmations from an EDI drop folder (supplier role): the X12 855 and 865
files a supplier's translator leaves there, read with app.sources.x12.

Every read lists the folder as it is (a drop folder has no "changed since": files are
the state, and the refresh never treats a read of it as a full listing, because files
are archived once picked up). Each line of the newest acknowledgment of each PO becomes
an order line: quantity = what the PO asked for (PO102 / POC03), confirmed = what the
ACKs commit, version = the PO version the set answers (855: 1; 865: 1 + the change
order sequence), confirmed_at = when the supplier acknowledged. 860s are the buyer's
own change orders, not confirmations, and are skipped. A file that breaks the rules
does not hide the others, but the run ends with its error (partial, so the cache keeps
its last good view and the file is named on the status screen).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import tzinfo
from pathlib import Path

from app.records import OrderLineRow, Page, RunStats
from app.sources.base import Window
from app.sources.x12 import Acknowledgment, X12Error, read_folder

CONFIRMING = ("855", "865")
ROWS_PER_PAGE = 500


class X12FolderConnector:
    kind = "x12-folder"

    def __init__(self, system: str, folder: Path, *, timezone: tzinfo,
                 page_size: int | None = None) -> None:
        self.system = system
        self.folder = folder
        self.timezone = timezone
        self.page_size = page_size or ROWS_PER_PAGE
        self.stats = RunStats()

    async def aclose(self) -> None:
        return None

    async def read(self, window: Window) -> AsyncIterator[Page]:
        found = await asyncio.to_thread(read_folder, self.folder, tz=self.timezone)
        self.stats.requests += 1  # one listing of the folder
        rows = newest_lines(found.acknowledgments)
        for start in range(0, len(rows), self.page_size):
            yield Page(orders=rows[start:start + self.page_size])
        if found.errors:
            more = f" (and {len(found.errors) - 1} more files)" if len(found.errors) > 1 else ""
            raise X12Error(f"{self.system}: {found.errors[0].message}{more}")

    async def read_sku(self, sku: str) -> AsyncIterator[Page]:
        """Files are per PO: a SKU re-read reads nothing here."""
        for page in ():
            yield page


def newest_lines(acknowledgments: list[Acknowledgment]) -> list[OrderLineRow]:
    """One row per (PO, line): the line as the newest confirmation says it."""
    newest: dict[tuple[str, str], tuple[tuple, OrderLineRow]] = {}
    for ack in acknowledgments:
        if ack.kind not in CONFIRMING:
            continue
        rank = (ack.version or 0, ack.acknowledged_at, ack.control_number)
        for line in ack.lines:
            if not line.sku:
                continue  # no part number of ours or theirs: nothing to join it to
            row = OrderLineRow(
                number=ack.po_number, line=line.line, sku=line.sku, kind="purchase",
                quantity=_whole(line.ordered_qty), version=ack.version,
                changed_at=ack.acknowledged_at, status=line.status or ack.status,
                confirmed=_whole(line.confirmed_qty), confirmed_at=ack.acknowledged_at,
                source_id=f"{Path(ack.source).name}#{ack.control_number}")
            key = (row.number, row.line)
            if key not in newest or rank > newest[key][0]:
                newest[key] = (rank, row)
    return [row for _, row in newest.values()]


def _whole(quantity: float | None) -> int | None:
    return None if quantity is None else round(quantity)


__all__ = ["X12Error", "X12FolderConnector", "newest_lines"]
