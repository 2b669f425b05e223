"""Order/PO findings (FINDINGS.md, the amendment propagation gap): pure functions of one
document line as the ERP, the WMS and the supplier hold it.

- amendment-after-release: the ERP changed the line's quantity after the WMS released
  the pick, and the pick is still at another quantity and not shipped yet.
- supplier-unconfirmed: a purchase order's amendment the supplier has not confirmed
  after the sync tolerance (its newest confirmation is of an older version, or it has
  none), or a confirmation of another quantity than the ERP orders.
- short-pick-risk: picking is done (or shipped) and the WMS picked or shipped less than
  the ERP ordered.
Every finding carries the same cross-system context: `order_json` (the evidence block)
and `context_lines` (how the queue detail prints it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from app.clock import clock_text, iso, span_text, to_epoch
from app.diagnosis.counts import make
from app.diagnosis.evidence import Finding, Thresholds
from app.records import OrderLine

SIDES = ("erp", "wms", "supplier")
LABELS = {"erp": "ERP", "wms": "WMS", "supplier": "Supplier"}
INACTIVE = ("closed", "cancel", "reject")  # ERP statuses under which nothing is owed
DONE = ("picked", "shipped")


@dataclass(frozen=True, slots=True)
class OrderView:
    """One document line (a number and a SKU) as each system holds it; None: it does not."""

    document: str  # the number as the ERP writes it
    sku: str
    location: str | None  # canonical code (the ERP's, else the WMS's)
    erp: OrderLine | None
    wms: OrderLine | None = None
    supplier: OrderLine | None = None
    supplier_read: bool = True  # a supplier system is configured (silence means something)


def merge(lines: list[OrderLine]) -> OrderLine:
    """One system's lines of one SKU on one document as one (a SKU split over lines):
    quantities add up, times and versions are the newest."""
    first = lines[0]
    if len(lines) == 1:
        return first

    def total(name: str) -> int | None:
        values = [getattr(line, name) for line in lines if getattr(line, name) is not None]
        return sum(values) if values else None

    def newest(name: str) -> int | None:
        values = [getattr(line, name) for line in lines if getattr(line, name) is not None]
        return max(values) if values else None

    statuses = {line.status for line in lines if line.status}
    return replace(first, line=",".join(line.line for line in lines),
                   quantity=total("quantity"), picked=total("picked"), shipped=total("shipped"),
                   confirmed=total("confirmed"), version=newest("version"),
                   changed_at=newest("changed_at"), amended_at=newest("amended_at"),
                   released_at=newest("released_at"), confirmed_at=newest("confirmed_at"),
                   status=first.status if len(statuses) <= 1 else "/".join(sorted(statuses)))


def document_key(number: str) -> str:
    """The number as every system can agree on it: "PO-1042", "po 1042" → "PO1042"."""
    return re.sub(r"[^0-9A-Z]", "", number.upper()) or number


def order_views(lines: list[OrderLine], supplier_read: bool = True) -> list[OrderView]:
    """Every document line the ERP holds, with the WMS's and the supplier's view of it."""
    groups: dict[tuple[str, str], dict[str, list[OrderLine]]] = {}
    for line in lines:
        key = (document_key(line.number), line.sku)
        groups.setdefault(key, {}).setdefault(line.system, []).append(line)
    views = []
    for (_, sku), by_system in sorted(groups.items()):
        if "erp" not in by_system:
            continue
        erp, wms, supplier = (merge(sorted(by_system[s], key=lambda ln: ln.line))
                              if s in by_system else None for s in SIDES)
        location = erp.location or (wms.location if wms else None)
        views.append(OrderView(erp.number, sku, location, erp, wms, supplier, supplier_read))
    return views


def order_findings(view: OrderView, now: int, th: Thresholds) -> list[Finding]:
    e, w = view.erp, view.wms
    if e is None or e.quantity is None or _inactive(e):
        return []
    where = f"{view.document} {view.sku}" + (f" at {view.location}" if view.location else "")
    findings = []
    if w is not None and w.status not in ("shipped", "cancelled") and _amended_after(e, w):
        gap = span_text(e.amended_at - w.released_at)
        findings.append(make(
            "amendment-after-release",
            f"{where}: the ERP amended the line to {e.quantity}{_v(e)} at "
            f"{clock_text(e.amended_at, now)}, {gap} after the WMS released the pick of "
            f"{w.quantity} at {clock_text(w.released_at, now)}; the pick is still at "
            f"{w.quantity} ({w.status}).", systems=("erp", "wms")))
    unconfirmed = _supplier_gap(view, now, th)
    if unconfirmed:
        findings.append(make("supplier-unconfirmed", f"{where}: {unconfirmed}.",
                             systems=("erp", "supplier")))
    if w is not None and w.status in DONE:
        done = w.shipped if w.status == "shipped" and w.shipped is not None else w.picked
        if done is not None and done < e.quantity:
            verb = "shipped" if w.status == "shipped" else "picked"
            findings.append(make(
                "short-pick-risk",
                f"{where}: the WMS {verb} {done} against the {e.quantity} the ERP orders"
                f"{_v(e)}; {e.quantity - done} short.", systems=("erp", "wms")))
    return findings


def began_at(code: str, view: OrderView) -> int | None:
    """When an order finding's gap opened, as far as the lines show: the amendment (or
    the ERP's last change) that the pick or the supplier did not follow, the pick that
    came up short."""
    e, w = view.erp, view.wms
    if code == "short-pick-risk":
        return w.changed_at if w is not None else None
    if e is None:
        return None
    return e.amended_at if e.amended_at is not None else e.changed_at


def _inactive(line: OrderLine) -> bool:
    status = (line.status or "").lower()
    return any(word in status for word in INACTIVE)


def _amended_after(e: OrderLine, w: OrderLine) -> bool:
    return (e.amended_at is not None and w.released_at is not None
            and e.amended_at > w.released_at and w.quantity is not None
            and w.quantity != e.quantity)


def _supplier_gap(view: OrderView, now: int, th: Thresholds) -> str | None:
    """What the supplier has not confirmed, in words; None when nothing is missing."""
    e, s = view.erp, view.supplier
    if not view.supplier_read or e.kind not in ("purchase", None) or (
            e.kind is None and s is None):
        return None  # a sales order, or nothing to judge by
    since = e.amended_at if e.amended_at is not None else e.changed_at
    due = since is None or now - since > th.sync_tolerance
    ordered = f"v{e.version} ({e.quantity})" if e.version else f"{e.quantity}"
    when = f" since {clock_text(since, now)}" if since is not None else ""
    if s is None:
        if (e.version or 1) > 1 and due:
            return (f"the ERP is at {ordered}{when}, and the supplier has confirmed no "
                    "version of it")
        return None
    behind = s.version is not None and e.version is not None and s.version < e.version
    differs = s.confirmed is not None and s.confirmed != e.quantity
    confirmed = f"{s.confirmed if s.confirmed is not None else 'nothing'}"
    at = f" at {clock_text(s.confirmed_at, now)}" if s.confirmed_at is not None else ""
    if behind or (differs and s.version is None):
        if not due:
            return None  # within the sync tolerance: the confirmation may be on its way
        newest = f"v{s.version} ({confirmed})" if s.version is not None else confirmed
        return f"the ERP is at {ordered}{when}; the supplier's newest confirmation is " \
            f"{newest}{at}"
    if differs:
        return (f"the supplier confirmed {confirmed} of the {e.quantity} the ERP orders"
                f"{_v(s)}{at}")
    return None


def _v(line: OrderLine) -> str:
    return f" (v{line.version})" if line.version is not None else ""


# -- the cross-system context --------------------------------------------------------------

def order_json(view: OrderView) -> dict:
    """The evidence block every order finding carries (times as ISO text)."""

    def side(line: OrderLine | None, fields: tuple[str, ...]) -> dict | None:
        if line is None:
            return None
        out = {"number": line.number, "line": line.line}
        for name in fields:
            value = getattr(line, name)
            out[name] = iso(value) if name.endswith("_at") else value
        return out

    return {
        "document": view.document, "sku": view.sku, "location": view.location,
        "kind": view.erp.kind if view.erp else None,
        "erp": side(view.erp, ("version", "quantity", "amended_at", "status", "shipped",
                               "changed_at")),
        "wms": side(view.wms, ("quantity", "status", "released_at", "picked", "shipped",
                               "changed_at")),
        "supplier": side(view.supplier, ("version", "quantity", "confirmed", "confirmed_at",
                                         "status")),
        "supplier_read": view.supplier_read}


def context_lines(order: dict, now: int) -> list[str]:
    """The three systems' views of the line, one line each, as the queue detail shows
    them (plain text: statuses come from the systems)."""

    def when(text: str | None) -> str:
        return clock_text(to_epoch(text), now) if text else "—"

    def number(value) -> str:
        return "—" if value is None else str(value)

    e, w, s = (order.get(side) for side in SIDES)
    lines = []
    if e:
        version = f" v{e['version']}" if e.get("version") is not None else ""
        amended = f" · amended {when(e['amended_at'])}" if e.get("amended_at") else ""
        lines.append(f"{e['number']}{version} · {number(e['quantity'])} ordered{amended}"
                     f" · {e.get('status') or 'no status'}")
    else:
        lines.append("no such order line")
    if w:
        lines.append(f"pick {number(w['quantity'])} · picked {number(w['picked'])} · shipped "
                     f"{number(w['shipped'])} · {w.get('status') or '—'} · released "
                     f"{when(w['released_at'])}")
    else:
        lines.append("no pick for this line")
    if s:
        version = f" · v{s['version']}" if s.get("version") is not None else ""
        lines.append(f"confirmed {number(s['confirmed'])} of {number(s['quantity'])}{version}"
                     f" · {when(s['confirmed_at'])}")
    else:
        lines.append("no confirmation" if order.get("supplier_read", True)
                     else "not read (no supplier system configured)")
    return [f"  {LABELS[side]:<10} {text}" for side, text in zip(SIDES, lines, strict=True)]
