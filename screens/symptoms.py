"""Where a checklist starts: what the operator saw (the ten symptoms, in their words) for a
SKU at a location, or an unfinished checklist to resume, or a packet written earlier."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Footer, Input, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from app.checklist.symptoms import SYMPTOMS, symptom
from app.clock import stamp
from screens.base import DeskScreen
from widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from app.checklist.packet import Listed
    from app.checklist.state import Checklist


class Listings(Message):
    def __init__(self, unfinished: list[Checklist], packets: list[Listed]) -> None:
        super().__init__()
        self.unfinished, self.packets = unfinished, packets


class Started(Message):
    def __init__(self, checklist: Checklist) -> None:
        super().__init__()
        self.checklist = checklist


def symptom_for(code: str | None) -> int:
    """The symptom whose findings include a code (a queue row's), else 'don't know'."""
    return next((s.number for s in SYMPTOMS if code in s.codes and s.number != 10), 10)


class SymptomScreen(DeskScreen):
    OFFERS_CHECKLIST = False  # c (start a checklist) means nothing here
    CSS_PATH = "symptoms.tcss"
    BINDINGS = [
        Binding("s", "tab('start')", "Start", id="start"),
        Binding("u", "tab('resume')", "Unfinished", id="resume"),
        Binding("k", "tab('packets')", "Packets", id="packets"),
        Binding("escape", "back", "Back", id="symptoms_back"),
        # The list is numbered: a digit goes to that symptom (0 is 10), and enter starts it.
        # (Described once, so help shows one line for the ten keys.)
        *(Binding(str(n % 10), f"pick({n})", "" if n > 1 else "Go to symptom N",
                  show=False, key_display="0-9") for n in range(1, len(SYMPTOMS) + 1)),
    ]

    def __init__(self, sku: str | None = None, location: str | None = None,
                 suggested: int | None = None) -> None:
        super().__init__()
        self._sku, self._location, self._suggested = sku, location, suggested
        self._unfinished: list[Checklist] = []
        self._packets: list[Listed] = []

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        with TabbedContent(id="tabs", initial="start"):
            with TabPane("Start", id="start"):
                with Horizontal(id="where"):
                    yield Input(self._sku or "", placeholder="SKU", id="sku")
                    yield Input(self._location or "", placeholder="location (optional)",
                                id="location")
                yield Static("What did you see? (enter starts the checklist)", id="ask")
                yield OptionList(*(Option(f"{s.number:>2}  {s.words}", id=str(s.number))
                                   for s in SYMPTOMS), id="symptoms")
            with TabPane("Unfinished", id="resume"):
                yield OptionList(id="unfinished")
            with TabPane("Packets", id="packets"):
                yield OptionList(id="packet-list")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "Checklist"
        symptoms = self.query_one("#symptoms", OptionList)
        symptoms.highlighted = (self._suggested or 1) - 1
        if self._sku:
            symptoms.focus()
        else:
            self.query_one("#sku", Input).focus()
        self.list_saved()

    def on_screen_resume(self) -> None:
        self.list_saved()

    @work(thread=True, exclusive=True, exit_on_error=False, group="listings")
    def list_saved(self) -> None:
        desk = self.app.desk
        self.post_message(Listings(desk.unfinished_checklists(), desk.packets()))

    def on_listings(self, message: Listings) -> None:
        self._unfinished, self._packets = message.unfinished, message.packets
        unfinished = self.query_one("#unfinished", OptionList)
        unfinished.clear_options()
        for item in message.unfinished:
            line = Text(f"{stamp(item.updated_at)}  ", style="dim")
            line.append(f"{item.sku} @ {item.location}", style="bold")
            line.append(f"  {symptom(item.symptom).words}  ({item.operator})")
            unfinished.add_option(Option(line, id=str(item.id)))
        if not message.unfinished:
            unfinished.add_option(Option(Text("No unfinished checklists.", style="dim"),
                                         disabled=True))
        packets = self.query_one("#packet-list", OptionList)
        packets.clear_options()
        for index, item in enumerate(message.packets):
            line = Text(f"{item.folder.name}\n", style="bold")
            line.append(f"  {item.sentence}", style="dim")
            packets.add_option(Option(line, id=str(index)))
        if not message.packets:
            packets.add_option(Option(Text("No packets written yet.", style="dim"),
                                      disabled=True))
        unfinished.highlighted = packets.highlighted = 0
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("resume").label = f"Unfinished ({len(message.unfinished)})"
        tabs.get_tab("packets").label = f"Packets ({len(message.packets)})"

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        target = {"start": "#symptoms", "resume": "#unfinished", "packets": "#packet-list"}
        self.query_one(target[tab]).focus()

    def action_pick(self, number: int) -> None:
        self.action_tab("start")
        self.query_one("#symptoms", OptionList).highlighted = number - 1

    def action_back(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one("#symptoms").focus()
        else:
            self.app.pop_screen()

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        self.query_one("#location" if event.input.id == "sku" else "#symptoms").focus()

    @on(OptionList.OptionSelected, "#symptoms")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        sku = self.query_one("#sku", Input).value.strip()
        if not sku:
            self.notify("Type the SKU first.", severity="warning")
            self.query_one("#sku", Input).focus()
            return
        location = self.query_one("#location", Input).value.strip() or None
        self.start(sku, location, int(event.option.id))

    @work(thread=True, exclusive=True, exit_on_error=False, group="start")
    def start(self, sku: str, location: str | None, number: int) -> None:
        self.post_message(Started(self.app.desk.start_checklist(sku, location, number)))

    def on_started(self, message: Started) -> None:
        if message.checklist.id is None:  # not saved: this user may only read the cache
            self.notify("The cache is read-only for you: this checklist cannot be resumed "
                        "later. Write its packet (step 6) before you leave.",
                        title="Not saved", timeout=10)
        self.open(message.checklist)

    @on(OptionList.OptionSelected, "#unfinished")
    def _resume(self, event: OptionList.OptionSelected) -> None:
        chosen = next((c for c in self._unfinished if str(c.id) == event.option.id), None)
        if chosen is not None:
            self.open(chosen)

    @on(OptionList.OptionSelected, "#packet-list")
    def _show_packet(self, event: OptionList.OptionSelected) -> None:
        from screens.packet_view import PacketView

        self.app.push_screen(PacketView(self._packets[int(event.option.id)].folder))

    def open(self, checklist: Checklist) -> None:
        from screens.checklist import ChecklistScreen

        self.app.push_screen(ChecklistScreen(checklist))
