"""Who is at the terminal: a small prompt (ctrl+o, or after an idle sign-out). Every queue
and checklist action records the name given here."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

MAX_NAME = 64


class OperatorScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    OperatorScreen { align: center middle; }
    #operator-box {
        width: 60; max-width: 100%; height: auto;
        border: round $accent; background: $panel; padding: 0 1;
    }
    #operator-box Input { margin: 1 0 0 0; }
    """
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="cancel_operator")]

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="operator-box"):
            yield Static(Text("Who is at the terminal?", style="bold"))
            yield Static(Text(f"Now: {self.current or 'nobody'}. Enter your name; escape "
                              "cancels.", style="dim"))
            yield Input(placeholder="name", id="operator-name")
            yield Static(id="operator-problem")

    @on(Input.Submitted)
    def _named(self, event: Input.Submitted) -> None:
        name = " ".join(event.value.split())
        if not name or len(name) > MAX_NAME:
            self.query_one("#operator-problem", Static).update(
                Text(f"Give a name of 1 to {MAX_NAME} characters.", style="bold red"))
            return
        self.dismiss(name)
