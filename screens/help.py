"""Help for the screen underneath: its keys, and what each finding means (from the same
catalogue the engine uses, so help cannot drift from what the engine says)."""

from __future__ import annotations

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


def findings_text(matrix: dict[str, tuple[str, ...]] = DEFAULTS) -> Text:
    text = Text("Findings\n", style="bold")
    for kind in CATALOGUE.values():
        text.append(f"  {kind.code}", style="bold")
        text.append(f"  {kind.title} · {kind.handoff} · owner: {kind.owner}\n", style="dim")
        text.append(f"    Likely cause: {kind.cause}.\n    First action: {kind.first_action}\n")
        if authority := finding_authority(kind.code, matrix):
            text.append(f"    {authority}\n", style="dim")
    return text


OWNERSHIP_TITLE = "Who owns what ([ownership] in config.toml)"


def ownership_text(matrix: dict[str, tuple[str, ...]] = DEFAULTS, title: bool = True) -> Text:
    """The ownership matrix: which system's number wins ([ownership] in config.toml)."""
    text = Text(OWNERSHIP_TITLE + "\n" if title else "", style="bold")
    for element in ELEMENTS:
        text.append(f"  {owner_sentence(element, matrix)}\n")
    return text


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
