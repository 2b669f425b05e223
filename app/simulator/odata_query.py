"""The OData query options the simulated SAP Business One and Acumatica servers take:
$select, a small $filter (comparisons joined by `and`), $top and $skip. Each server
renders its own envelope; a filter it does not understand is a 400 there, as on the
real servers, rather than a silently wider answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_COMPARISON = re.compile(
    r"^\s*(\w+)\s+(eq|ne|ge|gt|le|lt)\s+(?:'((?:[^']|'')*)'|datetimeoffset'([^']*)'|(-?\d+))\s*$")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "ge": lambda a, b: a >= b,
    "gt": lambda a, b: a > b, "le": lambda a, b: a <= b, "lt": lambda a, b: a < b}


class QueryError(ValueError):
    """A query option the server refuses (its text goes into the vendor's error body)."""


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any

    def holds(self, actual: Any) -> bool:
        return actual is not None and _OPS[self.op](actual, self.value)


def parse_filter(text: str | None, allowed: set[str]) -> list[Condition]:
    if not text:
        return []
    conditions = []
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _COMPARISON.match(part)
        if match is None:
            raise QueryError(f"unsupported filter expression: {part!r}")
        field, op, quoted, stamp, number = match.groups()
        if field not in allowed:
            raise QueryError(f"property {field!r} cannot be filtered on")
        value = quoted.replace("''", "'") if quoted is not None else \
            stamp if stamp is not None else int(number)
        conditions.append(Condition(field, op, value))
    return conditions


def window(params, default: int, cap: int | None = None) -> tuple[int, int | None]:
    """($skip, $top) from the query, checked."""
    try:
        skip = int(params.get("$skip", 0))
        top = int(params["$top"]) if "$top" in params else None
    except ValueError:
        raise QueryError("$skip and $top must be whole numbers") from None
    if skip < 0 or (top is not None and top < 0):
        raise QueryError("$skip and $top must not be negative")
    if cap is not None and top is not None:
        top = min(top, cap)
    return skip, top


def select(record: dict, fields: str | None) -> dict:
    if not fields:
        return record
    wanted = {f.strip().split("/")[0] for f in fields.split(",") if f.strip()}
    return {k: v for k, v in record.items() if k in wanted}
