"""Secrets out of what the systems send, before it is cached: a vendor that echoes our
token in an error message ("invalid token abc…") or a field must not put it in the cache,
where every lookup, queue line and packet would carry it on (packets also redact as they
are written, but only while the secret is in that process's environment)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace
from functools import cache
from operator import attrgetter
from typing import get_args, get_type_hints

from app.records import Page

MASK = "[redacted]"


def without_secrets(page: Page, secrets: Sequence[str]) -> Page:
    """The page, with every secret in its text replaced by MASK. Each list of rows is
    searched as one string first (in C): a page without a secret, nearly all of them,
    costs that one search, not a loop over its rows."""
    if not secrets:
        return page
    changed = {}
    for field in fields(page):
        rows = getattr(page, field.name)
        if rows and _holds(rows, secrets):
            changed[field.name] = [_row_without(row, secrets) for row in rows]
    return replace(page, **changed) if changed else page


def _holds(rows: Sequence, secrets: Sequence[str]) -> bool:
    texts = "\0".join("\0".join(filter(None, map(attrgetter(name), rows)))
                      for name in _text_fields(type(rows[0])))
    return any(secret in texts for secret in secrets)


@cache
def _text_fields(kind: type) -> tuple[str, ...]:
    """A row type's text fields (str, or str or None): a NamedTuple's or a dataclass's."""
    hints = get_type_hints(kind)
    return tuple(name for name, hint in hints.items() if hint is str or str in get_args(hint))


def masked(text: str, secrets: Sequence[str]) -> str:
    """The text with every secret in it replaced by MASK."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def _row_without(row, secrets: Sequence[str]):
    values = {}
    for name in _text_fields(type(row)):
        value = getattr(row, name)
        if value is not None and any(secret in value for secret in secrets):
            values[name] = masked(value, secrets)
    if not values:
        return row
    return row._replace(**values) if hasattr(row, "_replace") else replace(row, **values)
