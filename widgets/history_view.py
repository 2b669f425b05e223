"""What happened at one location, newest first: every version each system reported (with
when seamdesk first read it) and the events between them, with who or what changed the
stock and why."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from app.clock import clock_text
from app.records import TITLES
from widgets.count_panel import number_text

if TYPE_CHECKING:  # types only: the data layer loads after the first paint
    from app.lookup import LocationLookup

MAX_LINES = 40


def history_text(loc: LocationLookup) -> Text:
    entries: list[tuple[int, int, Text]] = []
    for obs in loc.history:
        line = Text()
        line.append(f"{TITLES.get(obs.system, obs.system):<10} ", style="bold")
        line.append(f"on hand {number_text(obs.on_hand)} · avail {number_text(obs.available)} · "
                    f"alloc {number_text(obs.allocated)}")
        if obs.in_transit:
            line.append(f" · transit {obs.in_transit}")
        if obs.updated_at:
            line.append(f"  upd {clock_text(obs.updated_at, loc.now).removesuffix(' UTC')}",
                        style="dim")
        entries.append((obs.read_at, 0, line))
    for event in loc.events:
        line = Text()
        line.append(f"{TITLES.get(event.system, event.system):<10} ", style="bold")
        line.append(f"{event.kind.replace('_', ' ')} {event.event_id} {event.delta:+d}")
        if event.reason:
            line.append(f"  {event.reason}", style="italic")
        entries.append((event.at, 1, line))
    text = Text()
    words = loc.agreement()
    text.append(words[:1].upper() + words[1:] + "\n", style="bold")
    if not entries:
        text.append("No earlier observations or events in the cache for this location.",
                    style="dim")
        return text
    newest = sorted(entries, key=lambda e: (e[0], e[1]), reverse=True)[:MAX_LINES]
    width = max(len(clock_text(at, loc.now)) for at, _, _ in newest)
    for at, kind, line in newest:
        text.append(f"{clock_text(at, loc.now):>{width}}  ", style="dim")
        text.append("event " if kind else "count ", style="dim")
        text.append_text(line)
        text.append("\n")
    text.rstrip()
    return text
