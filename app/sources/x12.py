"""Supplier PO confirmations read from X12 EDI files dropped in a folder.

Hand-written because no maintained Python X12 library exists; it reads only this subset
of X12 (004010 and later): the envelope (ISA, fixed at 106 characters and defining the
delimiters; GS/GE, ST/SE, IEA with every count and control number checked; several
interchanges, groups and sets per file; line breaks between segments), then 855 (BAK,
PO1 + ACK loops), 865 (BCA, POC + ACK loops) and 860 (BCH, POC loops) with their DTMs.
Other sets (a 997, say) are checked and skipped; other segments are ignored. Each set
becomes an `Acknowledgment`; a file breaking the rules, one `X12Error` naming the file
and the segment number (ISA is segment 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.sources.errors import PayloadError

ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)  # ISA01..ISA16
ISA_LENGTH = 106  # 105 characters of header plus the segment terminator
HEADERS = {"855": "BAK", "865": "BCA", "860": "BCH"}
# Our SKU is the buyer's number; the supplier's own part number is only a last resort.
SKU_QUALIFIERS = ("BP", "IN", "SK", "VP", "UP")
# Line item status codes (element 668) under which the seller does not commit the quantity.
NOT_CONFIRMING = {"IR", "ID", "IH", "IF", "IW", *(f"R{n}" for n in range(1, 10))}
# Acknowledgment types (element 587) meaning "accepted as sent" when a line has no ACK.
ACCEPTED_AS_SENT = {"AD", "AK", "AT"}
# Time codes (element 623): fixed offsets in hours, or a zone for the ones that follow DST.
FIXED_HOURS = {"UT": 0, "GM": 0, "ES": -5, "ED": -4, "CS": -6, "CD": -5, "MS": -7, "MD": -6,
               "PS": -8, "PD": -7}
ZONES = {"ET": "America/New_York", "CT": "America/Chicago", "MT": "America/Denver",
         "PT": "America/Los_Angeles"}
SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")


class X12Error(PayloadError):
    title = "Unreadable X12 file"


@dataclass(frozen=True)
class AckLine:
    line: str                          # PO101 / POC01: the buyer's line number
    sku: str | None                    # first of SKU_QUALIFIERS present on the line
    ordered_qty: float | None          # PO102 / POC03 (int when whole)
    confirmed_qty: float | None        # what the ACKs commit; None when nothing says
    status: str | None                 # first ACK01 (IA, IC, IQ, IR, DR, ...)
    change: str | None = None          # POC02 (AI, CA, DI, PC, QD, QI, ...)
    open_qty: float | None = None      # POC04 quantity left to receive
    uom: str | None = None
    price: float | None = None
    product_ids: dict[str, str] = field(default_factory=dict)
    statuses: tuple[str, ...] = ()     # every ACK01 of the line, in order
    dates: dict[str, int] = field(default_factory=dict)  # DTM01/ACK04 qualifier -> epoch


@dataclass(frozen=True)
class Acknowledgment:
    kind: str                          # "855", "865" or "860"
    po_number: str
    version: int | None                # PO version confirmed: 1 + change order sequence
    change_sequence: str | None        # BCA05 / BCH05 as sent
    acknowledged_at: int               # epoch seconds UTC
    status: str | None                 # BAK02 / BCA02 acknowledgment type; None for 860
    purpose: str                       # BAK01 / BCA01 / BCH01
    po_date: int | None
    seller_order: str | None           # BAK08 / BCA09 / BCH09
    sender: str                        # GS02
    control_number: str                # ST02
    source: str                        # the file it came from
    lines: list[AckLine] = field(default_factory=list)
    dates: dict[str, int] = field(default_factory=dict)  # header DTMs: qualifier -> epoch


@dataclass
class FolderRead:
    acknowledgments: list[Acknowledgment]
    errors: list[X12Error]             # one per unreadable file; the others still count


def read_folder(path: str | Path, *, tz: tzinfo = UTC) -> FolderRead:
    """Every non-hidden file in `path`, by name; hidden ones are partial uploads."""
    result = FolderRead([], [])
    try:
        files = sorted(Path(path).iterdir())
    except OSError as exc:
        raise X12Error(f"{path}: cannot list the drop folder: {exc.strerror or exc}") from None
    for file in files:
        if file.name.startswith(".") or not file.is_file():
            continue
        try:
            result.acknowledgments += read_interchange(file.read_bytes(), name=str(file), tz=tz)
        except X12Error as exc:
            result.errors.append(exc)
        except OSError as exc:
            result.errors.append(X12Error(f"{file}: cannot read: {exc.strerror or exc}"))
    return result


def read_interchange(data: bytes | str, *, name: str = "<input>",
                     tz: tzinfo = UTC) -> list[Acknowledgment]:
    """The 855/865/860 sets of every interchange in `data`. `tz` is the zone of times
    that carry no time code (GS05, DTM without DTM04): X12 leaves it to the partners."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise X12Error(f"{name}: not UTF-8 text (byte 0x{data[exc.start]:02X} at offset "
                           f"{exc.start})") from None
    return _Reader(data.lstrip("\ufeff"), name, tz).run()


class _Reader:
    def __init__(self, text: str, name: str, tz: tzinfo) -> None:
        self.text, self.name, self.tz = text, name, tz
        self.pos = 0
        self.number = 0  # segment number in the file, for messages

    def fail(self, problem: str, seg: list[str] | None = None) -> X12Error:
        where = f"segment {self.number}" + (f" ({seg[0]})" if seg and seg[0] else "")
        return X12Error(f"{self.name}: {where}: {problem}")

    def run(self) -> list[Acknowledgment]:
        out: list[Acknowledgment] = []
        while self.text[self.pos:].strip():
            out += self.interchange()
        if self.number == 0:
            raise X12Error(f"{self.name}: empty file, no ISA segment")
        return out

    def interchange(self) -> list[Acknowledgment]:
        self.pos = len(self.text) - len(self.text[self.pos:].lstrip())
        self.number += 1
        head = self.text[self.pos:self.pos + ISA_LENGTH]
        if not head.startswith("ISA"):
            raise self.fail(f"not an X12 interchange: expected ISA, found {head[:12]!r}")
        if len(head) < ISA_LENGTH:
            raise self.fail(f"ISA truncated: {len(head)} of {ISA_LENGTH} characters",
                            ["ISA"])
        self.sep, self.comp, term = head[3], head[104], head[105]
        isa = head[:105].split(self.sep)
        widths = tuple(len(e) for e in isa[1:])
        if len(isa) != 17 or widths != ISA_WIDTHS:
            raise self.fail("ISA is not the fixed-width 106-character header "
                            f"(element lengths {widths})", ["ISA"])
        # From 00402 on, ISA11 is the repetition separator; before, it is the letter U.
        rep = [isa[11]] if isa[12] >= "00402" else []
        delimiters = [self.sep, self.comp, term, *rep]
        if len(set(delimiters)) < len(delimiters) or any(d.isalnum() for d in delimiters):
            raise self.fail(f"delimiters {''.join(delimiters)!r} are not distinct symbols",
                            ["ISA"])
        self.term, self.pos = term, self.pos + ISA_LENGTH
        out: list[Acknowledgment] = []
        groups = 0
        while (seg := self.segment())[0] == "GS":
            groups += 1
            out += self.group(seg)
        if seg[0] != "IEA":
            raise self.fail("expected GS or IEA", seg)
        self.check(seg, groups, isa[13], "IEA", "functional groups")
        return out

    def segment(self) -> list[str]:
        """The next segment's elements; CR/LF around terminators are line breaks."""
        raw = ""
        while not raw:  # blank lines, even where a newline is the terminator
            if self.pos >= len(self.text):
                self.number += 1
                raise self.fail("file ends before IEA: the interchange is incomplete")
            end = self.text.find(self.term, self.pos)
            end = len(self.text) if end < 0 else end  # the last terminator may be missing
            raw, self.pos = self.text[self.pos:end].strip("\r\n"), end + 1
        self.number += 1
        seg = raw.split(self.sep)
        if not SEGMENT_ID.fullmatch(seg[0]):
            raise self.fail(f"{raw[:20]!r} is not a segment")
        if seg[0] == "ISA":
            raise self.fail("ISA inside an interchange: the previous IEA is missing", seg)
        return seg

    def check(self, trailer: list[str], count: int, control: str, what: str,
              counted: str) -> None:
        if _el(trailer, 2) != control.strip():
            raise self.fail(f"{what} control number {_el(trailer, 2)!r} does not match "
                            f"{control.strip()!r} in its header", trailer)
        if _el(trailer, 1) != str(count):
            raise self.fail(f"{what} says {_el(trailer, 1)!r} {counted}, found {count}",
                            trailer)

    def group(self, gs: list[str]) -> list[Acknowledgment]:
        sent = self.stamp(_el(gs, 4), _el(gs, 5), "", gs)
        out: list[Acknowledgment] = []
        sets = 0
        while (st := self.segment())[0] == "ST":
            sets += 1
            st_number, body = self.number, []
            while (seg := self.segment())[0] != "SE":
                if seg[0] in ("ST", "GS", "GE", "IEA"):
                    raise self.fail(f"set {_el(st, 2)!r} has no SE before {seg[0]}", seg)
                body.append((self.number, seg))
            self.check(seg, len(body) + 2, _el(st, 2), "SE", "segments")  # ST..SE inclusive
            if _el(st, 1) in HEADERS:
                se_number, self.number = self.number, st_number
                out.append(self.transaction(st, body, gs, sent))
                self.number = se_number
        if st[0] != "GE":
            raise self.fail("expected ST or GE", st)
        self.check(st, sets, _el(gs, 6), "GE", "transaction sets")
        return out

    def stamp(self, date: str, time: str, code: str, seg: list[str]) -> int:
        """CCYYMMDD + HHMM[SS[D[D]]] (+ element 623 time code) -> epoch seconds UTC."""
        zone: tzinfo = self.tz  # "" and LT (local time): the partners' agreed zone
        if code in FIXED_HOURS:
            zone = timezone(timedelta(hours=FIXED_HOURS[code]))
        elif code.isdigit() and 1 <= int(code) <= 24:  # 01..12 = +1..+12, 13..24 = -12..-1
            zone = timezone(timedelta(hours=int(code) if int(code) <= 12 else int(code) - 25))
        elif code in ZONES:
            try:
                zone = ZoneInfo(ZONES[code])
            except ZoneInfoNotFoundError:
                raise self.fail(f"no time zone data on this machine for {code!r}", seg) from None
        elif code not in ("", "LT"):
            raise self.fail(f"time code {code!r} is not supported", seg)
        try:
            if not re.fullmatch(r"\d{8}", date) or not re.fullmatch(r"(\d{4}(\d{2,4})?)?", time):
                raise ValueError
            moment = datetime.strptime(date + time[:6].ljust(6, "0"), "%Y%m%d%H%M%S")
        except ValueError:
            raise self.fail(f"bad date/time {date!r} {time!r}", seg) from None
        return int(moment.replace(tzinfo=zone).timestamp())

    def quantity(self, value: str, seg: list[str]) -> float | None:
        """An X12 decimal (R): an int when whole, so 60 reads back as 60."""
        if not value:
            return None
        if not re.fullmatch(r"-?(\d+\.?\d*|\.\d+)", value):
            raise self.fail(f"{value!r} is not a number", seg)
        number = float(value)
        return int(number) if number.is_integer() else number

    def transaction(self, st: list[str], body: list[tuple[int, list[str]]], gs: list[str],
                    sent: int) -> Acknowledgment:
        kind = _el(st, 1)
        if not body or body[0][1][0] != HEADERS[kind]:
            raise self.fail(f"{kind} set {_el(st, 2)!r} does not start with {HEADERS[kind]}",
                            st)
        lines: list[AckLine] = []
        acks: list[list[tuple[str, float | None]]] = []  # per line: (ACK01, ACK02)
        header_dates: dict[str, int] = {}
        for self.number, seg in body[1:]:  # self.number: errors name the segment
            if seg[0] in ("PO1", "POC"):
                lines.append(self.item(seg))
                acks.append([])
            elif seg[0] == "ACK":
                if not lines:
                    raise self.fail("ACK before any PO1/POC line item", seg)
                acks[-1].append((_el(seg, 1), self.quantity(_el(seg, 2), seg)))
                if _el(seg, 4):
                    lines[-1].dates[_el(seg, 4)] = self.stamp(_el(seg, 5), "", "", seg)
            elif seg[0] == "DTM" and _el(seg, 2):  # DTM05/06 period forms are not read
                when = self.stamp(_el(seg, 2), _el(seg, 3), _el(seg, 4), seg)
                (lines[-1].dates if lines else header_dates)[_el(seg, 1)] = when
        self.number, head = body[0]
        # Element positions differ per header: BAK (855), BCA (865), BCH (860).
        po_date, seller, ack_date = {"855": (4, 8, 9), "865": (6, 9, 10),
                                     "860": (6, 9, 11)}[kind]
        status = (_el(head, 2) or None) if kind != "860" else None
        day = _el(head, ack_date) or (_el(head, 10) if kind == "860" else "")
        acknowledged = header_dates.get("097")  # DTM 097: transaction creation date/time
        if acknowledged is None:
            # GS04/05 is when the translator built the group: exact to the minute, but only
            # trusted when it is the day the sender put on the document.
            sent_day = datetime.fromtimestamp(sent, self.tz).strftime("%Y%m%d")
            acknowledged = sent if day in ("", sent_day) else self.stamp(day, "", "", head)
        sequence = (_el(head, 5) or None) if kind != "855" else None
        if kind == "855":  # BAK has no sequence: an original answers version 1
            version = None if _el(head, 1) in ("04", "05") else 1
        else:  # the sequence numbers changes, so change 1 is the PO's version 2
            version = 1 + int(sequence) if sequence and sequence.isdigit() else None
        return Acknowledgment(
            kind=kind, po_number=_el(head, 3), version=version, change_sequence=sequence,
            acknowledged_at=acknowledged, status=status, purpose=_el(head, 1),
            po_date=self.stamp(_el(head, po_date), "", "", head) if _el(head, po_date)
            else None,
            seller_order=_el(head, seller) or None, sender=_el(gs, 2),
            control_number=_el(st, 2), source=self.name, dates=header_dates,
            lines=[_confirmed(line, a, status) for line, a in zip(lines, acks, strict=True)])

    def item(self, seg: list[str]) -> AckLine:
        """A PO1 (855) or POC (865/860) line, before its ACKs say what is confirmed."""
        po1 = seg[0] == "PO1"
        qty, uom, price, first_id = (2, 3, 4, 6) if po1 else (3, 5, 6, 8)
        ids = {_el(seg, i): _el(seg, i + 1) for i in range(first_id, len(seg), 2)
               if _el(seg, i) and _el(seg, i + 1)}
        return AckLine(
            line=_el(seg, 1), sku=next((ids[q] for q in SKU_QUALIFIERS if q in ids), None),
            ordered_qty=self.quantity(_el(seg, qty), seg), confirmed_qty=None, status=None,
            change=None if po1 else _el(seg, 2) or None,
            open_qty=None if po1 else self.quantity(_el(seg, 4), seg),
            uom=_el(seg, uom).split(self.comp)[0] or None,  # POC05 is a composite
            price=self.quantity(_el(seg, price), seg), product_ids=ids)


def _confirmed(line: AckLine, acks: list[tuple[str, float | None]],
               ack_type: str | None) -> AckLine:
    confirmed = line.ordered_qty if ack_type in ACCEPTED_AS_SENT and not acks else None
    if acks:  # an accepting ACK without a quantity commits the whole ordered quantity
        confirmed = sum((line.ordered_qty or 0) if q is None else q
                        for code, q in acks if code not in NOT_CONFIRMING)
    codes = tuple(code for code, _ in acks)
    return replace(line, confirmed_qty=confirmed, status=codes[0] if codes else None,
                   statuses=codes)


def _el(seg: list[str], i: int) -> str:
    return seg[i].strip() if i < len(seg) else ""
