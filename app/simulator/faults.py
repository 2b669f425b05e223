"""Fault injection per simulated system: throttling, 5xx, latency, outages, revoked
tokens and broken payloads, configured in the scenario's [faults.X] tables and
changeable while the simulator runs (POST /_sim/faults)."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field

from app.simulator.scenario import Faults

QUANTITY_KEYS = ("on_hand", "quantity", "quantityonhand", "available", "quantityavailable",
                 "change_in_on_hand")


@dataclass
class Gate:
    """Counts one system's requests and decides which of them misbehave."""

    seed: int = 0
    requests: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.rng.seed(self.seed)

    async def admit(self, faults: Faults | None, now: int) -> str | None:
        """Called once per request: None, or the fault to answer with (`now`: the
        simulator's clock, for outages that start at a time)."""
        self.requests += 1
        if faults is None:
            return None
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.down or (faults.down_from and now >= faults.down_from.timestamp()):
            return "down"
        if faults.unauthorized_after and self.requests > faults.unauthorized_after:
            return "unauthorized"
        if faults.throttle_every and self.requests % faults.throttle_every == 0:
            return "throttle"
        if faults.error_rate and self.rng.random() < faults.error_rate:
            return "error"
        return None

    def malformed_now(self, faults: Faults | None, number: int | None = None) -> str | None:
        """How to break request `number` (the count admit gave it: by the time its answer
        is ready, other requests may have been admitted), None to leave it whole."""
        number = self.requests if number is None else number
        if faults is not None and faults.malformed_at and number == faults.malformed_at:
            return faults.malformed
        return None


def mangle(body: bytes, how: str) -> tuple[bytes, str]:
    """Break an answer the way real gateways and buggy endpoints do: (body, media type)."""
    if how == "not-json":
        return b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"
    if how == "truncated":
        return body[: max(1, len(body) // 2)], "application/json"
    lines = body.decode().splitlines() or [""]
    for index, line in enumerate(lines):
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if _break(document, how):
            lines[index] = json.dumps(document)
            break
    return "\n".join(lines).encode(), "application/json"


def _break(node, how: str) -> bool:
    """Depth-first: drop the first `sku`, or make the first quantity a word."""
    if isinstance(node, dict):
        if how == "missing-field" and "sku" in node:
            del node["sku"]
            return True
        if how == "wrong-type":
            for key in QUANTITY_KEYS:
                if key in node:
                    node[key] = "lots"
                    return True
        return any(_break(value, how) for value in node.values())
    if isinstance(node, list):
        return any(_break(value, how) for value in node)
    return False
