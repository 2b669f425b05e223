"""The six first-response steps (FINDINGS.md), each filled from the case as plain lines of
text: the checklist screen shows them, the operator confirms them, the packet quotes
them. Times are absolute with their zone, so a confirmed step still reads true tomorrow.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.checklist.case import Case
from app.checklist.symptoms import UNSURE
from app.clock import span_text, stamp, to_epoch
from app.diagnosis.catalogue import SYSTEM_WIDE, routed_to
from app.diagnosis.compare import QUANTITIES
from app.diagnosis.evidence import LABELS, Finding
from app.records import COMPARED, TITLES

MAX_LINES = 12  # per list inside a step; the packet's JSON carries the rest


@dataclass(frozen=True, slots=True)
class Step:
    number: int
    key: str
    title: str
    facts: tuple[str, ...]  # what the cache says, one line each


TITLES_BY_STEP = (
    ("counts", "Record the counts"),
    ("window", "Last known good"),
    ("changes", "What changed in the window"),
    ("queues", "Queues and throttling"),
    ("handoff", "Name the handoff"),
    ("packet", "Hand off"),
)


def build_steps(case: Case) -> list[Step]:
    facts = (count_facts(case), window_facts(case), change_facts(case), queue_facts(case),
             handoff_facts(case), ())
    return [Step(n, key, title, tuple(lines))
            for n, ((key, title), lines) in enumerate(zip(TITLES_BY_STEP, facts, strict=True), 1)]


def _number(value: int | None) -> str:
    return "-" if value is None else str(value)


def count_facts(case: Case) -> list[str]:
    loc, lines = case.loc, []
    for system in COMPARED:
        state = case.lookup.systems.get(system)
        obs = loc.counts.get(system)
        kind = f" ({state.kind})" if state else " (not configured)"
        if obs is None:
            lines.append(f"{TITLES[system]}{kind}: no count here")
            continue
        stale = "  STALE" if loc.stale.get(system) else ""
        lines.append(f"{TITLES[system]}{kind}: on hand {_number(obs.on_hand)}, available "
                     f"{_number(obs.available)}, allocated {_number(obs.allocated)}, "
                     f"in transit {_number(obs.in_transit)}{stale}")
        updated = stamp(obs.updated_at) if obs.updated_at else "not given"
        lines.append(f"  updated {updated} (its own clock); read {stamp(obs.read_at)}")
    return lines


def window_facts(case: Case) -> list[str]:
    loc = case.loc
    if not loc.mapped:
        return [f"{loc.location} is not in [locations]: nothing to compare it with."]
    since = [f"Disagreeing since {stamp(loc.diverged_at)}, by the systems' clocks."] \
        if loc.diverged_at is not None else []
    if loc.last_agreed_at is None:
        return ["The three have not been seen agreeing here in the cache's history.", *since,
                f"Looking back {span_text(case.now - case.window_start)}: "
                f"{stamp(case.window_start)} to now."]
    agreed = f"All three last agreed {stamp(loc.last_agreed_at)}."
    if loc.diverged_at is None:
        return [agreed, "They agree now: there is no investigation window."]
    start, end = stamp(case.window_start), stamp(case.window_end)
    if start[:10] == end[:10]:  # one day: its date once, so the line fits 80 columns
        start, end = start.removesuffix(" UTC"), end[11:]
    return [agreed, *since, f"Investigation window: {start} to {end} "
            f"({span_text(case.window_end - case.window_start)})."]


def change_facts(case: Case) -> list[str]:
    """Events, order changes and operator notes in time order; then what has no time."""
    dated: list[tuple[int, str]] = []
    events = [e for e in case.loc.events if e.at >= case.window_start]
    for event in events[:MAX_LINES]:  # the newest few
        reason = f" ({event.reason})" if event.reason else ""
        dated.append((event.at, f"{TITLES.get(event.system, event.system)} "
                      f"{event.kind.replace('_', ' ')} {event.event_id} {event.delta:+d}{reason}"))
    for order in case.orders:  # an order in trouble: its changes whenever they were
        erp, wms = order.view.erp, order.view.wms
        recent = [when for when in (erp and erp.amended_at, wms and wms.released_at) if when]
        if not order.findings and not any(when >= case.window_start for when in recent):
            continue
        if wms and wms.released_at:
            dated.append((wms.released_at, f"WMS released the pick of {_number(wms.quantity)} "
                          f"for {order.view.document}"))
        if erp and erp.amended_at:
            dated.append((erp.amended_at, f"ERP amended {order.view.document} to "
                          f"{_number(erp.quantity)} (v{_number(erp.version)})"))
    for note in case.notes[:MAX_LINES]:
        dated.append((note.at, f"note by {note.actor} on {note.code}: {note.note}"))
    lines = [f"{stamp(at)}  {text}" for at, text in sorted(dated, key=lambda d: d[0])]
    if len(events) > MAX_LINES:
        lines.insert(0, f"({len(events) - MAX_LINES} earlier events in the window not shown)")
    for other in case.lookup.locations:
        if not other.mapped:
            lines.append(f"Location {other.location} holds this SKU but is not in [locations] "
                         f"(a new location or channel?)")
    if not lines:
        lines.append("No events, new locations, amendments or notes in the window.")
    return lines


def queue_facts(case: Case) -> list[str]:
    lines = []
    open_messages = [m for m in case.messages if m.resolved_at is None]
    for message in case.messages[:MAX_LINES]:
        state = "open" if message.resolved_at is None else f"resolved {stamp(message.resolved_at)}"
        code = f" {message.code}" if message.code else ""
        lines.append(f"{stamp(message.occurred_at)}  {message.flow} ({message.handoff or '?'})"
                     f"{code}, {state}: {message.message}")
    if open_messages:
        oldest = min(m.occurred_at for m in open_messages)
        lines.append(f"Oldest open message: {span_text(case.now - oldest)} old "
                     f"({len(open_messages)} open).")
    for run in case.runs[:MAX_LINES]:
        extra = [f"{run.throttled} throttled" if run.throttled else "",
                 f"{run.retries} retried" if run.retries else "",
                 run.error or ""]
        detail = ", ".join(x for x in extra if x)
        lines.append(f"{stamp(run.started_at)}  {LABELS.get(run.system, run.system)} "
                     f"{run.mode} sync {run.status}" + (f": {detail}" if detail else ""))
    if not lines:
        lines.append(f"No failed or queued messages and no failed or throttled sync runs "
                     f"since {stamp(case.window_start)}.")
    return lines


def handoff_facts(case: Case) -> list[str]:
    matching = case.matching()
    lines = [f"Symptom {case.symptom.number}: {case.symptom.words}."]
    if matching:
        lines.append("Findings that explain it:")
        lines += [f"  {f.code} ({f.handoff}): {f.summary}" for f in matching]
    else:
        lines.append(f"None of the findings it checks ({', '.join(case.symptom.codes[:4])}"
                     f"{', ...' if len(case.symptom.codes) > 4 else ''}) holds here.")
    others = [f for f in case.findings if f not in matching]
    if others:
        lines.append("Also found:")
        lines += [f"  {f.code} ({f.handoff}): {f.summary}" for f in others]
    return lines


# -- step 5's suggestion ---------------------------------------------------------------------

def lead_finding(case: Case) -> Finding | None:
    """The finding the handoff sentence names: the worst one the symptom asks about, else
    the worst one about this SKU here (a throttled or stale system alone breaks nothing
    the symptom names)."""
    matching, unsure = case.matching(), case.symptom.number == UNSURE
    ranked = [*(f for f in matching if f.code not in SYSTEM_WIDE),
              *(f for f in case.findings if f.code not in SYSTEM_WIDE),
              *(f for f in matching if not unsure)]  # symptom 8 asks about them
    return next(iter(ranked), None)


def handoff_sentence(case: Case) -> str:
    """One sentence naming the handoff with the numbers, e.g. 'ERP and storefront disagree
    on DAL1 available for TEE-BLK-M (ERP 34, storefront 12, since 09:40 UTC)'."""
    finding = lead_finding(case)
    if finding is None:
        wide = sorted({f"{f.code} ({f.handoff})" for f in case.findings
                       if f.code in SYSTEM_WIDE})
        aside = f"; but see {', '.join(wide)}" if wide else ""
        return (f"WMS, ERP and storefront agree on {case.location} for {case.sku}; "
                f"no handoff is broken{aside}.")
    order = next((o for o in case.orders if finding in o.findings), None)
    if order is not None:
        return _order_sentence(case, order.block, finding)
    systems = [s for s in COMPARED if s in (finding.systems or ())] or \
        [s for s in COMPARED if s in finding.handoff]
    if finding.code == "both-handoffs":
        systems = list(COMPARED)
    counts = case.loc.counts
    if len(systems) < 2 or any(s not in counts for s in systems):
        return finding.summary
    storefront = "storefront" in systems
    order_q = ("available", "on_hand") if storefront else ("on_hand", "available")
    quantity = next((q for q in (*order_q, *QUANTITIES)
                     if any((s, q) in case.loc.conflicts for s in systems)), order_q[0])
    numbers = ", ".join(f"{LABELS[s]} {_number(getattr(counts[s], quantity))}" for s in systems)
    since = case.loc.diverged_at or max(counts[s].updated_at or counts[s].read_at
                                        for s in systems)
    who = " and ".join(LABELS[s] for s in systems) if len(systems) == 2 else \
        "WMS, ERP and storefront"
    return (f"{who[0].upper()}{who[1:]} disagree on {case.location} "
            f"{quantity.replace('_', ' ')} for {case.sku} ({numbers}, since "
            f"{stamp(since)}).")


def _order_sentence(case: Case, block: dict, finding: Finding) -> str:
    erp, wms, supplier = block.get("erp") or {}, block.get("wms") or {}, block.get("supplier")
    where = f"{block['document']} for {case.sku}" + (
        f" at {block['location']}" if block.get("location") else "")
    ordered = f"ERP {_number(erp.get('quantity'))} ordered (v{_number(erp.get('version'))}" + (
        f", amended {_iso_stamp(erp['amended_at'])})" if erp.get("amended_at") else ")")
    if finding.code == "supplier-unconfirmed":
        confirmed = (f"supplier confirmed {_number(supplier.get('confirmed'))} "
                     f"(v{_number(supplier.get('version'))})" if supplier
                     else "no supplier confirmation")
        return f"ERP and supplier disagree on {where}: {ordered}, {confirmed}."
    pick = (f"WMS pick {_number(wms.get('quantity'))}, picked {_number(wms.get('picked'))}, "
            f"{wms.get('status') or 'no status'}, released "
            f"{_iso_stamp(wms.get('released_at'))}") if wms else "no WMS pick"
    return f"ERP and WMS disagree on {where}: {ordered}; {pick}."


def _iso_stamp(text: str | None) -> str:
    return stamp(to_epoch(text)) if text else "-"


def owner_text(finding: Finding | None, owners: dict[str, str]) -> str:
    """Who it goes to: each owner role of the finding with its person or team."""
    return routed_to(finding.code, owners) if finding else ""
