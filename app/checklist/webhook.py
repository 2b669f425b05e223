"""Posting a packet to the ticket webhook of config.toml [handoff]: packet.json as the body,
the bearer token from the environment. A failed post leaves the packet on disk (it was
written first) and says why in one line."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from app.checklist.packet import clean
from app.config import Config


@dataclass(frozen=True, slots=True)
class Sent:
    ok: bool
    text: str  # one line for a toast or stderr


def send(config: Config, packet: dict, transport: httpx.BaseTransport | None = None) -> Sent:
    settings = config.settings.handoff
    if not settings.webhook_url:
        return Sent(False, "no [handoff] webhook_url configured; the packet stays on disk")
    host = urlsplit(settings.webhook_url).netloc
    headers = {"User-Agent": "seamdesk"}
    if settings.token_env:
        token = config.webhook_token()
        if not token:
            return Sent(False, f"not sent: ${settings.token_env} is not set "
                        "(the webhook's token comes from the environment); the packet "
                        "stays on disk")
        headers["Authorization"] = f"Bearer {token}"
    try:
        with httpx.Client(timeout=settings.timeout_seconds, transport=transport) as client:
            answer = client.post(settings.webhook_url, json=packet, headers=headers)
    except httpx.HTTPError as exc:
        reason = clean(str(exc) or type(exc).__name__, config.secrets())
        return Sent(False, f"not sent: {host} did not answer ({reason}); the packet stays "
                    "on disk")
    if answer.is_success:
        return Sent(True, f"sent to {host} (HTTP {answer.status_code})")
    return Sent(False, f"not sent: {host} answered HTTP {answer.status_code}; the packet "
                "stays on disk")
