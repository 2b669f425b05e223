"""A packet written earlier: its Markdown as plain text, and sending it to the ticket
webhook (for one written headless, or one whose post failed)."""

from __future__ import annotations

from pathlib import Path

import orjson
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Static

from screens.base import DeskScreen
from widgets.status_header import StatusHeader


class PacketRead(Message):
    def __init__(self, markdown: str, packet: dict) -> None:
        super().__init__()
        self.markdown, self.packet = markdown, packet


class PacketView(DeskScreen):
    OFFERS_CHECKLIST = False  # c (start a checklist) means nothing here
    CSS_PATH = "packet_view.tcss"
    BINDINGS = [
        Binding("p", "send", "Send", id="send_written"),
        Binding("escape", "app.pop_screen", "Back", id="packet_back"),
    ]

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        self.packet: dict | None = None

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static(Text(str(self.folder), style="dim"), id="case-title")
        with VerticalScroll(id="packet-scroll"):
            yield Static(id="packet-text")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "Packet"
        self.query_one("#packet-scroll").focus()
        self.read()

    @work(thread=True, exclusive=True, exit_on_error=False, group="read")
    def read(self) -> None:
        markdown = (self.folder / "packet.md").read_text(encoding="utf-8")
        packet = orjson.loads((self.folder / "packet.json").read_bytes())
        self.post_message(PacketRead(markdown, packet))

    def on_packet_read(self, message: PacketRead) -> None:
        self.packet = message.packet
        self.query_one("#packet-text", Static).update(Text(message.markdown))  # never markup

    def action_send(self) -> None:
        if self.app.read_only:
            self.notify("Read-only session: sending packets is not allowed here.",
                        severity="warning")
        elif self.packet is not None:
            self.send(self.packet)

    @work(thread=True, exclusive=True, exit_on_error=False, group="send")
    def send(self, packet: dict) -> None:
        sent = self.app.desk.send_packet(packet)
        self.app.call_from_thread(
            self.notify, sent.text, title="Ticket webhook", markup=False, timeout=10,
            severity="information" if sent.ok else "error")
