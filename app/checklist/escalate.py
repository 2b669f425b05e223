"""Writing a checklist's escalation packet: gather the case, build packet.json and the
Markdown, render the lookup as text and (through the caller's renderer, which needs a
terminal-less Textual app) as SVG, write the four files, mark the checklist finished.

The same function serves the checklist screen and `seamdesk snapshot`, so the packet a
cron job writes is the packet an operator writes. A stale or empty cache does not stop
the packet: it is written with a warning that says why, and the caller decides the exit
code from `problem`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import Engine

from app import __version__
from app.cache.sku import system_rows
from app.checklist import packet as packets
from app.checklist.case import Case, gather
from app.checklist.state import Checklist, save
from app.checklist.steps import Step, build_steps
from app.checklist.symptoms import symptom
from app.clock import age_text, span_text
from app.config import Config
from app.lookup_text import render_text
from app.records import COMPARED, TITLES

EMPTY = "the cache is empty"
SvgRenderer = Callable[[str, str], str]  # (sku, location) → the lookup screen as SVG


@dataclass(frozen=True, slots=True)
class Outcome:
    written: packets.Written
    packet: dict
    warnings: tuple[str, ...]
    problem: str | None  # the cache is empty or stale beyond the limit (exit code 1)


def cache_warnings(engine: Engine, config: Config, now: int) -> tuple[list[str], str | None]:
    """What a reader of the packet must know about the numbers' age, and the one-line
    problem a script should see (None: the cache is fresh)."""
    limit = config.settings.refresh.stale_after_seconds
    known = {name: row.last_good_read_at for name, row in system_rows(engine).items()}
    compared = [name for name in COMPARED if name in config.systems]
    if not any(known.get(name) for name in compared):
        text = f"{EMPTY}: no system has been read yet (run `seamdesk refresh`)"
        return [text], text
    warnings = []
    for name in compared:
        last = known.get(name)
        if last is None:
            warnings.append(f"{TITLES[name]} has never been read")
        elif now - last > limit:
            warnings.append(f"{TITLES[name]} was last read {age_text(now - last)} "
                            f"(stale beyond the {span_text(limit)} limit)")
    problem = "stale cache: " + "; ".join(warnings) if warnings else None
    return warnings, problem


def open_case(engine: Engine, config: Config, checklist: Checklist, now: int
              ) -> tuple[Case, list[Step]]:
    case = gather(engine, config, checklist.sku, checklist.location,
                  symptom(checklist.symptom), now)
    return case, build_steps(case)


def write_packet(engine: Engine, config: Config, checklist: Checklist, now: int,
                 render_svg: SvgRenderer, folder: Path | None = None) -> Outcome:
    """The packet for a checklist, into `folder` (default: a new one under the packets
    folder). Raises UsageError for an unknown SKU or location in a cache that has data."""
    warnings, problem = cache_warnings(engine, config, now)
    secrets = config.secrets()
    target = folder or config.packets_dir() / packets.folder_name(
        checklist.sku, checklist.location, now)
    if problem and problem.startswith(EMPTY):
        packet = packets.empty(checklist, version=__version__, now=now, warnings=warnings)
        text = f"{checklist.sku} at {checklist.location}: {problem}\n"
    else:
        case, steps = open_case(engine, config, checklist, now)
        checklist.location = case.location
        checklist.packet = str(target)  # step 6 is done once the files exist
        packet = packets.build(case, checklist, steps, version=__version__, now=now,
                               warnings=warnings, secrets=secrets)
        text = render_text(replace(case.lookup, locations=[case.loc]))
    svg = render_svg(checklist.sku, checklist.location)
    written = packets.write(target, packet, text, svg, secrets)
    checklist.packet, checklist.finished_at = str(target), now
    if checklist.id is not None:
        save(engine, checklist, now)
    return Outcome(written, packet, tuple(warnings), problem)
