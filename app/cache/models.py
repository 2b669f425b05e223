"""The cache's tables.

Counts live in three tables: `count_staging` takes a run's pages as they arrive,
`count_current` holds the last good observation per system/location/SKU, and
`count_history` keeps the observations later ones superseded (bounded by retention), so
current + history is each key's whole timeline and an unchanged row is written once. A
run's staged rows reach current only when the run completes, so a failed or partial run
never replaces good data. Times are integer UTC epoch seconds.
"""

from __future__ import annotations

from pydantic import ConfigDict
from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

_NO_ROWID = {"sqlite_with_rowid": False}  # one B-tree per table: faster bulk writes
_CORRECTED = text("action = 'corrected by hand'")


class _Table(SQLModel):
    """Every table's base. Rows are read and written with SQLAlchemy Core, never validated
    by pydantic, so each model's validator is built on first use, not at import (about a
    fifth of this module's import time, which every command pays)."""

    model_config = ConfigDict(defer_build=True)


class System(_Table, table=True):
    name: str = Field(primary_key=True)  # the role: wms, erp, storefront, ...
    kind: str
    base_url: str
    last_good_read_at: int | None = None  # start of the newest complete run


class Location(_Table, table=True):
    code: str = Field(primary_key=True)
    name: str | None = None


class LocationRef(_Table, table=True):
    """A location as one system names it; code is None when [locations] does not map it."""

    __tablename__ = "location_ref"
    system: str = Field(primary_key=True)
    external_id: str = Field(primary_key=True)
    name: str | None = None
    code: str | None = None
    seen_at: int
    rows: int = 0  # count rows seen there in the newest run (kept only if unmapped)


class Item(_Table, table=True):
    sku: str = Field(primary_key=True)
    name: str | None = None
    pack: int | None = None


class _Quantities(_Table):
    on_hand: int | None = None
    available: int | None = None
    allocated: int | None = None
    in_transit: int | None = None
    updated_at: int | None = None  # the system's own last-update time
    read_at: int  # when seamdesk read this version


# The three count tables share one key order, (system, sku, location), so promotion
# streams through all of them in step, and "a SKU at one or every location" is a seek per
# system (queries say `system IN (...)`); no secondary index to maintain on bulk writes.


class CountStaging(_Quantities, table=True):
    __tablename__ = "count_staging"
    __table_args__ = _NO_ROWID
    name: str | None = None  # the item's name as this system gives it
    run_id: int = Field(primary_key=True)
    system: str = Field(primary_key=True)
    sku: str = Field(primary_key=True)
    location: str = Field(primary_key=True)


class CountCurrent(_Quantities, table=True):
    __tablename__ = "count_current"
    __table_args__ = _NO_ROWID
    system: str = Field(primary_key=True)
    sku: str = Field(primary_key=True)
    location: str = Field(primary_key=True)
    run_id: int


class CountHistory(_Quantities, table=True):
    """Superseded observations, for 'history of a SKU at a location' (with current)."""

    __tablename__ = "count_history"
    __table_args__ = _NO_ROWID
    system: str = Field(primary_key=True)
    sku: str = Field(primary_key=True)
    location: str = Field(primary_key=True)
    run_id: int = Field(primary_key=True)


class CountGone(_Table, table=True):
    """Keys a complete full read no longer listed (their rows moved to history), kept
    until the detectors have judged that run: a deletion is a change too."""

    __tablename__ = "count_gone"
    __table_args__ = _NO_ROWID
    run_id: int = Field(primary_key=True)
    system: str = Field(primary_key=True)
    sku: str = Field(primary_key=True)
    location: str = Field(primary_key=True)


class SkuCheck(_Table, table=True):
    """When a single-SKU re-read last confirmed a system's rows for a SKU (a SKU run
    says nothing about the system's other rows, so it cannot move last_good_read_at)."""

    __tablename__ = "sku_check"
    system: str = Field(primary_key=True)
    sku: str = Field(primary_key=True)
    checked_at: int


class InventoryEvent(_Table, table=True):
    __tablename__ = "inventory_event"
    __table_args__ = (Index("ix_inventory_event_sku", "sku", "location", "at"),)
    system: str = Field(primary_key=True)
    source_id: str = Field(primary_key=True)
    event_id: str = Field(index=True)
    kind: str
    sku: str
    location: str
    delta: int
    at: int
    reason: str | None = None
    run_id: int


class _MessageColumns(_Table):
    """A middleware error (Celigo's flow-step errors) as seamdesk keeps it."""

    flow: str  # the flow's name
    flow_id: str  # the vendor's id of the flow (resolve and retry go by flow and step)
    step: str  # the vendor's id of the export/import step that failed
    handoff: str | None = None  # wms->erp, ... (None: the flow name says nothing)
    sku: str | None = None  # the record the message carried (Celigo: its traceKey)
    location: str | None = None  # canonical code; None: the error names no location
    trace_key: str | None = None
    occurred_at: int
    source: str | None = None
    code: str | None = None
    message: str
    classification: str | None = None
    retry_key: str | None = None
    resolved: bool = False
    resolved_at: int | None = None  # the vendor's time, else when a read no longer listed it
    read_at: int


class MessageStaging(_MessageColumns, table=True):
    """A run's middleware errors as they arrive; promoted when the run completes."""

    __tablename__ = "middleware_error_staging"
    __table_args__ = _NO_ROWID
    run_id: int = Field(primary_key=True)
    system: str = Field(primary_key=True)
    error_id: str = Field(primary_key=True)


class MiddlewareError(_MessageColumns, table=True):
    """Every middleware error a complete run has seen, open and resolved (resolved ones
    are pruned with the count history). The lookup reads a SKU's open ones by
    ix_middleware_error_sku."""

    __tablename__ = "middleware_error"
    __table_args__ = (Index("ix_middleware_error_sku", "sku", "resolved", "occurred_at"),
                      Index("ix_middleware_error_open", "system", "resolved"))
    system: str = Field(primary_key=True)
    error_id: str = Field(primary_key=True)
    first_read_at: int  # when seamdesk first saw it
    run_id: int


class _OrderColumns(_Table):
    """An order/PO line as one system holds it (see app.records.OrderLineRow)."""

    sku: str
    kind: str | None = None  # purchase | sales
    location: str | None = None  # canonical code; "system:id" unmapped; None: none named
    quantity: int | None = None
    version: int | None = None
    changed_at: int | None = None
    amended_at: int | None = None
    status: str | None = None
    released_at: int | None = None
    picked: int | None = None
    shipped: int | None = None
    confirmed: int | None = None
    confirmed_at: int | None = None
    source_id: str | None = None


class OrderLineStaging(_OrderColumns, table=True):
    """A run's order lines as they arrive; applied when the run completes."""

    __tablename__ = "order_line_staging"
    __table_args__ = _NO_ROWID
    run_id: int = Field(primary_key=True)
    system: str = Field(primary_key=True)
    number: str = Field(primary_key=True)
    line: str = Field(primary_key=True)
    read_at: int


class OrderLineRecord(_OrderColumns, table=True):
    """Each system's newest view of every order line a complete run has listed. A full
    read drops the lines it no longer lists (except from sources that archive what they
    delivered, a drop folder); lines not seen within the retention are pruned."""

    __tablename__ = "order_line"
    __table_args__ = (Index("ix_order_line_sku", "sku"),)
    system: str = Field(primary_key=True)
    number: str = Field(primary_key=True)
    line: str = Field(primary_key=True)
    first_seen_at: int  # when a complete run first listed it
    last_seen_at: int  # the newest complete run that listed it
    run_id: int


class SyncRun(_Table, table=True):
    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_system", "system", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    system: str
    mode: str  # full | incremental | sku
    since: int | None = None  # the updated-since bound of an incremental run
    started_at: int
    finished_at: int | None = None
    status: str = "running"  # running | complete | partial | failed
    pages: int = 0
    rows: int = 0
    requests: int = 0
    throttled: int = 0
    retries: int = 0
    duplicates: int = 0  # the same key twice within one run (the last one wins)
    write_ms: int = 0  # time spent writing to the cache
    error: str | None = None


class Meta(_Table, table=True):
    key: str = Field(primary_key=True)
    value: str


class QueueItem(_Table, table=True):
    """One exception: a finding someone must own, kept until a person resolves it or a
    refresh shows agreement again. `key` dedups: code + SKU + location, or code + document,
    or code + system for findings about a whole system."""

    __tablename__ = "exception"
    # Pages walk (opened_at, id) or (severity, opened_at, id) in order and stop after one
    # page of matches; a code filter (the usual one) has an index that also covers status
    # and owner, so its count and first page never touch the table.
    __table_args__ = (Index("ix_exception_opened", "opened_at", "id"),
                      Index("ix_exception_status", "status", "opened_at"),
                      Index("ix_exception_severity", "severity", "opened_at", "id"),
                      Index("ix_exception_code", "code", "status", "opened_at", "id", "owner",
                            "assignee"),
                      Index("ix_exception_sku", "sku", "location"),
                      # Health (app.health.read): exceptions still active, or closed since
                      # a day, counted per day opened/closed in this index's order: no sort
                      # and no wide rows at a million.
                      # (The parentheses: PostgreSQL wants them round an expression.)
                      Index("ix_exception_health", text("(closed_at / 86400)"), "handoff",
                            text("(opened_at / 86400)"), "code", "status", "opened_at",
                            "closed_at", "recurrences"))
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    code: str
    sku: str | None = None
    location: str | None = None
    document: str | None = None
    handoff: str
    owner: str  # owner role; the person or team comes from [owners]
    assignee: str | None = None  # a role or a person, once assigned
    severity: int = 2
    status: str = "open"  # open | acknowledged | assigned | snoozed | resolved | cleared
    summary: str
    evidence: str  # JSON: the finding, the numbers, the cross-system context
    first_seen_at: int
    opened_at: int  # the start of this episode (reopening starts a new one)
    seen_at: int  # the newest refresh that judged it and still found it (a key nothing
    # changed at keeps its verdict, and this time, until something does)
    closed_at: int | None = None
    snoozed_until: int | None = None
    recurrences: int = 0  # reopened after being resolved or cleared
    note: str | None = None  # the resolution note


class QueueAudit(_Table, table=True):
    """Who did what to an exception, and when; refreshes act as "refresh"."""

    __tablename__ = "exception_audit"
    __table_args__ = (Index("ix_exception_audit_item", "exception_id", "at"),
                      # Health counts these; partial, so no other audit row pays for it.
                      # (PostgreSQL's where: see postgresql_options.)
                      Index("ix_exception_audit_corrected", "at", "exception_id",
                            sqlite_where=_CORRECTED))
    id: int | None = Field(default=None, primary_key=True)
    exception_id: int
    at: int
    actor: str
    action: str  # opened | updated | cleared | reopened | acknowledged | assigned | ...
    note: str | None = None


class AlertRecord(_Table, table=True):
    """One alert for one destination (config [[alerts]]): written pending, then sent, or
    failed once its attempts ran out, with the last error kept. `dedupe` (rule,
    destination, subject and the state it reports) is unique: a state is alerted once."""

    __tablename__ = "alert"
    __table_args__ = (Index("ix_alert_status", "status", "destination", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    dedupe: str = Field(unique=True)
    rule: str
    destination: str
    subject: str  # an exception's key, "oldest-open", or a system
    created_at: int
    body: str  # JSON: what is posted (never a token)
    status: str = "pending"  # pending | sent | failed
    attempts: int = 0
    last_attempt_at: int | None = None
    sent_at: int | None = None
    error: str | None = None


class ChecklistRecord(_Table, table=True):
    """A first-response checklist, saved as the operator works through it (an unfinished
    one can be resumed); `state` is JSON: each step's confirmation and note, the handoff
    sentence and owner, the packet written."""

    __tablename__ = "checklist"
    __table_args__ = (Index("ix_checklist_open", "finished_at", "updated_at"),)
    id: int | None = Field(default=None, primary_key=True)
    sku: str
    location: str
    symptom: int
    operator: str
    started_at: int
    updated_at: int
    finished_at: int | None = None  # when its packet was written
    state: str


def postgresql_options() -> None:
    """The PostgreSQL spelling of the options above, given when a PostgreSQL engine is made
    (app.cache.engine): naming a postgresql_* option loads SQLAlchemy's PostgreSQL dialect
    (40 ms), which a SQLite cache never needs."""
    for index in QueueAudit.__table__.indexes:
        if index.name == "ix_exception_audit_corrected":
            index.dialect_kwargs["postgresql_where"] = _CORRECTED
