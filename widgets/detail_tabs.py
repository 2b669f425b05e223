"""Findings | All locations | History under the comparison (their keys in the labels:
the footer has no room for them at 80 columns). Imported and mounted after
the lookup screen's first paint (the data table and tabs are the heaviest widgets on it)."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static, TabbedContent, TabPane

from widgets.location_grid import LocationGrid


class DetailTabs(TabbedContent):
    class Ready(Message):
        """The tabs are mounted: their contents can be filled."""

    def __init__(self) -> None:
        super().__init__(id="tabs", initial="findings")
        # What `with TabPane(...)` does inside a compose(), for a widget built outside one.
        self.compose_add_child(TabPane("Findings (f)", VerticalScroll(id="cards"), id="findings"))
        self.compose_add_child(TabPane("All locations (a)", LocationGrid(id="grid"),
                                       id="locations"))
        self.compose_add_child(TabPane("History (h)", VerticalScroll(Static(id="timeline"),
                                                                 id="history-scroll"),
                                       id="history"))

    def on_mount(self) -> None:
        self.post_message(self.Ready())
