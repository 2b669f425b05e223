"""Posting a packet to the ticket webhook of config.toml [handoff]: packet.json as the body,
the bearer token from the environment. A failed post leaves the packet on disk (it was
written first) and says why in one line."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from app.config import Config
from app.webhook import host, post_json


@dataclass(frozen=True, slots=True)
class Sent:
    ok: bool
    text: str  # one line for a toast or stderr


def send(config: Config, packet: dict, transport: httpx.BaseTransport | None = None) -> Sent:
    settings = config.settings.handoff
    if not settings.webhook_url:
        return Sent(False, "no [handoff] webhook_url configured; the packet stays on disk")
    token = None
    if settings.token_env:
        token = config.webhook_token()
        if not token:
            return Sent(False, f"not sent: ${settings.token_env} is not set "
                        "(the webhook's token comes from the environment); the packet "
                        "stays on disk")
    posted = post_json(settings.webhook_url, packet, token=token,
                       timeout=settings.timeout_seconds, transport=transport,
                       secrets=config.secrets())
    where = host(settings.webhook_url)
    if posted.ok:
        return Sent(True, f"sent to {where} (HTTP {posted.status})")
    return Sent(False, f"not sent: {where} {posted.reason}; the packet stays on disk")
