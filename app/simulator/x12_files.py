"""A supplier's EDI drop: the X12 855 and 865 files its translator leaves in a folder.

Written from the X12 standard (004010) independently of app.sources.x12 and sharing no
code with it, so a misreading on either side shows up as a failing round-trip test.

Like a translator, it writes one interchange per document, each in its own file: ISA
(every element padded to its fixed width) / GS / ST..SE / GE / IEA with matching control
numbers and counts, `*` between elements, `>` between components, `~` and a newline
after each segment. Version 1 of a PO is answered by an 855 (BAK, PO1 + ACK loops);
later versions by an 865 (BCA with the change order sequence, POC + ACK loops). Dates
and times are written in UTC, which is what the simulated partner agreement says.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

ELEMENT, COMPONENT, TERMINATOR = "*", ">", "~\n"
SUPPLIER_ID = "SUPPLIERCO"
BUYER_ID = "SEAMDESK"


@dataclass(frozen=True)
class SupplierConfirmation:
    """One PO line as the supplier confirms one version of the PO."""

    po_number: str
    sku: str                          # the buyer's part number, echoed back as BP
    line: int                         # the buyer's PO line number
    quantity: int                     # the quantity the supplier commits to
    version: int                      # 1 = the original PO, 2 = after the first change...
    confirmed_at: int                 # epoch seconds UTC
    status: Literal["accepted", "changed"] = "accepted"  # changed: another quantity
    ordered_qty: int | None = None    # what the buyer asked for; default: quantity
    ordered_at: int | None = None     # the PO date; default: confirmed_at


def write_confirmations(folder: str | Path, confirmations: Iterable[SupplierConfirmation],
                        *, seed: int = 1, sender: str = SUPPLIER_ID,
                        receiver: str = BUYER_ID) -> list[Path]:
    """One 855/865 file per (PO, version), in confirmation order; the same input and seed
    always give the same bytes and file names."""
    docs: dict[tuple[str, int], list[SupplierConfirmation]] = defaultdict(list)
    for c in confirmations:
        if c.version < 1:
            raise ValueError(f"{c.po_number} line {c.line}: version must be 1 or more")
        docs[(c.po_number, c.version)].append(c)
    # A translator's counters only move forward: number documents in the order they went out.
    order = sorted(docs, key=lambda k: (max(c.confirmed_at for c in docs[k]), k))
    rng = random.Random(seed)
    interchange_no, group_no = rng.randrange(1, 900_000_000), rng.randrange(1, 90_000)
    seller_base = rng.randrange(100_000, 900_000)
    earlier = _quantities_by_version(docs)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for i, key in enumerate(order):
        lines = sorted(docs[key], key=lambda c: c.line)
        kind = "855" if key[1] == 1 else "865"
        body = _document(kind, lines, f"SO{seller_base + i}", earlier)
        text = _envelope(kind, body, max(c.confirmed_at for c in lines), sender, receiver,
                         interchange_no + i, group_no + i)
        path = folder / f"{kind}_{interchange_no + i:09d}.x12"
        # Written aside and renamed, as drop folders expect: a reader never sees half a file.
        partial = folder / f".{path.name}.part"
        partial.write_bytes(text.encode("utf-8"))
        os.replace(partial, path)
        written.append(path)
    return written


def _quantities_by_version(docs: dict[tuple[str, int], list[SupplierConfirmation]]
                           ) -> dict[tuple[str, int, int], int]:
    """(PO, line, version) -> ordered quantity, to say how a change moved each line."""
    return {(po, c.line, version): _ordered(c)
            for (po, version), lines in docs.items() for c in lines}


def _ordered(c: SupplierConfirmation) -> int:
    return c.quantity if c.ordered_qty is None else c.ordered_qty


def _seg(*elements: object) -> str:
    """A segment with its trailing empty elements dropped, as the standard requires."""
    parts = ["" if e is None else str(e) for e in elements]
    for part in parts:  # a translator refuses data that would read as a delimiter
        if any(d in part for d in (ELEMENT, COMPONENT, *TERMINATOR)):
            raise ValueError(f"{part!r} contains an X12 delimiter")
    while parts and parts[-1] == "":
        parts.pop()
    return ELEMENT.join(parts)


def _ymd(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d")


def _hm(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H%M")


def _document(kind: str, lines: list[SupplierConfirmation], seller_order: str,
              earlier: dict[tuple[str, int, int], int]) -> list[str]:
    """The segments between ST and SE."""
    first = lines[0]
    changed = any(c.status == "changed" or c.quantity != _ordered(c) for c in lines)
    ack_type = "AC" if changed else "AD"  # with detail and change / with detail, no change
    po_date = _ymd(first.ordered_at if first.ordered_at is not None else first.confirmed_at)
    sent = _ymd(max(c.confirmed_at for c in lines))
    if kind == "855":
        # BAK: purpose, type, PO, PO date, release, request ref, contract, seller's order,
        # acknowledgment date.
        segments = [_seg("BAK", "00", ack_type, first.po_number, po_date, "", "", "",
                         seller_order, sent)]
    else:
        # BCA: purpose, type, PO, release, change order sequence (change 1 = version 2),
        # PO date, request ref, contract, seller's order, acknowledgment date.
        segments = [_seg("BCA", "00", ack_type, first.po_number, "", first.version - 1,
                         po_date, "", "", seller_order, sent)]
    for c in lines:
        ids = ("BP", c.sku, "VP", f"V-{c.sku}")  # our part number and the supplier's own
        if kind == "855":
            segments.append(_seg("PO1", c.line, _ordered(c), "EA", "", "", *ids))
        else:
            before = earlier.get((c.po_number, c.line, c.version - 1))
            change = ("CA" if before is None else "QI" if _ordered(c) > before
                      else "QD" if _ordered(c) < before else "NC")
            # POC: line, change type, quantity ordered, quantity left to receive (nothing
            # received yet), unit of measure (a composite), price, basis, then the ids.
            segments.append(_seg("POC", c.line, change, _ordered(c), _ordered(c), "EA", "", "",
                                 *ids))
        accepted = c.status == "accepted" and c.quantity == _ordered(c)
        segments.append(_seg("ACK", "IA" if accepted else "IQ", c.quantity, "EA"))
    segments.append(_seg("CTT", len(lines)))
    return segments


def _envelope(kind: str, body: list[str], at: int, sender: str, receiver: str,
              interchange_no: int, group_no: int) -> str:
    control = "0001"  # one set per group: the set number restarts in each group
    tx = [_seg("ST", kind, control), *body]
    tx.append(_seg("SE", len(tx) + 1, control))  # counts ST through SE
    functional_id = {"855": "PR", "865": "CA"}[kind]
    isa = ELEMENT.join([
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15)[:15], "ZZ",
        receiver.ljust(15)[:15], datetime.fromtimestamp(at, UTC).strftime("%y%m%d"),
        _hm(at), "U", "00401", f"{interchange_no:09d}", "0", "P", COMPONENT])
    segments = [
        isa,
        _seg("GS", functional_id, sender, receiver, _ymd(at), _hm(at), group_no, "X",
             "004010"),
        *tx,
        _seg("GE", 1, group_no),
        _seg("IEA", 1, f"{interchange_no:09d}"),
    ]
    return "".join(s + TERMINATOR for s in segments)
