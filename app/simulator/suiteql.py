"""SuiteQL run in SQLite, for the simulated NetSuite: the few Oracle-isms SuiteQL shares
with Oracle SQL translated (TO_CHAR, TO_TIMESTAMP, TO_DATE, FETCH FIRST n ROWS ONLY), dates
stored tagged so answers can render them as NetSuite does, and a query's result served
page by page like a server-side cursor, up to SuiteQL's 100,000-row cap.

Each row comes out of SQLite already as its JSON object on the wire (`as_json`): a full
read is 400,000 rows, and rendering them in Python was a quarter of the simulated ERP's
work in it.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from functools import lru_cache

from app.simulator.vendor import utc_text

QUERY_CAP = 100_000
DATE_TAG = "@D"  # dates are stored as "@D" + 10-digit epoch: sortable, recognisable
DATETIME_MASK = "YYYY-MM-DD HH24:MI:SS"
ORACLE_MASK = [("YYYY", "%Y"), ("MM", "%m"), ("DD", "%d"), ("HH24", "%H"), ("MI", "%M"),
               ("SS", "%S")]


def date_value(epoch: int | None) -> str | None:
    return None if epoch is None else f"{DATE_TAG}{int(epoch):010d}"


@lru_cache(maxsize=64)
def _mask(mask: str) -> str:
    for oracle, python in ORACLE_MASK:
        mask = mask.replace(oracle, python)
    return mask


def to_char(value, mask: str):
    if isinstance(value, str) and value.startswith(DATE_TAG):
        if mask == DATETIME_MASK:  # what nearly every query asks for: the quick way
            return utc_text(int(value[2:]), " ")
        return datetime.fromtimestamp(int(value[2:]), UTC).strftime(_mask(mask))
    return None if value is None else str(value)


def to_timestamp(text: str, mask: str) -> str:
    try:
        parsed = datetime.strptime(text, _mask(mask)).replace(tzinfo=UTC)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid date literal {text!r}: {exc}") from None
    return date_value(int(parsed.timestamp()))


# TO_CHAR(column, 'YYYY-MM-DD HH24:MI:SS'), what nearly every query projects, done by
# SQLite itself (to_char, a Python function, is called once per row otherwise).
_DATETIME_OF_COLUMN = re.compile(
    r"\bTO_CHAR\s*\(\s*([A-Za-z_][\w.]*)\s*,\s*'" + DATETIME_MASK + r"'\s*\)", re.I)


def _datetime_sql(match: re.Match) -> str:
    column = match.group(1)
    return (f"(CASE WHEN substr({column}, 1, 2) = '{DATE_TAG}' THEN strftime("
            f"'%Y-%m-%d %H:%M:%S', CAST(substr({column}, 3) AS INTEGER), 'unixepoch')"
            f" ELSE CAST({column} AS TEXT) END)")


def translate(suiteql: str) -> str:
    """The few Oracle-isms SuiteQL shares with Oracle SQL, in SQLite's dialect."""
    suiteql = _DATETIME_OF_COLUMN.sub(_datetime_sql, suiteql)
    sql = re.sub(r"\bFETCH\s+(?:FIRST|NEXT)\s+(\d+)\s+ROWS?\s+ONLY\b", r"LIMIT \1", suiteql,
                 flags=re.I)
    sql = re.sub(r"\bOFFSET\s+(\d+)\s+ROWS?\b", r"OFFSET \1", sql, flags=re.I)
    # TRANSACTION is a keyword in SQLite but a table and a column name in NetSuite.
    return re.sub(r"\btransaction\b", '"transaction"', sql, flags=re.I)


def as_json(sql: str, names: list[str]) -> str:
    """`sql` with each row made its REST item: {"links": [], column: text, ...}, every
    value a string, NULL columns left out (json_patch drops null members), raw dates in
    the user's format (M/D/YYYY)."""
    last = {name: at for at, name in enumerate(names)}  # a repeated name: the last one
    columns = ", ".join(f"c{at}" for at in range(len(names)))
    keys = {name: "'" + name.replace("'", "''") + "'" for name in last}  # SQL literals
    members = ", ".join(f"{keys[name]}, {_text(f'c{at}')}" for name, at in last.items())
    return (f"WITH r({columns}) AS ({sql}) "
            f"SELECT json_patch('{{\"links\":[]}}', json_object({members})) FROM r")


def _text(column: str) -> str:
    epoch = f"CAST(substr({column}, 3) AS INTEGER), 'unixepoch'"
    day = (f"CAST(strftime('%m', {epoch}) AS INTEGER) || '/' || "
           f"CAST(strftime('%d', {epoch}) AS INTEGER) || '/' || strftime('%Y', {epoch})")
    return (f"CASE WHEN typeof({column}) <> 'text' THEN CAST({column} AS TEXT)"
            f" WHEN substr({column}, 1, 2) = '{DATE_TAG}' THEN {day} ELSE {column} END")


_TRAILING_ORDER = re.compile(r"\s+ORDER\s+BY\s[^()]*$", re.I)
_PAGING = re.compile(r"\b(LIMIT|OFFSET|FETCH)\b", re.I)


def unordered(sql: str) -> str:
    """The query without its final ORDER BY, for counting: SQLite then counts from the
    index alone instead of evaluating (and sorting) every row it would return."""
    match = _TRAILING_ORDER.search(sql)
    if match is None or _PAGING.search(match.group()):
        return sql
    return sql[:match.start()]


class Result:
    """A query's rows as a server-side cursor serves them: read from SQLite as far as
    the pages asked for so far (a new query's first page costs one page, not the
    100,000 rows it may return), up to the cap."""

    def __init__(self, db: sqlite3.Connection, sql: str) -> None:
        self.sql = sql
        names = [d[0].lower() for d in db.execute(f"SELECT * FROM ({sql}) LIMIT 0").description]
        self.cursor = db.execute(as_json(sql, names))
        self.rows: list[str] = []  # each row's item, as JSON
        self.exhausted = False
        self._total: int | None = None

    def rows_until(self, end: int) -> list[str]:
        end = min(end, QUERY_CAP)
        while not self.exhausted and len(self.rows) < end:
            wanted = max(end - len(self.rows), 2000)
            batch = self.cursor.fetchmany(min(wanted, QUERY_CAP - len(self.rows)))
            self.rows += [row[0] for row in batch]
            if len(batch) < wanted or len(self.rows) >= QUERY_CAP:
                self.exhausted = True
                self.close()
        return self.rows

    def total(self, db: sqlite3.Connection) -> int:
        """totalResults: counted past the cap, and for a query not read to its end yet."""
        if self._total is None:
            if self.exhausted and len(self.rows) < QUERY_CAP:
                self._total = len(self.rows)
            else:
                try:
                    self._total = db.execute(
                        f"SELECT count(*) FROM ({unordered(self.sql)})").fetchone()[0]
                except sqlite3.Error:  # the cut went wrong (ORDER BY inside a literal?)
                    self._total = db.execute(
                        f"SELECT count(*) FROM ({self.sql})").fetchone()[0]
        return self._total

    def close(self) -> None:
        self.cursor.close()
