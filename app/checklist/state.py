"""What the operator has done with a checklist: which steps they confirmed (against which
facts), their notes and corrections, the handoff sentence and owner as they left them.
Saved in the cache after every change, so an unfinished checklist can be resumed from
the list, on this terminal or another one sharing the cache."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import orjson
from sqlalchemy import Engine, insert, select, update

from app.cache.models import ChecklistRecord
from app.checklist.steps import Step

STEPS = 6
MAX_NOTE = 2000  # characters per note: a paragraph, not a log file


@dataclass(slots=True)
class StepState:
    confirmed: list[str] | None = None  # the facts as the operator confirmed them
    confirmed_at: int | None = None
    note: str = ""  # a correction or an annotation, in the operator's words


@dataclass(slots=True)
class Checklist:
    sku: str
    location: str
    symptom: int
    operator: str
    started_at: int
    id: int | None = None
    updated_at: int = 0
    steps: list[StepState] = field(default_factory=lambda: [StepState() for _ in range(STEPS)])
    sentence: str | None = None  # None: the suggestion stands
    owner: str | None = None
    packet: str | None = None  # the folder of the packet written last
    finished_at: int | None = None

    def status(self, step: Step) -> str:
        """'done', 'changed' (confirmed, but the cache says something else now) or 'to do'."""
        if step.number == STEPS:
            return "done" if self.packet else "to do"
        state = self.steps[step.number - 1]
        if state.confirmed is None:
            return "to do"
        return "done" if state.confirmed == list(step.facts) else "changed"

    def confirm(self, step: Step, at: int) -> None:
        state = self.steps[step.number - 1]
        state.confirmed, state.confirmed_at = list(step.facts), at

    def unconfirm(self, step: Step) -> None:
        state = self.steps[step.number - 1]
        state.confirmed = state.confirmed_at = None

    def annotate(self, step: Step, note: str) -> None:
        self.steps[step.number - 1].note = note.strip()[:MAX_NOTE]

    def state_json(self) -> str:
        return orjson.dumps({"steps": [asdict(s) for s in self.steps],
                             "sentence": self.sentence, "owner": self.owner,
                             "packet": self.packet}).decode()


def save(engine: Engine, checklist: Checklist, now: int) -> int:
    """Insert or update; returns the checklist's id."""
    checklist.updated_at = now
    values = {"sku": checklist.sku, "location": checklist.location,
              "symptom": checklist.symptom, "operator": checklist.operator,
              "started_at": checklist.started_at, "updated_at": now,
              "finished_at": checklist.finished_at, "state": checklist.state_json()}
    table = ChecklistRecord.__table__
    with engine.begin() as conn:
        if checklist.id is None:
            checklist.id = conn.execute(insert(table).values(values)).inserted_primary_key[0]
        else:
            conn.execute(update(table).where(table.c.id == checklist.id).values(values))
    return checklist.id


def load(engine: Engine, checklist_id: int) -> Checklist | None:
    table = ChecklistRecord.__table__
    with engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == checklist_id)).mappings().first()
    return _from_row(row) if row else None


def unfinished(engine: Engine, limit: int = 100) -> list[Checklist]:
    """Checklists without a packet yet, the most recently touched first."""
    table = ChecklistRecord.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.finished_at.is_(None))
                            .order_by(table.c.updated_at.desc()).limit(limit)).mappings().all()
    return [_from_row(row) for row in rows]


def _from_row(row) -> Checklist:
    state = orjson.loads(row["state"])
    steps = [StepState(**s) for s in state.get("steps", [])][:STEPS]
    steps += [StepState() for _ in range(STEPS - len(steps))]
    return Checklist(row["sku"], row["location"], row["symptom"], row["operator"],
                     row["started_at"], row["id"], row["updated_at"], steps,
                     state.get("sentence"), state.get("owner"), state.get("packet"),
                     row["finished_at"])
