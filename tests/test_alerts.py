"""Alerts delivered to a real HTTP receiver on 127.0.0.1 (port 0), started by the test:
the demo's amendment-after-release within one refresh, dedupe across refreshes, retry,
a receiver that is down, the rate limit, condition rules and config errors."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import insert, select, update

from app import config as config_module
from app.alerts.evaluate import evaluate, summary
from app.cache.engine import make_engine
from app.cache.models import AlertRecord, QueueAudit, QueueItem, System
from app.cli import main
from app.errors import ConfigError
from tests.conftest import AFTER
from tests.test_lookup import HISTORY_AT
from tests.test_lookup_screen import make_desk

TOKEN = "alert-token-5150-do-not-leak"


class Receiver:
    """A webhook on a free loopback port: records every POST, answers from `answers`
    (then 200)."""

    def __init__(self, answers=()) -> None:
        self.requests: list[dict] = []
        self.answers = list(answers)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "body": json.loads(body),
                                          "auth": self.headers.get("Authorization")})
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def bodies(self, path: str) -> list[dict]:
        return [r["body"] for r in self.requests if r["path"] == path]


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def with_alerts(config, text: str):
    path = config.path
    path.write_text(path.read_text() + "\n" + text)
    return config_module.load(path)


async def test_amendment_after_release_reaches_both_owners_within_one_refresh(
        config, sim, world, engine, receiver, monkeypatch):
    monkeypatch.setenv("SEAMDESK_ALERT_TOKEN", TOKEN)
    config = with_alerts(config, f"""
[alert_destinations.procurement]
webhook_url = "{receiver.url}/procurement"
token_env = "SEAMDESK_ALERT_TOKEN"
[alert_destinations.warehouse_lead]
webhook_url = "{receiver.url}/floor"
format = "slack"
""")
    world.set_clock(HISTORY_AT)
    await make_desk(config, sim, at=HISTORY_AT).refresh(full=True)  # 08:00: before the amendment
    assert not receiver.bodies("/procurement")
    world.set_clock(world.base_now)
    desk = make_desk(config, sim, at=AFTER)
    await desk.refresh(full=True)
    procurement = receiver.bodies("/procurement")
    assert [b["code"] for b in procurement] == ["amendment-after-release"]
    alert = procurement[0]
    assert (alert["document"], alert["sku"], alert["location"], alert["change"]) == (
        "PO-1042", "TEE-BLK-M", "DAL1", "opened")
    assert "Procurement" in alert["routed_to"] or "procurement" in alert["routed_to"]
    assert alert["ownership"].startswith("Purchasing: the ERP owns it")
    assert receiver.requests[0]["auth"] == f"Bearer {TOKEN}"
    floor = receiver.bodies("/floor")
    assert len(floor) == 1 and set(floor[0]) == {"text"} and "PO-1042" in floor[0]["text"]
    assert desk.alert_outcome.sent == 2
    # The next refresh finds the same state: nothing is posted again.
    await desk.refresh()
    assert len(receiver.requests) == 2 and desk.alert_outcome.sent == 0
    with engine.connect() as conn:
        bodies = conn.scalars(select(AlertRecord.body)).all()
    assert bodies and not any(TOKEN in body for body in bodies)


def _fixture(tmp_path, rules: str):
    path = tmp_path / "alerts.toml"
    path.write_text('[cache]\nurl = "sqlite:///alerts.db"\n[systems.wms]\nkind = "shiphero"\n'
                    'base_url = "http://127.0.0.1:9"\ntoken_env = "X_TOKEN"\n'
                    "[alerting]\nbackoff_seconds = 0\n" + rules)
    config = config_module.load(path, require_tokens=False)
    return config, make_engine(config.cache_url)


def _open(engine, ident: int, code: str, at: int, action: str = "opened") -> None:
    with engine.begin() as conn:
        if action == "opened":
            conn.execute(insert(QueueItem).values(
                id=ident, key=f"{code}|S{ident}|DAL1", code=code, sku=f"S{ident}",
                location="DAL1", handoff="wms->erp", owner="integration", summary="drift",
                evidence="{}", first_seen_at=at, opened_at=at, seen_at=at))
        conn.execute(insert(QueueAudit).values(exception_id=ident, at=at, actor="refresh",
                                               action=action))


def _run(engine, config, now):
    return evaluate(engine, config, now, sleep=lambda _s: None)


def test_a_failed_delivery_is_retried_then_sent(tmp_path):
    server = Receiver(answers=[503, 502])
    try:
        config, engine = _fixture(tmp_path, f'[[alerts]]\nname = "drift"\ncodes = '
                                  f'["upstream-drift"]\nwebhook_url = "{server.url}/x"\n')
        _open(engine, 1, "upstream-drift", 1000)
        outcome = _run(engine, config, 1100)
        assert (outcome.sent, outcome.failed) == (1, 0)
        assert len(server.requests) == 3  # two failures, then the answer
        assert server.requests[0]["auth"] is None
    finally:
        server.close()


def test_a_receiver_that_is_down_keeps_the_alert_then_records_the_failure(tmp_path):
    down = Receiver()
    url = down.url
    down.close()  # nothing listens there now
    config, engine = _fixture(tmp_path, f'[[alerts]]\nname = "drift"\ncodes = '
                              f'["upstream-drift"]\nwebhook_url = "{url}/x"\n')
    _open(engine, 1, "upstream-drift", 1000)
    for refresh in range(5):  # give_up_after = 5
        outcome = _run(engine, config, 1100 + refresh)
        assert outcome.failed == 1 and outcome.sent == 0
        status = summary(engine, 3000)
        assert status["pending" if refresh < 4 else "failed"] == 1
    assert "did not answer" in status["last_failure"]["error"]
    assert _run(engine, config, 3000).failed == 0  # given up: not tried again
    with engine.connect() as conn:  # kept, with its error, for the health view
        assert conn.scalar(select(AlertRecord.status)) == "failed"


def test_dedupe_and_one_alert_per_state_change(tmp_path, receiver):
    config, engine = _fixture(tmp_path, f'[[alerts]]\nname = "drift"\ncodes = ["upstream-drift"]'
                              f'\non = ["opened", "reopened", "cleared"]\n'
                              f'webhook_url = "{receiver.url}/x"\n')
    _open(engine, 1, "upstream-drift", 1000)
    _open(engine, 2, "phantom-stock", 1000)  # not this rule's code
    _run(engine, config, 1001)
    _run(engine, config, 1002)
    _open(engine, 1, "upstream-drift", 1100, action="acknowledged")  # not in `on`
    _open(engine, 1, "upstream-drift", 1200, action="cleared")
    _run(engine, config, 1201)
    _open(engine, 1, "upstream-drift", 1300, action="reopened")
    with engine.begin() as conn:  # a cursor lost: the same audit rows are read again
        conn.execute(update(AlertRecord).values(created_at=0))
        conn.exec_driver_sql("DELETE FROM meta WHERE key = 'alerts.audit_cursor'")
    _run(engine, config, 1301)
    assert [b["change"] for b in receiver.bodies("/x")] == ["opened", "cleared", "reopened"]


def test_the_first_evaluation_skips_old_history(tmp_path, receiver):
    config, engine = _fixture(tmp_path, f'[[alerts]]\nname = "drift"\ncodes = '
                              f'["upstream-drift"]\nwebhook_url = "{receiver.url}/x"\n')
    _open(engine, 1, "upstream-drift", 1000)  # long before rules were evaluated here
    _open(engine, 2, "upstream-drift", 90_000)  # in this refresh
    assert _run(engine, config, 90_001).sent == 1
    assert [b["sku"] for b in receiver.bodies("/x")] == ["S2"]


def test_the_rate_limit_holds_alerts_for_later(tmp_path, receiver):
    config, engine = _fixture(tmp_path, f'[[alerts]]\nname = "drift"\ncodes = '
                              f'["upstream-drift"]\nwebhook_url = "{receiver.url}/x"\n')
    path = config.path
    path.write_text(path.read_text().replace("backoff_seconds = 0\n",
                                             "backoff_seconds = 0\nmax_per_hour = 2\n"))
    config = config_module.load(path, require_tokens=False)
    for ident in range(1, 6):
        _open(engine, ident, "upstream-drift", 1000)
    first = _run(engine, config, 1100)
    assert (first.sent, first.held) == (2, 3)
    assert (_run(engine, config, 1200).sent, len(receiver.requests)) == (0, 2)
    later = _run(engine, config, 1100 + 3601)  # an hour on
    assert (later.sent, later.held) == (2, 1)
    assert _run(engine, config, 1100 + 7300).sent == 1 and len(receiver.requests) == 5


def test_condition_rules_alert_once_per_episode(tmp_path, receiver):
    config, engine = _fixture(tmp_path, f"""
[alert_destinations.oncall]
webhook_url = "{receiver.url}/oncall"
[[alerts]]
name = "old"
oldest_open_hours = 4
to = ["oncall"]
[[alerts]]
name = "stale"
stale_hours = 1
to = ["oncall"]
""")
    _open(engine, 1, "upstream-drift", 0)
    with engine.begin() as conn:
        conn.execute(insert(System).values(name="wms", kind="shiphero", base_url="x",
                                           last_good_read_at=0))
    _run(engine, config, 3 * 3600)  # stale for 3 h, the exception 3 h old
    _run(engine, config, 5 * 3600)  # now also older than 4 h
    _run(engine, config, 6 * 3600)  # the same two states: nothing new
    texts = [b["condition"] for b in receiver.bodies("/oncall")]
    assert texts == ["stale", "oldest-open"]
    with engine.begin() as conn:  # a good read, then stale again: a new episode
        conn.execute(update(System).values(last_good_read_at=7 * 3600))
    _run(engine, config, 9 * 3600)
    assert [b["condition"] for b in receiver.bodies("/oncall")][-1] == "stale"
    assert len(receiver.requests) == 3


@pytest.mark.parametrize(("rules", "problem"), [
    ('[[alerts]]\nname = "a"\ncodes = ["upstream-drift"]\nto = ["nobody"]\n',
     "no [alert_destinations.nobody]"),
    ('[[alerts]]\nname = "a"\ncodes = ["no-such-code"]\nwebhook_url = "http://x"\n',
     "unknown finding code"),
    ('[[alerts]]\nname = "a"\nwebhook_url = "http://x"\n', "exactly one of codes"),
    ('[alert_destinations.x]\nformat = "json"\n', "webhook_url or url_env"),
    ('[ownership]\non_hand = "pos"\n', "unknown system 'pos'"),
])
def test_config_mistakes_are_one_line(tmp_path, rules, problem, capsys):
    with pytest.raises(ConfigError) as caught:
        _fixture(tmp_path, rules)
    assert problem in caught.value.message and "\n" not in caught.value.message
    path = tmp_path / "alerts.toml"
    assert main(["--config", str(path), "health"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and problem in err
