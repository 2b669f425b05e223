"""OData conventions shared by the SAP Business One and Acumatica connectors (and the
offset paging of the generic REST one): next links, string literals, $top/$skip pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any


def next_link(body: Any) -> str | None:
    """The server-driven next page: OData v4 writes `@odata.nextLink`, the v3-style JSON
    SAP's /b1s/v1 speaks writes `odata.nextLink`."""
    if not isinstance(body, dict):
        return None
    link = body.get("@odata.nextLink") or body.get("odata.nextLink")
    return link if isinstance(link, str) and link else None


def literal(text: str) -> str:
    """An OData string literal: quotes doubled, so a SKU cannot change the query."""
    return "'" + text.replace("'", "''") + "'"


async def skip_pages(fetch: Callable[[int, int], Awaitable[list]], top: int
                     ) -> AsyncIterator[list]:
    """Pages of `top` rows from `fetch(skip, top)` until one comes back short."""
    skip = 0
    while True:
        rows = await fetch(skip, top)
        if rows:
            yield rows
        if len(rows) < top:
            return
        skip += len(rows)
