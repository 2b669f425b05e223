"""What the detectors found: candidate exceptions, each with its dedup key.

Keys: code + SKU + location for a count finding; code + system for a finding about a
whole system (stale, throttled); code + location for a location the mapping lacks; code +
document for an order; code + SKU (or trace key) + handoff for middleware failed messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from app.clock import iso
from app.diagnosis.catalogue import CATALOGUE, SEVERITY
from app.diagnosis.evidence import Evidence, Finding
from app.records import COMPARED


@dataclass(slots=True)
class Candidate:
    key: str
    code: str
    handoff: str
    owner: str
    summary: str
    evidence: dict = field(default_factory=dict)
    sku: str | None = None
    location: str | None = None
    document: str | None = None
    since: int | None = None  # when the divergence began, as far as the evidence shows

    @property
    def severity(self) -> int:
        return SEVERITY.get(self.code, 2)

    def evidence_json(self) -> str:
        return orjson.dumps(self.evidence).decode()


def count_key(code: str, sku: str, location: str) -> str:
    return f"{code}|{sku}|{location}"


def from_finding(finding: Finding, ev: Evidence) -> Candidate:
    """A count finding at one SKU/location, with the numbers that made it."""
    counts = {system: {"on_hand": obs.on_hand, "available": obs.available,
                       "allocated": obs.allocated, "in_transit": obs.in_transit,
                       "updated_at": iso(obs.updated_at), "read_at": iso(obs.read_at)}
              for system in COMPARED if (obs := ev.counts.get(system)) is not None}
    evidence = {"finding": finding.as_json(), "counts": counts,
                "location_name": ev.location_name, "also_owners": _also(finding.code)}
    return Candidate(count_key(finding.code, ev.sku, ev.location), finding.code,
                     finding.handoff, finding.owner, finding.summary, evidence,
                     sku=ev.sku, location=ev.location, since=_since(finding, ev))


def _since(finding: Finding, ev: Evidence) -> int | None:
    """The newest update among the systems the finding involves: they have disagreed at
    least since the last of them changed (perhaps longer: the lower bound is the honest
    one)."""
    times = [obs.updated_at for system in finding.systems
             if (obs := ev.counts.get(system)) is not None and obs.updated_at is not None]
    return max(times) if times else None


def from_system_finding(finding: Finding, system: str) -> Candidate:
    return Candidate(f"{finding.code}|{system}", finding.code, finding.handoff,
                     finding.owner, finding.summary, {"finding": finding.as_json()})


def _also(code: str) -> list[str]:
    kind = CATALOGUE.get(code)
    return list(kind.also) if kind else []
