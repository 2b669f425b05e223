"""The lookup as plain text: readable in a terminal, a pipe and pasted into a ticket.

Only ASCII punctuation for structure (tickets mangle box drawing), 78 columns wide.
"""

from __future__ import annotations

import textwrap

from app.clock import age_text, clock_text
from app.diagnosis.compare import QUANTITIES
from app.diagnosis.evidence import LABELS
from app.diagnosis.orders import context_lines
from app.lookup import LocationLookup, SkuLookup
from app.records import COMPARED as SYSTEMS
from app.records import TITLES

WIDTH = 78
ROW_NAMES = {"on_hand": "on hand", "available": "available", "allocated": "allocated",
             "in_transit": "in transit"}


def render_text(result: SkuLookup) -> str:
    title = f"{result.sku}  {result.name}" if result.name else result.sku
    blocks = [title + (f"  (case pack {result.pack})" if result.pack else "")]
    if not result.locations:
        blocks.append("No system holds a count for this SKU yet.")
    for loc in result.locations:
        blocks.append(render_location(loc, result))
    return "\n\n".join(blocks) + "\n"


def handoff_line(loc: LocationLookup) -> str:
    broken = loc.broken
    arrows = [("BROKEN" if name in broken else "ok") for name in ("wms->erp", "erp->storefront")]
    return f"WMS --{arrows[0]}--> ERP --{arrows[1]}--> storefront"


def render_location(loc: LocationLookup, result: SkuLookup) -> str:
    name = f"  {loc.location_name}" if loc.location_name else ""
    unmapped = "  (not in [locations]: compared with nothing)" if not loc.mapped else ""
    lines = [f"== {loc.location}{name}{unmapped}", ""]
    kinds = {s: (result.systems[s].kind if s in result.systems else "not configured")
             for s in SYSTEMS}
    lines.append(_row("", [TITLES[s] for s in SYSTEMS]))
    lines.append(_row("", [kinds[s] for s in SYSTEMS]))
    notes = []
    for quantity in QUANTITIES:
        cells = []
        for system in SYSTEMS:
            obs = loc.counts.get(system)
            value = getattr(obs, quantity) if obs else None
            mark = "*" if (system, quantity) in loc.conflicts else ""
            cells.append(("-" if value is None else str(value)) + mark)
        lines.append(_row(ROW_NAMES[quantity], cells, right=True))
        if note := conflict_text(loc, quantity):
            notes.append(f"* {ROW_NAMES[quantity]}: {note}")
    for label, attr in (("updated", "updated_at"), ("read", "read_at")):
        times = [getattr(loc.counts[s], attr) if s in loc.counts else None for s in SYSTEMS]
        lines.append(_row(label, [clock_text(t, loc.now) if t else "-" for t in times]))
        lines.append(_row("", [age_text(loc.now - t) if t else "" for t in times]))
    stale = [LABELS[s] for s in SYSTEMS if loc.stale.get(s) and s in result.systems]
    lines += ["", *notes]
    if stale:
        lines.append(f"stale: {', '.join(stale)} (no good read within the stale limit)")
    if loc.mapped:
        lines.append(f"handoffs: {handoff_line(loc)}")
        lines.append(f"history: {loc.agreement()}")
    if loc.findings:
        lines += ["", "findings:"]
        for number, finding in enumerate(loc.findings, 1):
            cause = f", {finding.cause}" if finding.cause else ""
            owner = finding.owner_name or f"{finding.owner} (no name in [owners])"
            lines.append(f"{number}. {finding.code} ({finding.handoff}{cause}), "
                         f"owner: {owner}")
            lines += _wrap(finding.summary)
            lines += _wrap(f"first action: {finding.first_action}")
    else:
        lines += ["", "findings: none; the systems agree."]
    for order in loc.orders:
        lines += ["", f"order {order.view.document} ({order.view.erp.kind or 'order'} line "
                  f"of {loc.sku}):", *context_lines(order.block, loc.now)]
    return "\n".join(lines)


def conflict_text(loc: LocationLookup, quantity: str) -> str:
    """Which systems disagree on one number: 'storefront differs from WMS, ERP'."""
    sides = {s: loc.conflicts[(s, quantity)] for s in SYSTEMS if (s, quantity) in loc.conflicts}
    if not sides:
        return ""
    odd = max(sides, key=lambda s: len(sides[s]))
    if all(odd in others for s, others in sides.items() if s != odd):
        return f"{LABELS[odd]} differs from {', '.join(LABELS[o] for o in sides[odd])}"
    return "all three differ"


def _row(label: str, cells: list[str], right: bool = False) -> str:
    width = 20
    body = "".join(c.rjust(width - 4).ljust(width) if right else c.ljust(width) for c in cells)
    return f"{label:<12}{body}".rstrip()


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent="   ", subsequent_indent="   ")

