"""The escalation packet: `packet.json` (every step, the findings with codes, counts and
times with their zone, the operator, the app version) and `packet.md` rendered from that
same JSON, so the two cannot disagree; `lookup.txt` and `lookup.svg` come from the lookup.

Nothing secret gets in: every text passes `clean()`, which masks the configured tokens
and shows control characters (an ANSI escape in a vendor's error message) as visible
escapes instead of letting them act on whoever cats the file. Markdown quotes vendor
text with its markup characters escaped, so `[click](http://…)` in an item name stays
text in the ticket.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import orjson

from app.checklist.case import Case
from app.checklist.state import Checklist
from app.checklist.steps import TITLES_BY_STEP, Step, handoff_sentence, lead_finding, owner_text
from app.checklist.symptoms import symptom
from app.clock import iso, stamp, to_epoch
from app.diagnosis.compare import QUANTITIES
from app.diagnosis.orders import context_lines
from app.errors import UsageError
from app.plain import visible
from app.records import COMPARED, TITLES
from app.redact import masked

FORMAT = 1  # packet.json's own version: bump when a key changes meaning
FILES = ("packet.md", "packet.json", "lookup.txt", "lookup.svg")
_MARKDOWN = re.compile(r"([\\`*_\[\]<|~])")  # what can start markup mid-line


def clean(text: str, secrets: list[str]) -> str:
    return visible(masked(text, secrets))


def _clean_all(value, secrets: list[str]):
    if isinstance(value, str):
        return clean(value, secrets)
    if isinstance(value, dict):
        return {k: _clean_all(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_all(v, secrets) for v in value]
    return value


def build(case: Case, checklist: Checklist, steps: list[Step], *, version: str, now: int,
          warnings: list[str], secrets: list[str]) -> dict:
    """packet.json as a dict (times ISO 8601 in UTC, marked Z)."""
    loc, lead = case.loc, lead_finding(case)
    matching = case.matching()
    statuses = [checklist.status(step) for step in steps]
    packet = {
        "format": FORMAT, "app": "seamdesk", "app_version": version,
        "created_at": iso(now), "timezone": "UTC", "operator": checklist.operator,
        "checklist_id": checklist.id, "started_at": iso(checklist.started_at),
        "sku": case.sku, "item_name": case.name, "location": loc.location,
        "location_name": loc.location_name,
        "symptom": {"number": case.symptom.number, "words": case.symptom.words,
                    "checks": list(case.symptom.codes)},
        "handoff": {
            "sentence": checklist.sentence or handoff_sentence(case),
            "owner": checklist.owner or owner_text(lead, case.owners),
            "suggested_sentence": handoff_sentence(case),
            "suggested_owner": owner_text(lead, case.owners),
            "finding": lead.code if lead else None, "handoff": lead.handoff if lead else None},
        "lookup": loc.as_json(),
        "findings": [{**f.as_json(), "matches_symptom": f in matching} for f in case.findings],
        "window": {"last_agreed_at": iso(loc.last_agreed_at), "diverged_at": iso(loc.diverged_at),
                   "from": iso(case.window_start), "to": iso(case.window_end)},
        "steps": [{"number": step.number, "key": step.key, "title": step.title,
                   "status": status, "facts": list(step.facts),
                   "confirmed_facts": checklist.steps[step.number - 1].confirmed,
                   "confirmed_at": iso(checklist.steps[step.number - 1].confirmed_at),
                   "note": checklist.steps[step.number - 1].note or None}
                  for step, status in zip(steps, statuses, strict=True)],
        "orders": [{**order.block, "findings": [f.code for f in order.findings]}
                   for order in case.orders],
        "exceptions": [{"id": e.id, "code": e.code, "handoff": e.handoff, "status": e.status,
                        "opened_at": iso(e.opened_at), "recurrences": e.recurrences,
                        "assignee": e.assignee, "summary": e.summary}
                       for e in case.exceptions],
        "middleware_errors": [{"system": m.system, "error_id": m.error_id, "flow": m.flow,
                               "handoff": m.handoff, "occurred_at": iso(m.occurred_at),
                               "code": m.code, "message": m.message,
                               "resolved_at": iso(m.resolved_at)} for m in case.messages],
        "sync_runs": [{"system": r.system, "mode": r.mode, "status": r.status,
                       "started_at": iso(r.started_at), "finished_at": iso(r.finished_at),
                       "throttled": r.throttled, "retries": r.retries, "error": r.error}
                      for r in case.runs],
        "warnings": warnings,
        "files": list(FILES),
    }
    return _clean_all(packet, secrets)


def empty(checklist: Checklist, *, version: str, now: int, warnings: list[str]) -> dict:
    """The packet when the cache holds nothing yet: the same keys, the numbers unknown, and
    the warning that says why (a ticket bot still gets its files)."""
    unknown = "unknown: " + (warnings[0] if warnings else "the cache is empty")
    system = {q: None for q in QUANTITIES} | {"updated_at": None, "read_at": None,
                                              "stale": True}
    number = checklist.symptom
    words = symptom(number)
    return {
        "format": FORMAT, "app": "seamdesk", "app_version": version, "created_at": iso(now),
        "timezone": "UTC", "operator": checklist.operator, "checklist_id": checklist.id,
        "started_at": iso(checklist.started_at), "sku": checklist.sku, "item_name": None,
        "location": checklist.location, "location_name": None,
        "symptom": {"number": number, "words": words.words, "checks": list(words.codes)},
        "handoff": {"sentence": unknown, "owner": "", "suggested_sentence": unknown,
                    "suggested_owner": "", "finding": None, "handoff": None},
        "lookup": {"sku": checklist.sku, "location": checklist.location, "read_at": iso(now),
                   "systems": {s: dict(system) for s in COMPARED}, "findings": [],
                   "last_agreed_at": None},
        "findings": [], "window": {"last_agreed_at": None, "diverged_at": None, "from": None,
                                   "to": None},
        "steps": [{"number": n, "key": key, "title": title, "status": "to do",
                   "facts": [unknown], "confirmed_facts": None, "confirmed_at": None,
                   "note": None} for n, (key, title) in enumerate(TITLES_BY_STEP, 1)],
        "orders": [], "exceptions": [], "middleware_errors": [], "sync_runs": [],
        "warnings": warnings, "files": list(FILES)}


def md(text: str | None) -> str:
    """Data inside Markdown: markup characters escaped, on one line."""
    return _MARKDOWN.sub(r"\\\1", " ".join((text or "").split()))


def markdown(packet: dict) -> str:
    """packet.md from packet.json: what reads well pasted into a ticket."""
    look, hand = packet["lookup"], packet["handoff"]
    place = md(packet["location"]) + (f" ({md(packet['location_name'])})"
                                      if packet.get("location_name") else "")
    item = md(packet["sku"]) + (f" - {md(packet['item_name'])}" if packet.get("item_name") else "")
    out = [f"# Escalation: {md(packet['sku'])} at {md(packet['location'])}", "",
           f"**Handoff:** {md(hand['sentence'])}  ",
           f"**Owner:** {md(hand['owner']) or 'not named'}  ",
           f"**Symptom:** {packet['symptom']['number']}. {md(packet['symptom']['words'])}  ",
           f"**Item:** {item} at {place}  ",
           f"**Raised by:** {md(packet['operator'])}, {_when(packet['created_at'])}, "
           f"seamdesk {md(packet['app_version'])}", ""]
    for warning in packet["warnings"]:
        out.append(f"> **Warning:** {md(warning)}")
    if packet["warnings"]:
        out.append("")
    out += ["## Counts", "", "| | " + " | ".join(TITLES[s] for s in COMPARED) + " |",
            "|---|" + "---:|" * len(COMPARED)]
    systems = look["systems"]
    for quantity in QUANTITIES:
        cells = ["-" if systems[s][quantity] is None else str(systems[s][quantity])
                 for s in COMPARED]
        out.append(f"| {quantity.replace('_', ' ')} | " + " | ".join(cells) + " |")
    for label, key in (("updated", "updated_at"), ("read", "read_at")):
        out.append(f"| {label} | " + " | ".join(_when(systems[s][key]) for s in COMPARED) + " |")
    stale = [TITLES[s] for s in COMPARED if systems[s]["stale"]]
    out += ["", f"Stale: {', '.join(stale)}." if stale else "No system is stale.", ""]
    out += ["## Findings", ""]
    for finding in packet["findings"]:
        mark = "" if finding["matches_symptom"] else " (not what the symptom asks about)"
        out.append(f"- **{md(finding['code'])}** ({md(finding['handoff'])}){mark}: "
                   f"{md(finding['summary'])} First action: {md(finding['first_action'])} "
                   f"Owner: {md(finding['owner_name'] or finding['owner'])}.")
    if not packet["findings"]:
        out.append("- none: the systems agree here.")
    out.append("")
    for order in packet["orders"]:
        out += [f"## Order {md(order['document'])}", "", "```"]
        out += [line.strip() for line in context_lines(order, to_epoch(packet["created_at"]))]
        out += ["```", ""]
    out += ["## Checklist", ""]
    for step in packet["steps"]:
        when = f", confirmed {_when(step['confirmed_at'])}" if step["confirmed_at"] else ""
        out.append(f"### {step['number']}. {step['title']} ({step['status']}{when})")
        out.append("")
        out += [("  - " if line.startswith("  ") else "- ") + md(line) for line in step["facts"]]
        if step["note"]:
            out.append(f"- **Operator's note:** {md(step['note'])}")
        if step["number"] == len(packet["steps"]):
            out.append("- Files: " + ", ".join(f"`{name}`" for name in packet["files"]))
        out.append("")
    return "\n".join(out)


def _when(text: str | None) -> str:
    return stamp(to_epoch(text)) if text else "-"


@dataclass(frozen=True, slots=True)
class Written:
    folder: Path
    files: tuple[Path, ...]


def write(folder: Path, packet: dict, lookup_text: str, lookup_svg: str,
          secrets: list[str]) -> Written:
    """The four files into `folder` (created 0700; files 0600: a packet names people and
    stock)."""
    try:
        return _write(folder, packet, lookup_text, lookup_svg, secrets)
    except OSError as exc:  # a folder this user may not write, a full disk: one line
        raise UsageError(f"{folder}: cannot write the packet there: "
                         f"{exc.strerror or exc}") from None


def _write(folder: Path, packet: dict, lookup_text: str, lookup_svg: str,
           secrets: list[str]) -> Written:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    contents = {"packet.md": markdown(packet) + "\n",
                "packet.json": orjson.dumps(packet, option=orjson.OPT_INDENT_2).decode() + "\n",
                "lookup.txt": clean(lookup_text, secrets),
                "lookup.svg": clean(lookup_svg, secrets)}
    written = []
    for name in FILES:
        path = folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(contents[name])
        os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
        written.append(path)
    return Written(folder, tuple(written))


def folder_name(sku: str, location: str, now: int) -> str:
    """'20261130-151000-TEE-BLK-M-DAL1': sorts by time, safe on every filesystem."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{sku}-{location}")[:80]
    return f"{iso(now).replace('-', '').replace(':', '').replace('T', '-')[:15]}-{safe}"


@dataclass(frozen=True, slots=True)
class Listed:
    folder: Path
    created_at: str | None
    sku: str
    location: str
    sentence: str
    operator: str


def listed(root: Path, limit: int = 200) -> list[Listed]:
    """The packets under `root`, newest first (by folder name, which starts with the time)."""
    if not root.is_dir():
        return []
    found = []
    for folder in sorted((p for p in root.iterdir() if p.is_dir()), reverse=True)[:limit]:
        try:
            packet = orjson.loads((folder / "packet.json").read_bytes())
            found.append(Listed(folder, packet.get("created_at"), str(packet.get("sku")),
                                str(packet.get("location")),
                                str(packet.get("handoff", {}).get("sentence", "")),
                                str(packet.get("operator", ""))))
        except (OSError, ValueError, AttributeError):
            continue  # not a packet (or half-copied): the list shows packets only
    return found
