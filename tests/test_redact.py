"""No secret from a vendor's answer reaches the cache (app.redact, applied by the refresh)."""

from __future__ import annotations

from sqlalchemy import text

from app.records import CountRow, LocationRow, MessageRow, Page
from app.redact import MASK, without_secrets
from tests.conftest import TOKEN, refresh


def test_a_page_without_a_secret_is_the_same_page():
    page = Page(counts=[CountRow("TEE", "1", 1, 1, 0, None, 5, "Tee")])
    assert without_secrets(page, [TOKEN]) is page


def test_every_text_field_loses_the_secret_and_nothing_else_changes():
    page = Page(counts=[CountRow("TEE", "1", 1, 1, 0, None, 5, f"Tee {TOKEN}"),
                        CountRow("MUG", "1", 2, 2, 0, None, 6, None)],
                locations=[LocationRow("1", f"{TOKEN}-dc")],
                messages=[MessageRow("e1", "flow", "f1", "s1", 7, None, "401",
                                     f"token {TOKEN} rejected", None, None, None, None,
                                     "TEE")])
    clean = without_secrets(page, ["other", TOKEN])
    assert clean.counts == [CountRow("TEE", "1", 1, 1, 0, None, 5, f"Tee {MASK}"),
                            page.counts[1]]
    assert clean.locations == [LocationRow("1", f"{MASK}-dc")]
    assert clean.messages[0].message == f"token {MASK} rejected"
    assert clean.messages[0]._replace(message=page.messages[0].message) == page.messages[0]


async def test_a_vendor_echoing_the_token_does_not_put_it_in_the_cache(config, sim, world,
                                                                       engine):
    world.errors[0].message = f"Bearer {TOKEN} is not valid for this flow"
    await refresh(config, sim, engine, full=True)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT message FROM middleware_error")).scalars().all()
        anywhere = conn.execute(text(
            "SELECT count(*) FROM middleware_error WHERE instr(message, :t) > 0"),
            {"t": TOKEN}).scalar()
    assert f"Bearer {MASK} is not valid for this flow" in stored and anywhere == 0
