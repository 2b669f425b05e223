"""All locations of a SKU at once (locations × systems): on hand/available per system and
the findings per location, so a pool-boundary problem shows at a glance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from app.diagnosis.catalogue import SYSTEM_WIDE
from app.records import COMPARED as SYSTEMS
from app.records import SHORT
from widgets.count_panel import number_text

if TYPE_CHECKING:
    from app.lookup import SkuLookup



class LocationGrid(DataTable):
    class Chosen(Message):
        """enter on a row: show that location."""

        def __init__(self, location: str) -> None:
            super().__init__()
            self.location = location

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.Chosen(event.row_key.value))

    def on_mount(self) -> None:
        self.cursor_type, self.zebra_stripes = "row", True
        self.add_column("Location", width=12, key="location")
        for system in SYSTEMS:
            self.add_column(f"{SHORT[system]} oh/av", width=12, key=system)
        self.add_column("Findings", key="findings")

    def fill(self, result: SkuLookup | None, location: str | None) -> None:
        self.clear()
        if result is None:
            return
        for loc in result.locations:
            label = loc.location if loc.mapped else f"? {loc.location_name or loc.location}"
            cells = [Text(label)]
            for system in SYSTEMS:
                obs = loc.counts.get(system)
                cell = Text("—" if obs is None else
                            f"{number_text(obs.on_hand)}/{number_text(obs.available)}")
                if any((system, q) in loc.conflicts for q in ("on_hand", "available")):
                    cell.stylize("bold reverse")
                cells.append(cell)
            codes = [f.code for f in loc.findings if f.code not in SYSTEM_WIDE]
            cells.append(Text(", ".join(codes) or "agree", style="" if codes else "dim"))
            self.add_row(*cells, key=loc.location)
        codes = [loc.location for loc in result.locations]
        if location in codes:
            self.move_cursor(row=codes.index(location))
