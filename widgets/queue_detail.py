"""One exception in full: what was found, the numbers or cross-system context behind it,
who owns it, and its audit trail (who did what, when). Plain text throughout."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from app.clock import age_text, clock_text, parse_iso
from app.diagnosis.catalogue import CATALOGUE
from app.diagnosis.orders import context_lines
from app.records import COMPARED, SHORT
from widgets.count_panel import number_text

if TYPE_CHECKING:
    from app.queue.query import QueueDetail


class DetailPane(VerticalScroll):
    """The exception's detail in a pane that takes focus (tab) and scrolls by keyboard:
    at 80x24 the owner and the audit trail lie below what it has room to show."""

    def compose(self) -> ComposeResult:
        yield Static(id="detail-text")

    @property
    def text(self) -> Static:
        return self.query_one("#detail-text", Static)

    def on_focus(self) -> None:
        # The queue lays the text out again only when the pane's height changes, so the
        # height scrolled over may be an earlier exception's: measure this one's now.
        self.text.refresh(layout=True)


def detail_text(detail: QueueDetail | None, now: int, owners: dict[str, str]) -> Text:
    if detail is None:
        return Text("Choose an exception to see its evidence and audit trail.", style="dim")
    row, text = detail.row, Text()
    kind = CATALOGUE.get(row.code)
    text.append(f"#{row.id} {kind.title if kind else row.code}", style="bold")
    text.append(f"  {row.code} · {row.handoff} · {row.status}", style="dim")
    if row.recurrences:
        text.append(f" · came back {row.recurrences}×", style="bold")
    text.append("\n")
    text.append(row.summary + "\n")
    for line in _context(detail.evidence, now):
        text.append(line + "\n")
    owner = owners.get(row.owner) or f"{row.owner} (set it in [owners])"
    also = [owners.get(r, r) for r in detail.evidence.get("also_owners", [])]
    text.append("Owner: ", style="bold")
    text.append(", ".join([owner, *also]))
    if row.assignee:
        text.append(f" · assigned to {row.assignee}")
    text.append(f"\n{_episode(detail, now)}\n", style="dim")
    if kind:
        text.append("First action: ", style="bold")
        text.append(kind.first_action + "\n")
    text.append("Audit trail\n", style="bold")
    for entry in reversed(detail.audit):
        text.append(f"  {clock_text(entry.at, now)}  {entry.actor}: {entry.action}")
        if entry.note:
            text.append(f" · {entry.note}")
        text.append("\n")
    text.rstrip()
    return text


def _episode(detail: QueueDetail, now: int) -> str:
    """Since when the gap has been open and when a refresh found it: an exception found
    by the first refresh after install may be hours old."""
    row = detail.row
    since = f"{clock_text(row.opened_at, now)} ({age_text(now - row.opened_at)})"
    seen = f"last seen by a refresh {clock_text(detail.seen_at, now)}"
    found = max((e.at for e in detail.audit if e.action in ("opened", "reopened")),
                default=row.opened_at)
    if found - row.opened_at < 60:
        return f"Opened {since} · {seen}"
    return f"Since {since}, found {clock_text(found, now)} · {seen}"


def _context(evidence: dict, now: int) -> list[str]:
    """The numbers a count finding was raised on, one line per system; for an order
    finding, the ERP's, the WMS's and the supplier's view of the line."""
    if isinstance(evidence.get("order"), dict):
        return context_lines(evidence["order"], now)
    counts = evidence.get("counts") or {}
    lines = []
    for system in COMPARED:
        if system in counts:  # short words, as the history's: a line fits 80 columns
            c = counts[system]
            lines.append(f"  {SHORT[system]:<4} on hand {number_text(c['on_hand'])} · "
                         f"avail {number_text(c['available'])} · alloc "
                         f"{number_text(c['allocated'])} · updated "
                         f"{_when(c['updated_at'], now)}")
    return lines


def _when(stamp: str | None, now: int) -> str:
    """An evidence time (ISO) as the rest of the app shows one: '11:20 UTC (4 h ago)'."""
    if not stamp:
        return "—"
    try:
        epoch = parse_iso(stamp).timestamp()
    except ValueError:  # evidence written by another version: shown as it is
        return stamp
    return f"{clock_text(epoch, now)} ({age_text(now - epoch)})"
