"""`seamdesk queue`: the exception queue for scripts (JSON, streamed page by page so a
million exceptions never sit in memory) and for people (one line each)."""

from __future__ import annotations

import sys

import orjson

from app.clock import iso, span_text
from app.diagnosis.catalogue import CATALOGUE, CODE_WIDTH, OWNER_WIDTH
from app.errors import UsageError
from app.plain import visible
from app.queue.query import STATUSES, QueueFilter, QueueRow, known_location
from app.service import Desk

PAGE = 1000


def print_queue(desk: Desk, args) -> int:
    statuses = tuple(args.status or ("active",))
    for status in statuses:
        if status not in (*STATUSES, "active"):
            raise UsageError(f"--status: unknown status {status!r} "
                             f"(one of active, {', '.join(STATUSES)})")
    for code in args.code or ():
        if code not in CATALOGUE:
            raise UsageError(f"--code: unknown finding code {code!r}")
    known = desk.config.settings.locations
    for location in args.location or ():
        if not known_location(location, known):
            raise UsageError(f"--location: no such location {location!r} "
                             f"(locations: {', '.join(known)})")
    where = QueueFilter(status=statuses, code=tuple(args.code or ()),
                        owner=tuple(args.owner or ()), location=tuple(args.location or ()))
    out = sys.stdout
    if args.json:
        out.write("[")
    first, after, now = True, None, desk.now()
    owners = desk.config.settings.owners
    while rows := desk.queue_page(where, args.sort, after, PAGE):
        for row in rows:
            if args.json:
                out.write(("\n  " if first else ",\n  ") + orjson.dumps(
                    _as_json(row, owners, now)).decode())
            else:
                out.write(visible(_line(row, now), one_line=True) + "\n")
            first = False
        after = rows[-1].cursor(args.sort)
    if args.json:
        out.write("\n]\n" if not first else "]\n")
    elif first:
        out.write("No exceptions match.\n")
    return 0


def _as_json(row: QueueRow, owners: dict[str, str], now: int) -> dict:
    return {"id": row.id, "code": row.code, "sku": row.sku, "location": row.location,
            "document": row.document, "handoff": row.handoff, "owner": row.owner,
            "owner_name": owners.get(row.owner), "assignee": row.assignee,
            "severity": row.severity, "status": row.status, "summary": row.summary,
            "opened_at": iso(row.opened_at), "age_seconds": max(0, now - row.opened_at),
            "recurrences": row.recurrences}


def _line(row: QueueRow, now: int) -> str:
    where = " ".join(x for x in (row.sku, row.location, row.document) if x)
    return (f"#{row.id:<6} {span_text(now - row.opened_at):>10}  {row.status:<12} "
            f"{row.code:<{CODE_WIDTH}} {where:<28} {row.owner:<{OWNER_WIDTH}} {row.summary}")
