"""The command palette's SKU search: the same SQL search as the lookup screen's box."""

from __future__ import annotations

import asyncio
from functools import partial

from textual.command import Hit, Hits, Provider

from screens.lookup import SEARCH_LIMIT, hit_prompt


class SkuCommands(Provider):
    async def search(self, query: str) -> Hits:
        query = query.strip()
        if not query:
            return
        hits = await asyncio.to_thread(lambda: self.app.desk.search(query, SEARCH_LIMIT))
        for rank, (sku, name) in enumerate(hits):
            yield Hit(1.0 - rank / (2 * SEARCH_LIMIT), hit_prompt(sku, name, query),
                      partial(self.app.show_sku, sku), text=f"Look up {sku}")
