"""Reading the queue: filters, keyset pages, counts, one exception with its audit trail.

Pages are fetched by keyset (the last row's sort values), never by OFFSET, so paging
stays fast at a million exceptions and a widget only ever holds the rows on screen.
Counts, the overview and first pages are remembered until the cache changes (see `_Memo`):
at a million exceptions a count costs a scan, and the screen asks on every filter change.
"""

from __future__ import annotations

import difflib
import sqlite3
import threading
import weakref
from collections.abc import Collection
from dataclasses import dataclass, fields, replace

import orjson
from sqlalchemy import Engine, func, or_, select, text, tuple_

from app.cache.models import QueueAudit, QueueItem
from app.cache.trigram import available, match_words
from app.diagnosis.catalogue import SEVERITY
from app.queue.store import ACTIVE

STATUSES = ("open", "acknowledged", "assigned", "snoozed", "resolved", "cleared")
SORTS = ("age", "severity")


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Every field narrows; empty means any. `status` may say "active" for the four
    statuses that still need someone."""

    status: tuple[str, ...] = ("active",)
    code: tuple[str, ...] = ()
    handoff: tuple[str, ...] = ()
    owner: tuple[str, ...] = ()
    location: tuple[str, ...] = ()
    text: str = ""
    use_index: bool = False  # the cache has the trigram index (set by the query functions)

    def statuses(self) -> tuple[str, ...]:
        expanded = []
        for status in self.status:
            expanded += ACTIVE if status == "active" else (status,)
        return tuple(dict.fromkeys(expanded))

    def conditions(self, counting: bool = False) -> list:
        """The WHERE clauses. `counting`: for a count of a free-text match, hint that the
        status (rarely narrow) is likely true, so SQLite drives from the trigram index's
        matches by primary key instead of walking every active exception's index entry
        (10x at a million); pages keep the status index, whose order ends them early."""
        q = QueueItem
        found = []
        match = match_words(self.text) if self.use_index else None
        # "dal1" means DAL1, as in the lookup (a location has no index of its own to lose).
        locations = tuple(v.lower() for v in self.location)
        for column, values in ((q.status, self.statuses()), (q.code, self.code),
                               (q.handoff, self.handoff), (func.lower(q.location), locations)):
            if values:
                clause = column.in_(values)
                found.append(func.likely(clause) if counting and match is not None
                             and column is q.status else clause)
        if self.owner:
            found.append(or_(q.owner.in_(self.owner), q.assignee.in_(self.owner)))
        if match is not None:
            found.append(q.id.in_(text(
                "SELECT rowid FROM exception_search WHERE exception_search MATCH :match"
            ).bindparams(match=match)))
        else:  # no trigram index, or a word too short for it: every word, anywhere
            for word in self.text.split():
                pattern = "%" + word.replace("\\", "\\\\").replace(
                    "%", "\\%").replace("_", "\\_") + "%"
                found.append(or_(q.summary.ilike(pattern, escape="\\"),
                                 q.sku.ilike(pattern, escape="\\"),
                                 q.document.ilike(pattern, escape="\\")))
        return found


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: int
    code: str
    sku: str | None
    location: str | None
    document: str | None
    handoff: str
    owner: str
    assignee: str | None
    severity: int
    status: str
    summary: str
    opened_at: int
    recurrences: int

    def cursor(self, sort: str) -> tuple:
        return (self.severity, self.opened_at, self.id) if sort == "severity" \
            else (self.opened_at, self.id)


_ROW = tuple(getattr(QueueItem, f.name) for f in fields(QueueRow))


def page(engine: Engine, where: QueueFilter, sort: str = "age", after: tuple | None = None,
         limit: int = 100, offset: int = 0) -> list[QueueRow]:
    """The next `limit` rows after the cursor `after` (None: from the start, skipping
    `offset`: only for jumps, as OFFSET walks the index). Oldest first for "age", most
    severe (then oldest) first for "severity". A first page is remembered, like a count,
    until the cache changes: a filter the operator goes back to shows at once."""
    memo = _memo(engine) if after is None and not offset else None
    if memo is None:
        return _page(engine, where, sort, after, limit, offset)
    version, key = memo.version(), (replace(where, use_index=False), sort, limit)
    if (found := memo.pages.get(key)) and found[0] == version:
        return list(found[1])
    rows = _page(engine, where, sort, after, limit, offset)
    memo.remember(memo.pages, key, version, tuple(rows))
    return rows


def _page(engine: Engine, where: QueueFilter, sort: str, after: tuple | None, limit: int,
          offset: int) -> list[QueueRow]:
    q = QueueItem
    base = select(*_ROW).where(*conditions(engine, where))
    with engine.connect() as conn:
        if sort != "severity":
            query = base.order_by(q.opened_at, q.id)
            if after is not None:  # a row value: SQLite walks the index from the cursor on
                query = query.where(tuple_(q.opened_at, q.id) > tuple_(*after))
            return [QueueRow(*r) for r in conn.execute(query.offset(offset).limit(limit))]
        # Severity descends while age ascends: one index walk per severity level (a handful)
        # keeps every step a row-value range instead of an OR the planner must sort.
        levels = sorted(set(SEVERITY.values()) | {2}, reverse=True)
        rows: list[QueueRow] = []
        for level in levels:
            if after is not None and level > after[0]:
                continue
            query = base.where(q.severity == level).order_by(q.opened_at, q.id)
            if after is not None and level == after[0]:
                query = query.where(tuple_(q.opened_at, q.id) > tuple_(after[1], after[2]))
            if offset:
                skipped = conn.scalar(select(func.count()).select_from(
                    query.with_only_columns(q.id).order_by(None).subquery()))
                if skipped <= offset:
                    offset -= skipped
                    continue
            rows += [QueueRow(*r) for r in conn.execute(
                query.offset(offset).limit(limit - len(rows)))]
            offset = 0
            if len(rows) >= limit:
                break
        return rows


def count(engine: Engine, where: QueueFilter) -> int:
    """How many exceptions `where` matches; a filter on status alone is the overview's
    sum, and any count is remembered until the cache changes."""
    memo = _memo(engine)
    version = memo.version() if memo else None
    if where == QueueFilter(status=where.status):  # no narrowing but status
        by_status = overview(engine, version).by_status
        return sum(by_status.get(s, 0) for s in where.statuses())
    key = replace(where, use_index=False)
    if memo and (found := memo.counts.get(key)) and found[0] == version:
        return found[1]
    with engine.connect() as conn:
        counted = conn.scalar(select(func.count()).select_from(QueueItem)
                              .where(*conditions(engine, where, counting=True)))
    if memo and version is not None:
        memo.remember(memo.counts, key, version, counted)
    return counted


def conditions(engine: Engine, where: QueueFilter, counting: bool = False) -> list:
    """The filter's WHERE clauses for this cache (with its trigram index, if it has one):
    every reader and every bulk action goes through here, so they match the same rows."""
    return replace(where, use_index=available(engine, "exception_search")).conditions(
        counting)


class _Memo:
    """Counts for one SQLite cache file, valid while its `PRAGMA data_version` stays put.

    The pragma, asked on a connection of the memo's own, changes whenever any other
    connection (this process's writers, a refresh in another process) commits: a
    refresh's re-sightings change summaries and handoffs without an audit row, so
    nothing short of it would say that a remembered count is still right."""

    KEEP = 32  # counts, and first pages, remembered

    def __init__(self, path: str) -> None:
        self._lock = threading.Lock()
        self.reading = threading.Lock()  # the overview's
        # Not one of the engine's: a pooled connection would keep the engine alive, and
        # the memo with it (the memo goes when its engine does).
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self.counts: dict[QueueFilter, tuple[int, int]] = {}
        self.pages: dict[tuple, tuple[int, tuple[QueueRow, ...]]] = {}
        self.overview: tuple[int, Overview] | None = None
        self.other: dict = {}  # see remembered()

    def version(self) -> int:
        with self._lock:
            return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def remember(self, memory: dict, key, version: int, value) -> None:
        if len(memory) >= self.KEEP:
            memory.clear()
        memory[key] = (version, value)

    def __del__(self) -> None:
        self._conn.close()


_memos: weakref.WeakKeyDictionary[Engine, _Memo | None] = weakref.WeakKeyDictionary()
_memos_lock = threading.Lock()


def _memo(engine: Engine) -> _Memo | None:
    """The engine's memo; None where counts cannot be remembered safely (PostgreSQL, an
    in-memory SQLite)."""
    with _memos_lock:
        if engine not in _memos:
            database = engine.url.database
            file = engine.dialect.name == "sqlite" and database not in (None, "", ":memory:") \
                and not database.startswith("file:")
            _memos[engine] = _Memo(database) if file else None
        return _memos[engine]


def remembered(engine: Engine, key, compute):
    """`compute()`, remembered under `key` until the cache changes (computed every time
    where nothing can be remembered safely): for other readers' aggregates, e.g. health."""
    memo = _memo(engine)
    if memo is None:
        return compute()
    version = memo.version()  # before computing: a commit meanwhile means ask again
    if (found := memo.other.get(key)) and found[0] == version:
        return found[1]
    value = compute()
    memo.remember(memo.other, key, version, value)
    return value


@dataclass(frozen=True, slots=True)
class Overview:
    by_status: dict[str, int]
    oldest_open_at: int | None  # the oldest exception still needing someone


def overview(engine: Engine, version: int | None = None) -> Overview:
    """Exceptions by status and the oldest active one: a scan of the status index (a few
    hundred ms at a million), so remembered until the cache changes."""
    memo = _memo(engine)
    if memo is None:
        return _overview(engine)
    if version is None:
        version = memo.version()
    with memo.reading:  # one scan at a time: a second asker waits for the first's answer
        if memo.overview is None or memo.overview[0] != version:
            memo.overview = (version, _overview(engine))
        return memo.overview[1]


def _overview(engine: Engine) -> Overview:
    q = QueueItem
    with engine.connect() as conn:
        by_status = dict(conn.execute(select(q.status, func.count()).group_by(q.status)).all())
        oldest = conn.scalar(select(func.min(q.opened_at)).where(q.status.in_(ACTIVE)))
    return Overview({s: by_status.get(s, 0) for s in STATUSES}, oldest)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: int
    actor: str
    action: str
    note: str | None


@dataclass(frozen=True, slots=True)
class QueueDetail:
    row: QueueRow
    key: str
    evidence: dict
    first_seen_at: int
    seen_at: int
    closed_at: int | None
    snoozed_until: int | None
    note: str | None
    audit: tuple[AuditEntry, ...]


def detail(engine: Engine, item_id: int) -> QueueDetail | None:
    q, a = QueueItem, QueueAudit
    with engine.connect() as conn:
        found = conn.execute(select(*_ROW, q.key, q.evidence, q.first_seen_at, q.seen_at,
                                    q.closed_at, q.snoozed_until, q.note)
                             .where(q.id == item_id)).first()
        if found is None:
            return None
        audit = tuple(AuditEntry(*r) for r in conn.execute(
            select(a.at, a.actor, a.action, a.note).where(a.exception_id == item_id)
            .order_by(a.at, a.id)))
    width = len(_ROW)
    row = QueueRow(*found[:width])
    key, evidence, first_seen, seen, closed, snoozed, note = found[width:]
    return QueueDetail(row, key, orjson.loads(evidence), first_seen, seen, closed, snoozed,
                       note, audit)


def unknown_values(where: QueueFilter, locations: Collection[str]) -> str | None:
    """What in a filter no exception can have (a code, status or handoff seamdesk does not
    know, a location [locations] lacks, an owner role misspelt), with the closest known
    spelling: a filter that matches nothing says why instead of only "0 match"."""
    from app.diagnosis.catalogue import CATALOGUE, OWNER_ROLES
    from app.records import HANDOFFS, ROLES

    for label, values, known in (("code", where.code, CATALOGUE),
                                 ("status", where.status, (*STATUSES, "active")),
                                 ("handoff", where.handoff, (*HANDOFFS, "both", *ROLES))):
        for value in values:
            if value not in known:
                close = _closest(value, known, 0.5)
                return f"no {label} {value!r}" + (f", try {close}" if close else "")
    for value in where.location:
        if not known_location(value, locations):
            return f"no location {value!r} in [locations]"
    # An owner filter also matches the person an exception is assigned to, so only a value
    # close to a role's spelling is named (a person's name is not a misspelt role).
    for value in where.owner:
        if value not in OWNER_ROLES and (close := _closest(value, OWNER_ROLES, 0.75)):
            return f"no owner {value!r}, try {close}"
    return None


def _closest(value: str, known: Collection[str], cutoff: float) -> str | None:
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=cutoff) or \
        [k for k in known if k.startswith(value)][:1]
    return close[0] if close else None


def known_location(value: str, locations: Collection[str]) -> bool:
    """A location [locations] maps, in any case, or an unmapped one ("system:id")."""
    return ":" in value or value.lower() in {code.lower() for code in locations}


FILTER_KEYS = {"status": "status", "code": "code", "handoff": "handoff", "owner": "owner",
               "loc": "location", "location": "location"}


def parse_filter(text: str) -> QueueFilter:
    """The queue screen's filter line: `code:phantom-stock,hidden-stock owner:integration
    status:resolved loc:DAL1 handoff:wms->erp` plus free words (matched against the
    summary, SKU and document). Without `status:`, the active exceptions."""
    fields_: dict[str, list[str]] = {}
    words = []
    for token in text.split():
        name, colon, value = token.partition(":")
        key = FILTER_KEYS.get(name.lower()) if colon else None
        if key and value:
            fields_.setdefault(key, []).extend(v for v in value.split(",") if v)
        else:
            words.append(token)
    return QueueFilter(status=tuple(fields_.get("status", ["active"])),
                       code=tuple(fields_.get("code", ())),
                       handoff=tuple(fields_.get("handoff", ())),
                       owner=tuple(fields_.get("owner", ())),
                       location=tuple(fields_.get("location", ())), text=" ".join(words))
