"""Help for the screen underneath: its keys, and what each finding means (from the same
catalogue the engine uses, so help cannot drift from what the engine says)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from app.diagnosis.catalogue import CATALOGUE
from app.health.ownership import DEFAULTS, ELEMENTS, finding_authority, owner_sentence


def keys_text(screen: Screen) -> Text:
    text = Text("Keys\n", style="bold")
    seen = set()
    # Keys rebound in config [session] keys show as bound: the screen's live bindings
    # carry the keymap, the class's BINDINGS the defaults.
    bound: dict[str, list[str]] = {}
    for key, active in screen.active_bindings.items():
        if active.binding.id:
            bound.setdefault(active.binding.id, []).append(key)
    for node in (screen, screen.app):
        for binding in getattr(node, "BINDINGS", []):
            if not isinstance(binding, Binding) or not binding.description or \
                    binding.key == "escape":
                continue
            key = binding.key_display or binding.key.replace("slash", "/")
            rebound = bound.get(binding.id or "")
            if rebound and set(rebound) != set(binding.key.split(",")):
                key = ",".join(rebound)
            if key in seen:
                continue
            seen.add(key)
            text.append(f"  {key:<10}", style="bold")
            text.append(f"{binding.description}\n")
    text.append("  ctrl+p    ", style="bold")
    text.append("command palette: every action, and SKU search\n")
    return text


def indented(text: Text | str, indent: int) -> Table:
    """`text` with a hanging indent: the lines it wraps onto start where it starts."""
    grid = Table.grid()
    grid.add_column(width=indent)
    grid.add_column(ratio=1)
    grid.add_row("", text)
    return grid


def findings_text(matrix: dict[str, tuple[str, ...]] = DEFAULTS) -> Group:
    parts: list = [Text("Findings", style="bold")]
    for kind in CATALOGUE.values():
        title = Text(kind.code, style="bold")
        title.append(f"  {kind.title} · {kind.handoff} · owner: {kind.owner}", style="dim")
        parts += [indented(title, 2), indented(f"Likely cause: {kind.cause}.", 4),
                  indented(f"First action: {kind.first_action}", 4)]
        if authority := finding_authority(kind.code, matrix):
            parts.append(indented(Text(authority, style="dim"), 4))
    return Group(*parts)


OWNERSHIP_TITLE = "Who owns what ([ownership] in config.toml)"


def ownership_text(matrix: dict[str, tuple[str, ...]] = DEFAULTS, title: bool = True) -> Group:
    """The ownership matrix: which system's number wins ([ownership] in config.toml)."""
    lines = [indented(owner_sentence(element, matrix), 2) for element in ELEMENTS]
    return Group(Text(OWNERSHIP_TITLE, style="bold"), *lines, "") if title else Group(*lines)


class HelpScreen(ModalScreen):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="close_help")]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(Text("Help (escape closes)\n", style="bold"))
            yield Static(keys_text(self.under))
            desk = getattr(self.app, "_desk", None)  # not waited for: defaults until open
            matrix = desk.config.settings.ownership.matrix() if desk else DEFAULTS
            yield Static(ownership_text(matrix))
            yield Static(findings_text(matrix))

    def on_mount(self) -> None:
        self.query_one("#help").focus()
