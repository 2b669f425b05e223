"""The dialog behind every queue action: says exactly what will change (one exception, or
how many the filter matches) and asks for what the action needs (a note, an assignee, how
long to snooze). Enter confirms, escape cancels."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

ASKS = {"resolve": "Resolution note (required): what was done",
        "correct": "Resolved by correcting the number by hand: what was re-keyed (required)",
        "assign": "Assign to (an owner role or a person)",
        "snooze": "Snooze for how many hours",
        "acknowledge": "Note (optional)", "reopen": "Why reopen (optional)"}


@dataclass(frozen=True, slots=True)
class Request:
    action: str
    value: str  # the note, the assignee or the hours


class ActionDialog(ModalScreen[Request | None]):
    CSS_PATH = "queue_action.tcss"
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="cancel")]

    def __init__(self, action: str, what: str, suggestion: str = "") -> None:
        super().__init__()
        self.action, self.what, self.suggestion = action, what, suggestion

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(f"{self.action.capitalize()} {self.what}?", style="bold"))
            yield Static(Text(ASKS[self.action], style="dim"))
            yield Input(value=self.suggestion, id="value")
            yield Static(Text("enter: confirm · escape: cancel", style="dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(Request(self.action, event.value.strip()))
