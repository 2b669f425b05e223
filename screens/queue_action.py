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

    def __init__(self, action: str, what: str, suggestion: str = "",
                 roles: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.action, self.what, self.suggestion, self.roles = action, what, suggestion, roles

    def compose(self) -> ComposeResult:
        ask = ASKS[self.action]
        if self.action == "assign" and self.roles:
            ask += f"; roles: {', '.join(self.roles)}"
        with Vertical(id="dialog"):
            yield Static(Text(f"{self.action.capitalize()} {self.what}?", style="bold"))
            yield Static(Text(ask, style="dim"))
            yield Input(value=self.suggestion, id="value")
            yield Static(id="problem")
            yield Static(Text("enter: confirm · escape: cancel", style="dim"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        problem = missing(self.action, value)
        if problem:  # said here, the dialog still open with what was typed
            shown = self.query_one("#problem", Static)
            shown.update(Text(problem, style="bold"))
            shown.display = True
            return
        self.dismiss(Request(self.action, value))


def missing(action: str, value: str) -> str | None:
    """What the action still needs from the operator, or None when the value will do."""
    if action in ("resolve", "correct") and not value:
        return "A note is required: what was done."
    if action == "assign" and not value:
        return "Say to whom: an owner role or a person."
    if action == "snooze":
        try:
            hours = float(value)
        except ValueError:
            hours = 0
        if not 0 < hours < 24 * 366:  # (a NaN is neither)
            return "A number of hours, more than 0 (e.g. 24, or 0.5 for half an hour)."
    return None
