"""The side-by-side comparison (WMS | ERP | Storefront) and the handoff line under it.

Numbers come from the systems, so every cell is a rich Text built from plain strings,
never markup. Disagreement is shown by colour and by a "≠" naming the other side, so it
still reads in 16 colours, NO_COLOR and in a plain-text export.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from app.clock import age_text, clock_text
from app.diagnosis.compare import QUANTITIES
from app.records import COMPARED as SYSTEMS
from app.records import SHORT, TITLES

if TYPE_CHECKING:  # types only: the data layer loads after the first paint
    from app.lookup import LocationLookup, SkuLookup

MAX_WIDTH = 96
ROWS = {"on_hand": "On hand", "available": "Available", "allocated": "Allocated",
        "in_transit": "In transit"}


def number_text(value: int | None) -> str:
    """A count as shown: the number, or a dash where the system has no such number."""
    return "—" if value is None else str(value)


class CountPanel(Static):
    """The comparison for one location of the looked-up SKU."""

    DEFAULT_CSS = """
    CountPanel { height: auto; padding: 0 1; }
    """

    def show(self, result: SkuLookup | None, loc: LocationLookup | None) -> None:
        self._shown = (result, loc)
        if result is None or loc is None:
            self.update(Text("Type a SKU or item name above (or press ctrl+p) to compare what "
                             "the WMS, the ERP and the storefront say.", style="dim"))
            return
        self.update(self._table(result, loc))

    def on_resize(self) -> None:
        if getattr(self, "_shown", None):
            self.show(*self._shown)

    def _table(self, result: SkuLookup, loc: LocationLookup) -> Table:
        theme = self.app.current_theme
        warn = f"bold {theme.warning or 'yellow'}"
        bad = f"bold {theme.error or 'red'}"
        # Wide terminals get a compact table, not numbers a screen apart from their labels.
        width = max(min(self.size.width - 2, MAX_WIDTH), 20)  # never wider than the panel
        roomy = width >= 90  # room for each system's kind beside its name
        table = Table(box=None, width=width, padding=(0, 1), show_edge=False)
        table.add_column(Text("times UTC", style="dim"), width=10, no_wrap=True)
        for system in SYSTEMS:
            heading = Text(TITLES[system], style="bold")
            kind = result.systems[system].kind if system in result.systems else "not set up"
            if roomy or system not in result.systems:
                heading.append(f" {kind}", style="dim")
            if loc.stale.get(system) and system in result.systems:
                heading.append(" STALE", style=bad)
            table.add_column(heading, justify="right", ratio=1, no_wrap=True)
        for quantity in QUANTITIES:
            cells = [Text(ROWS[quantity])]
            for system in SYSTEMS:
                obs = loc.counts.get(system)
                value = getattr(obs, quantity) if obs else None
                cell = Text(number_text(value), style="bold")
                others = loc.conflicts.get((system, quantity))
                if others:
                    cell.stylize(warn)
                    cell.append(" ≠" + ",".join(SHORT[o] for o in others), style=warn)
                cells.append(cell)
            table.add_row(*cells)
        cell_width = (width - 16) // 3  # the label column, and a space each side of a cell
        for label, attr in (("Updated", "updated_at"), ("Read", "read_at")):
            cells = [Text(label, style="dim")]
            for system in SYSTEMS:
                obs = loc.counts.get(system)
                moment = getattr(obs, attr) if obs else None
                if moment is None:
                    cells.append(Text("—", style="dim"))
                    continue
                stale = attr == "read_at" and loc.stale.get(system)
                when = clock_text(moment, loc.now).removesuffix(" UTC")  # zone: column head
                text = f"{when} · {age_text(loc.now - moment)}"
                if len(text) > cell_width:  # another day's date: "1 d ago" loses its "ago"
                    text = text.removesuffix(" ago")
                cells.append(Text(text, style=bad if stale else "dim"))
            table.add_row(*cells)
        return table


class HandoffLine(Static):
    """WMS ──✓──▶ ERP ──✗──▶ Storefront, with when the three last agreed."""

    DEFAULT_CSS = """
    HandoffLine { height: auto; padding: 0 1; }
    """

    def show(self, loc: LocationLookup | None) -> None:
        if loc is None:
            self.update("")
            return
        theme = self.app.current_theme
        line = Text()
        if not loc.mapped:
            line.append("Not in [locations]: this location is compared with nothing.",
                        style=f"bold {theme.warning or 'yellow'}")
            self.update(line)
            return
        broken = loc.broken
        for name, (left, right) in (("wms->erp", ("WMS", "ERP")),
                                    ("erp->storefront", ("", "Storefront"))):
            if left:
                line.append(left, style="bold")
            if name in broken:
                line.append(" ──✗ broken──▶ ", style=f"bold {theme.error or 'red'}")
            else:
                line.append(" ──✓──▶ ", style=theme.success or "green")
            line.append(right, style="bold")
        line.append("   ")
        line.append(loc.agreement().split(";")[0], style="dim")  # the detail is in History
        self.update(line)
