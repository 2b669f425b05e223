"""A spreadsheet export as an in-house system or a small WMS writes one (the csv-export
vendor of a scenario's `[vendors]`): one row per SKU and location, with the system's own
column names and its own last-changed time, as of the simulator's clock."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

from app.simulator.world import World

COLUMNS = {"sku": "Item", "name": "Description", "location": "Warehouse",
           "on_hand": "On hand", "available": "Available", "allocated": "Allocated",
           "in_transit": "In transit", "updated_at": "Last changed"}
"""seamdesk field → this export's column (what --write-config puts in `columns`)."""


def write_export(world: World, role: str, path: Path) -> None:
    """The role's counts as a CSV file, replaced atomically (a reader never sees half)."""
    header, rows = list(COLUMNS.values()), []
    for (location, sku), count in sorted(world.view(role).items()):
        if role not in world.location_index[location].systems:
            continue
        on_hand, available, allocated, in_transit, updated = count
        changed = "" if updated is None else _local(updated)
        rows.append([sku, world.item_index[sku].name or "", location, _n(on_hand),
                     _n(available), _n(allocated), _n(in_transit), changed])
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with partial.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(partial, path)


def _n(value: int | None) -> str:
    return "" if value is None else str(value)


def _local(epoch: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))  # UTC, no zone mark
