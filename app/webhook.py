"""POSTing JSON to a webhook: the one place seamdesk sends anything out (ticket packets,
alerts). A bearer token comes from the environment; whatever goes wrong becomes one line
with every secret masked, never an exception."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from app.plain import visible


@dataclass(frozen=True, slots=True)
class Posted:
    ok: bool
    status: int | None  # the HTTP status, None: no answer
    reason: str  # one line: "HTTP 503", "did not answer (...)"; "" when ok


def host(url: str) -> str:
    return urlsplit(url).netloc or "?"


def post_json(url: str, body: dict, *, token: str | None = None, timeout: float = 10.0,
              transport: httpx.BaseTransport | None = None,
              secrets: Iterable[str] = ()) -> Posted:
    headers = {"User-Agent": "seamdesk"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with httpx.Client(timeout=timeout, transport=transport) as client:
            answer = client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        for secret in (*secrets, token or "", url):  # a URL may be a secret (Slack's)
            if secret:
                reason = reason.replace(secret, "***")
        return Posted(False, None, f"did not answer ({visible(reason, one_line=True)})")
    if answer.is_success:
        return Posted(True, answer.status_code, "")
    return Posted(False, answer.status_code, f"answered HTTP {answer.status_code}")
