"""The first-response checklist: six steps, each filled from the cache, each confirmed,
corrected or annotated by the operator, ending in an escalation packet.

Every change is saved in the cache (a thread worker), so leaving and coming back, or
resuming from another terminal, keeps what was entered. A step confirmed against facts
the cache no longer holds (a refresh or re-read landed since) shows as changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Input, Static, Tab, Tabs

from app.checklist.state import STEPS
from app.checklist.steps import handoff_sentence, lead_finding, owner_text
from app.checklist.symptoms import symptom
from screens.base import DeskScreen
from widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from app.checklist.case import Case
    from app.checklist.escalate import Outcome
    from app.checklist.state import Checklist
    from app.checklist.steps import Step
    from app.checklist.webhook import Sent

SHORT = ("Counts", "Window", "Changes", "Queues", "Handoff", "Packet")  # fits 80 columns
MARKS = {"done": ("✓", "green"), "changed": ("!", "yellow"), "to do": ("·", "dim")}
HINTS = {
    1: "r re-reads this SKU from the three systems first (recommended), then space confirms.",
    2: "Space confirms; n adds a note (e.g. a time you know better).",
    3: "Add what the systems cannot know with n: config changes, releases, new channels.",
    4: "Space confirms; n notes a queue or backlog you checked elsewhere.",
    5: "Edit the sentence and the owner if you know better, then space confirms.",
    6: "w writes the packet (Markdown, JSON, text and SVG); p sends it to the ticket webhook.",
}
READ_ONLY_HINTS = {  # what a read-only session can do instead (no re-read, no sending)
    1: "Space confirms the counts as the cache holds them (a read-only session cannot "
       "re-read).",
    6: "w writes the packet (Markdown, JSON, text and SVG) for you to attach to a ticket.",
}


class CaseLoaded(Message):
    def __init__(self, case: Case, steps: list[Step]) -> None:
        super().__init__()
        self.case, self.steps = case, steps


class PacketWritten(Message):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__()
        self.outcome = outcome


class PacketSent(Message):
    def __init__(self, sent: Sent) -> None:
        super().__init__()
        self.sent = sent


class ChecklistScreen(DeskScreen):
    OFFERS_CHECKLIST = False  # c (start a checklist) means nothing here
    CSS_PATH = "checklist.tcss"
    BINDINGS = [
        Binding("space,c", "confirm", "Confirm", id="confirm"),
        Binding("enter", "confirm_next", "Confirm, next", id="confirm_next", show=False),
        Binding("n", "note", "Note", id="note"),
        Binding("r", "reread", "Re-read", id="checklist_reread"),
        Binding("w", "write", "Write packet", id="write_packet"),
        Binding("p", "send", "Send", id="send_packet"),
        Binding("escape", "back", "Back", id="checklist_back"),
    ]

    def __init__(self, checklist: Checklist) -> None:
        super().__init__()
        self.checklist = checklist
        self.case: Case | None = None
        self.steps: list[Step] = []
        self.index = 0
        self.outcome: Outcome | None = None

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield Static(id="case-title")
        yield Tabs(*(Tab(f"· {n} {name}", id=f"step-{n}") for n, name in enumerate(SHORT, 1)),
                   id="steps")
        yield Static(id="heading")
        with VerticalScroll(id="facts-scroll"):
            yield Static(id="facts")
        with Horizontal(classes="field", id="sentence-row"):
            yield Static("Handoff ", classes="label")
            yield Input(placeholder="the handoff, in one sentence", id="sentence")
        with Horizontal(classes="field", id="owner-row"):
            yield Static("Owner   ", classes="label")
            yield Input(placeholder="person or team", id="owner")
        with Horizontal(classes="field", id="note-row"):
            yield Static("Note    ", classes="label")
            yield Input(placeholder="a correction or what you know (n; enter saves)", id="note")
        yield Static(id="hint")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.title = "Checklist"
        c = self.checklist
        title = Text(f"{c.sku} @ {c.location}", style="bold")
        title.append(f"  {c.symptom}. {symptom(c.symptom).words}", style="dim")
        self.query_one("#case-title", Static).update(title)
        self.query_one("#steps", Tabs).focus()
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="case")
    def load(self) -> None:
        self.post_message(CaseLoaded(*self.app.desk.open_checklist(self.checklist)))

    def on_case_loaded(self, message: CaseLoaded) -> None:
        first = self.case is None
        self.case, self.steps = message.case, message.steps
        if first:  # open on the first step still to do
            statuses = [self.checklist.status(s) for s in self.steps]
            self.index = next((i for i, s in enumerate(statuses) if s != "done"), 0)
        self._fill_steps()
        self._show()

    # -- showing ---------------------------------------------------------------------------
    def _fill_steps(self) -> None:
        tabs = self.query_one("#steps", Tabs)
        for step, name in zip(self.steps, SHORT, strict=True):
            mark, style = MARKS[self.checklist.status(step)]
            label = Text(f"{mark} ", style=style)
            label.append(f"{step.number} {name}")
            tabs.query_one(f"#step-{step.number}", Tab).label = label
        tabs.active = f"step-{self.index + 1}"

    def _show(self) -> None:
        if not self.steps:
            return
        step, case = self.steps[self.index], self.case
        status = self.checklist.status(step)
        heading = Text(f"{step.number}. {step.title}", style="bold")
        heading.append(f"  {status}", style=MARKS[status][1])
        state = self.checklist.steps[step.number - 1]
        if status == "changed":
            heading.append("  (the cache changed since you confirmed it)", style="yellow")
        self.query_one("#heading", Static).update(heading)
        facts = Text("\n".join(step.facts) if step.facts else "")
        if step.number == STEPS:
            facts = self._packet_text()
        self.query_one("#facts", Static).update(facts)
        handoff = step.number == 5
        sentence, owner = self.query_one("#sentence", Input), self.query_one("#owner", Input)
        for row in ("#sentence-row", "#owner-row"):
            self.query_one(row).display = handoff
        if handoff:
            lead = lead_finding(case)
            sentence.value = self.checklist.sentence or handoff_sentence(case)
            owner.value = self.checklist.owner or owner_text(lead, case.owners)
        note = self.query_one("#note", Input)
        self.query_one("#note-row").display = step.number != STEPS
        note.value = state.note
        hints = {**HINTS, **READ_ONLY_HINTS} if self.app.read_only else HINTS
        self.query_one("#hint", Static).update(Text(hints[step.number], style="dim"))
        self.refresh_bindings()

    def _packet_text(self) -> Text:
        statuses = [self.checklist.status(s) for s in self.steps[:-1]]
        done = statuses.count("done")
        text = Text(f"Steps confirmed: {done} of {len(statuses)}")
        if done < len(statuses):
            todo = [str(s.number) for s, st in zip(self.steps, statuses, strict=False)
                    if st != "done"]
            text.append(f" (still to do: {', '.join(todo)}; the packet says so)", style="yellow")
        text.append("\n")
        if self.outcome is not None:
            text.append(f"\nWritten to {self.outcome.written.folder}\n")
            for path in self.outcome.written.files:
                text.append(f"  {path.name}\n")
            for warning in self.outcome.warnings:
                text.append(f"Warning: {warning}\n", style="yellow")
        elif self.checklist.packet:
            text.append(f"\nWritten earlier to {self.checklist.packet}\n")
        webhook = self.app.desk.config.settings.handoff.webhook_url
        text.append("\nTicket webhook: " + (webhook or "none configured ([handoff] "
                                                      "webhook_url)"), style="dim")
        return text

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        step = self.steps[self.index].number if self.steps else 0
        if action == "reread":
            return step == 1
        if action in ("write", "send"):
            return step == STEPS
        if action == "note":
            return step != STEPS
        return True

    # -- moving ----------------------------------------------------------------------------
    @on(Tabs.TabActivated, "#steps")
    def _moved(self, event: Tabs.TabActivated) -> None:
        index = int(event.tab.id.removeprefix("step-")) - 1
        if index != self.index and self.steps:
            self._keep_inputs()
            self.index = index
            self._show()

    def action_confirm_next(self) -> None:
        """Enter: confirm this step and go on to the next (step 6: write the packet)."""
        if not self.steps:
            return
        if self.steps[self.index].number == STEPS:
            self.action_write()
            return
        self._keep_inputs()
        if self.checklist.status(self.steps[self.index]) != "done":
            self.checklist.confirm(self.steps[self.index], self.app.desk.now())
        self.index = min(self.index + 1, len(self.steps) - 1)
        self._saved()

    def _keep_inputs(self) -> None:
        """What the operator typed on this step, kept in the checklist (moving between
        steps, leaving and resuming keep it)."""
        if not self.steps:
            return
        step = self.steps[self.index]
        if step.number != STEPS:
            self.checklist.annotate(step, self.query_one("#note", Input).value)
        if step.number == 5:
            self.checklist.sentence = self.query_one("#sentence", Input).value.strip() or None
            self.checklist.owner = self.query_one("#owner", Input).value.strip() or None

    def _saved(self) -> None:
        self._fill_steps()
        self._show()
        self.save()

    @work(thread=True, exclusive=True, exit_on_error=False, group="save")
    def save(self) -> None:
        self.app.desk.save_checklist(self.checklist)

    # -- actions ---------------------------------------------------------------------------
    def action_confirm(self) -> None:
        if not self.steps:
            return
        step = self.steps[self.index]
        if step.number == STEPS:
            self.action_write()
            return
        self._keep_inputs()
        if self.checklist.status(step) == "done":
            self.checklist.unconfirm(step)
        else:
            self.checklist.confirm(step, self.app.desk.now())
        self._saved()

    def action_note(self) -> None:
        self.query_one("#note", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self._keep_inputs()
        self._saved()
        self.query_one("#steps", Tabs).focus()

    def action_back(self) -> None:
        if isinstance(self.focused, Input):
            self._keep_inputs()
            self.save()
            self.query_one("#steps", Tabs).focus()
            return
        self._keep_inputs()
        self.save()
        if self.checklist.packet is None:
            self.notify("Saved. Resume it from the checklist screen's Unfinished tab (c).")
        self.app.pop_screen()

    def action_reread(self) -> None:
        if self.app.read_only:
            self.notify("Read-only session: re-reading from the systems is not allowed here.",
                        severity="warning")
            return
        self.notify(f"Re-reading {self.checklist.sku} from the three systems…", markup=False)
        self.reread()

    @work(exclusive=True, exit_on_error=False, group="reread")
    async def reread(self) -> None:
        desk = await self.app.open_desk()
        results = await desk.reread(self.checklist.sku)
        for result in results:
            if result.status != "complete":
                self.notify(result.summary(), title=f"{result.system} re-read {result.status}",
                            severity="error", timeout=10, markup=False)
        self.load()

    def action_write(self) -> None:
        self._keep_inputs()
        self.notify("Writing the packet…")
        self.write()

    @work(thread=True, exclusive=True, exit_on_error=False, group="packet")
    def write(self) -> None:
        from app.snapshot import lookup_svg

        desk = self.app.desk
        self.post_message(PacketWritten(desk.write_packet(
            self.checklist, lambda sku, location: lookup_svg(desk, sku, location))))

    def on_packet_written(self, message: PacketWritten) -> None:
        self.outcome = message.outcome
        self.notify(f"Packet written to {message.outcome.written.folder}", title="Packet",
                    markup=False, timeout=8)
        self._fill_steps()
        self._show()

    def action_send(self) -> None:
        if self.app.read_only:
            self.notify("Read-only session: sending packets is not allowed here.",
                        severity="warning")
            return
        if self.outcome is None:
            self.notify("Write the packet first (w): it stays on disk whatever the webhook "
                        "says.", severity="warning")
            return
        self.send(self.outcome.packet)

    @work(thread=True, exclusive=True, exit_on_error=False, group="send")
    def send(self, packet: dict) -> None:
        self.post_message(PacketSent(self.app.desk.send_packet(packet)))

    def on_packet_sent(self, message: PacketSent) -> None:
        self.notify(message.sent.text, title="Ticket webhook", markup=False, timeout=10,
                    severity="information" if message.sent.ok else "error")
