"""Delivering pending alerts: oldest first, at most `max_per_hour` per destination (the
rest stay pending for a later refresh, never dropped), each tried `1 + retries` times
with a doubling backoff. A delivery that still fails keeps its error and is tried again
after the next refresh; after `give_up_after` such refreshes it is marked failed, where
`seamdesk health` and the health screen show it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from sqlalchemy import Engine, func, select, update

from app.alerts.settings import AlertingSettings, Destination
from app.cache.engine import writer
from app.cache.models import AlertRecord
from app.webhook import Posted, host, post_json

HOUR = 3600


@dataclass(slots=True)
class Delivered:
    sent: int = 0
    failed: int = 0
    held: int = 0


def deliver(engine: Engine, destinations: dict[str, Destination],
            limits: AlertingSettings, now: int, *, transport=None,
            sleep: Callable[[float], None]) -> Delivered:
    a = AlertRecord
    done = Delivered()
    with engine.connect() as conn:
        pending = conn.execute(select(a.id, a.destination, a.body, a.attempts)
                               .where(a.status == "pending").order_by(a.id)).all()
        recent = dict(conn.execute(select(a.destination, func.count())
                                   .where(a.status == "sent", a.sent_at > now - HOUR)
                                   .group_by(a.destination)).all())
    for alert in pending:
        destination = destinations.get(alert.destination)
        if destination is None:
            continue  # its rule left the config: kept, shown as pending
        if recent.get(alert.destination, 0) >= limits.max_per_hour:
            done.held += 1
            continue
        posted = _post(destination, orjson.loads(alert.body), limits, transport, sleep)
        values: dict = {"attempts": alert.attempts + 1, "last_attempt_at": now}
        if posted.ok:
            values.update(status="sent", sent_at=now, error=None)
            recent[alert.destination] = recent.get(alert.destination, 0) + 1
            done.sent += 1
        else:
            values["error"] = posted.reason
            if alert.attempts + 1 >= limits.give_up_after:
                values["status"] = "failed"
            done.failed += 1
        with writer(engine).begin() as conn:
            conn.execute(update(a).where(a.id == alert.id).values(**values))
    return done


def _post(destination: Destination, body: dict, limits: AlertingSettings, transport,
          sleep: Callable[[float], None]) -> Posted:
    url = os.environ.get(destination.url_env) if destination.url_env else \
        destination.webhook_url
    if not url:
        return Posted(False, None, f"${destination.url_env} is not set (the webhook URL "
                      "comes from the environment)")
    token = None
    if destination.token_env:
        token = os.environ.get(destination.token_env)
        if not token:
            return Posted(False, None, f"${destination.token_env} is not set (the token "
                          "comes from the environment)")
    delay, posted = limits.backoff_seconds, None
    for attempt in range(1 + limits.retries):
        if attempt:
            sleep(delay)
            delay *= 2
        posted = post_json(url, body, token=token, timeout=destination.timeout_seconds,
                           transport=transport)
        if posted.ok or (posted.status is not None and 400 <= posted.status < 500
                         and posted.status not in (408, 429)):
            break  # sent, or refused for good: another try now would say the same
    return Posted(posted.ok, posted.status,
                  posted.reason and f"{host(url)} {posted.reason}")
