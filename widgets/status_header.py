"""The header every screen shows: where you are, who is at the terminal, whether the
session is read-only, and how fresh each system is (age since its last good read, marked
and coloured once stale), plus a background refresh's progress.

It reads that state from the app (`operator`, `read_only`, `freshness`, `refreshing`) and
is redrawn by `SeamdeskApp.refresh_headers()` when any of it changes. Colour is never the
only signal: a stale system also carries "!", so 16 colours and NO_COLOR read the same.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

MAX_OPERATOR = 16  # columns; a shared terminal shows who, not a full name


def age_short(seconds: int | None) -> str:
    """'now', '4m', '2h', '3d', or 'never'."""
    if seconds is None:
        return "never"
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


class StatusHeader(Widget):
    DEFAULT_CSS = """
    StatusHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    def render(self) -> Text:
        app = self.app
        title = self.screen.title if self.screen.title != "seamdesk" else ""
        operator = getattr(app, "operator", "") or ""
        if operator:
            shown = operator if len(operator) <= MAX_OPERATOR else operator[:MAX_OPERATOR - 1] + "…"
            who = Text(shown, style="bold")
        else:
            who = Text("no operator (ctrl+o)", style="bold reverse")
        # Read-only is never cut: a narrow header shortens the name and the screen first.
        marker = Text(" ") + Text(" READ-ONLY ", style="bold reverse") \
            if getattr(app, "read_only", False) else Text()
        # Narrow: the screen's name goes first, then the freshness closes up; who is at a
        # shared terminal is cut last.
        for named, spacing in ((True, "  "), (False, "  "), (False, " ")):
            left = Text(" seamdesk", style="bold")
            if named and title:
                left.append(f" · {title}")
            left.append("  ")
            left.append_text(who)
            right = self._freshness(spacing)
            gap = self.size.width - left.cell_len - marker.cell_len - right.cell_len
            if gap >= 1:
                return Text.assemble(left, marker, " " * gap, right)
        left.truncate(max(0, self.size.width - marker.cell_len - right.cell_len - 1),
                      overflow="ellipsis")
        gap = max(1, self.size.width - left.cell_len - marker.cell_len - right.cell_len)
        return Text.assemble(left, marker, " " * gap, right)

    def _freshness(self, spacing: str) -> Text:
        """'WMS 4m  ERP 4m  …': each system's age since its last good read."""
        right = Text()
        refreshing = getattr(self.app, "refreshing", None)
        if refreshing:
            right.append(f"{refreshing}{spacing}", style="italic")
        for fresh in getattr(self.app, "freshness", ()):
            right.append(f"{fresh.label} ", style="dim")
            age = age_short(fresh.age)
            if fresh.stale:
                right.append(f"{age}!", style="bold red")
            else:
                right.append(age, style="green")
            right.append(spacing)
        right.rstrip()
        right.append(" ")
        return right
