"""Judging the changed keys of a batch of SKUs: their facts from the cache, the count rules,
and a candidate exception for each finding (app.queue.detect decides the batches and
writes what they find).

The rules are pure Python, so a big change (a first refresh, new rules, a busy day) is
judged in two processes: the second one is the only way onto the machine's other core.
It reads the same SQLite file on a connection of its own and only reads; the detecting
process writes. It is a new program, not a fork: the refresh that asks has threads
running.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from dataclasses import dataclass

from sqlalchemy import Engine

from app.cache.engine import make_engine
from app.cache.sku import sku_facts_many
from app.diagnosis import RULES, diagnose
from app.diagnosis.catalogue import CATALOGUE, ORDER_CODES, SYSTEM_WIDE
from app.diagnosis.compare import any_gap
from app.diagnosis.evidence import Thresholds
from app.diagnosis.messages import failed_messages
from app.diagnosis.sync import stale_sources, throttled_syncs, unmapped_location
from app.lookup import by_location, evidence_at, system_states
from app.queue.candidates import Candidate, from_finding

PER_KEY = {code for code in CATALOGUE if code not in SYSTEM_WIDE} - {
    "unmapped-location", "recurring", "failed-messages", *ORDER_CODES}
"""The count findings judged per SKU and location (messages and orders have their own)."""
# The rules that can find them: a whole system's, a location's and the middleware's are
# judged once each by the detectors, not again for every key.
_KEY_RULES = tuple(rule for rule in RULES if rule not in (
    failed_messages, unmapped_location, stale_sources, throttled_syncs))


@dataclass(frozen=True, slots=True)
class Rules:
    """What judging needs from the config: sent to the helper process, so no secret."""

    thresholds: Thresholds
    owners: dict[str, str]
    systems: frozenset[str]  # the configured ones


def judge(engine: Engine, rules: Rules, batch: dict[str, list[str]], now: int
          ) -> dict[str, Candidate]:
    """Every per-key finding at the given locations of each SKU (SKU → locations)."""
    th, found = rules.thresholds, {}
    facts_of = sku_facts_many(engine, sorted(batch))
    # The SKUs of a batch share one read of the systems and their runs.
    systems = system_states(next(iter(facts_of.values())), rules.systems) if facts_of else {}
    for sku, facts in facts_of.items():
        grouped = by_location(facts)
        for location in batch[sku]:
            if location not in facts.locations:
                continue  # an unmapped location is judged as a whole, by the detectors
            if not any_gap(grouped.get(location, {}), th) and not any(
                    e.location == location for e in facts.events):
                continue  # equal numbers and no trail: no rule can find anything
            ev, _ = evidence_at(facts, location, grouped, systems, now)
            for finding in diagnose(ev, th, rules.owners, _KEY_RULES):
                if finding.code in PER_KEY:
                    candidate = from_finding(finding, ev)
                    found[candidate.key] = candidate
    return found


class Helper:
    """A second process judging batches (`python -m app.queue.judge`): one request and one
    answer at a time, pickled over its stdin and stdout. Its own program, not
    multiprocessing's spawn, which would run the parent's main module again in it."""

    def __init__(self, url: str) -> None:
        self.url = url
        # The same interpreter and import path: it judges with this very code.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, sys.path))}
        self.process = subprocess.Popen([sys.executable, "-m", "app.queue.judge"], env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL)

    def judge(self, rules: Rules, batch: dict[str, list[str]], now: int
              ) -> dict[str, Candidate]:
        """Blocks until the answer comes (EOFError if the process died)."""
        pickle.dump((self.url, rules, batch, now), self.process.stdin, pickle.HIGHEST_PROTOCOL)
        self.process.stdin.flush()
        return pickle.load(self.process.stdout)

    def close(self) -> None:
        try:
            self.process.stdin.close()  # its end of input: it exits
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


def _serve() -> None:
    """The helper process: judge each batch asked for until the input ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the detecting process's
    answers = os.fdopen(os.dup(1), "wb")
    sys.stdout = sys.stderr  # nothing else may write into the answers
    requests, engine = sys.stdin.buffer, None
    while True:
        try:
            url, rules, batch, now = pickle.load(requests)
        except EOFError:
            return
        engine = engine or make_engine(url, create=False)
        pickle.dump(judge(engine, rules, batch, now), answers, pickle.HIGHEST_PROTOCOL)
        answers.flush()


if __name__ == "__main__":
    _serve()
