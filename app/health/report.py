"""The health figures as JSON (`seamdesk health --json`), a daily Markdown report for
e-mail or a chat channel (`--markdown`) and plain text for a terminal."""

from __future__ import annotations

from datetime import UTC, datetime

from app.checklist.packet import md
from app.clock import iso, span_text
from app.health.figures import WEEK, Figures, Lane
from app.health.ownership import ELEMENTS, owner_sentence

BARS = "▁▂▃▄▅▆▇█"


def spark(values: list, blank: str = " ") -> str:
    """A text sparkline (no value: `blank`; zero: the lowest bar)."""
    top = max((v for v in values if v is not None), default=0) or 1
    return "".join(blank if v is None else BARS[min(7, int(v / top * 7.999))] for v in values)


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _day(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def lane_json(lane: Lane, now: int) -> dict:
    return {
        "open": lane.open_now, "oldest_open_at": iso(lane.oldest_open_at),
        "oldest_open_age_seconds": None if lane.oldest_open_at is None
        else max(0, now - lane.oldest_open_at),
        "open_failed_messages": lane.open_messages,
        "daily": {
            "opened": lane.opened, "resolved": lane.resolved,
            "resolve_seconds_avg": _rounded(lane.resolve_seconds),
            "manual_corrections": lane.corrections, "duplicate_postings": lane.duplicates,
            "oldest_open_age_seconds": lane.oldest_age,
            "failed_messages": lane.failed_messages,
            "propagation_delay_seconds_avg": _rounded(lane.delay),
            "sync_runs": lane.runs, "failed_sync_runs": lane.failed_runs,
            "failed_sync_run_rate": _rounded(lane.failed_run_rate(), 3),
        },
    }


def _rounded(values: list, digits: int = 0) -> list:
    return [None if v is None else round(v, digits) if digits else round(v) for v in values]


def as_json(figures: Figures, matrix: dict[str, tuple[str, ...]]) -> dict:
    window, now = figures.window, figures.window.now
    worst = figures.worst()
    systems = {}
    for lane in figures.systems():
        systems[lane.name] = lane_json(lane, now) | {
            "last_good_read_at": iso(lane.last_good_read_at), "stale": lane.stale}
    return {
        "generated_at": iso(now), "days": window.days, "since": iso(window.since),
        "day_starts": [_day(s) for s in window.starts()],
        "worst_handoff": None if worst is None else {
            "handoff": worst.name, "opened_this_week": worst.week("opened"),
            "failed_messages_this_week": worst.week("failed_messages"),
            "open": worst.open_now, "since": iso(figures.since(worst))},
        "totals": lane_json(figures.total, now),
        "handoffs": {lane.name: lane_json(lane, now) for lane in figures.handoffs()},
        "systems": systems,
        "open_by_code": figures.open_by_code, "open_by_handoff": figures.open_by_handoff,
        "recurring_by_root_cause": figures.recurring_by_cause,
        "reopened_by_code": figures.reopened_by_code,
        "ownership": {element: list(owners) for element, owners in matrix.items()},
    }


def _age(lane: Lane, now: int) -> str:
    return "—" if lane.oldest_open_at is None else span_text(now - lane.oldest_open_at)


def _latest(values: list) -> float | None:
    return next((v for v in reversed(values) if v is not None), None)


def headline(figures: Figures) -> str:
    """One sentence: the worst handoff this week and since when."""
    worst = figures.worst()
    if worst is None:
        return f"No exceptions or failed messages in the last {WEEK} days."
    since = figures.since(worst)
    when = f", in trouble since {iso(since)[:16].replace('T', ' ')} UTC" if since else ""
    return (f"Worst this week: {worst.name} — {plural(worst.week('opened'), 'exception')} "
            f"opened, {plural(worst.week('failed_messages'), 'failed message')}, "
            f"{worst.open_now} open{when}.")


def markdown(figures: Figures, matrix: dict[str, tuple[str, ...]]) -> str:
    window, now = figures.window, figures.window.now
    out = [f"# seamdesk health, {_day(now)}", "",
           f"{md(headline(figures))}", "",
           f"Last {window.days} days from {_day(window.since)}; \"7d\" is the last seven.",
           "", "## Handoffs", "",
           "| handoff | open | oldest open | opened 7d | failed msgs 7d | delay (latest) "
           "| corrected by hand 7d | trend (opened/day) |",
           "|---|---:|---:|---:|---:|---:|---:|---|"]
    for lane in figures.handoffs():
        delay = _latest(lane.delay)
        out.append(f"| {md(lane.name)} | {lane.open_now} | {_age(lane, now)} | "
                   f"{lane.week('opened')} | {lane.week('failed_messages')} | "
                   f"{'—' if delay is None else span_text(delay)} | "
                   f"{lane.week('corrections')} | `{spark(lane.opened)}` |")
    out += ["", "## Systems", "",
            "| system | last good read | stale | open | failed runs 7d | runs 7d |",
            "|---|---|---|---:|---:|---:|"]
    for lane in figures.systems():
        read = iso(lane.last_good_read_at) or "never"
        out.append(f"| {md(lane.name)} | {read} | {'**yes**' if lane.stale else 'no'} | "
                   f"{lane.open_now} | {lane.week('failed_runs')} | {lane.week('runs')} |")
    total = figures.total
    resolve = [v for v in total.resolve_seconds[-WEEK:] if v is not None]
    out += ["", "## Queue", "",
            f"- open: {total.open_now}, the oldest for {_age(total, now)}",
            f"- duplicate postings opened 7d: {total.week('duplicates')}",
            f"- resolved 7d: {total.week('resolved')}, of them corrected by hand: "
            f"{total.week('corrections')}"
            + (f"; average open to resolve {span_text(sum(resolve) / len(resolve))}"
               if resolve else ""),
            "- open by finding: " + (", ".join(f"{md(c)} {n}" for c, n in
                                              list(figures.open_by_code.items())[:10])
                                    or "none"),
            "- recurring by root cause: " + (", ".join(
                f"{md(c)} {n}" for c, n in figures.recurring_by_cause.items()) or "none"),
            "", "## Who owns what", ""]
    out += [f"- {md(owner_sentence(element, matrix))}" for element in ELEMENTS]
    return "\n".join(out) + "\n"


def plain(figures: Figures) -> str:
    """A terminal summary: one line per handoff and system."""
    now = figures.window.now
    lines = [headline(figures), "",
             f"{'handoff/system':<16} {'open':>6} {'oldest':>10} {'7d opened':>9} "
             f"{'7d failed':>9}  opened per day ({figures.window.days} d)"]
    for lane in [*figures.handoffs(), *figures.systems(), figures.total]:
        failed = lane.week("failed_runs" if lane.is_system else "failed_messages")
        stale = " STALE" if lane.stale else ""
        lines.append(f"{lane.name:<16} {lane.open_now:>6} {_age(lane, now):>10} "
                     f"{lane.week('opened'):>9} {failed:>9}  {spark(lane.opened)}{stale}")
    return "\n".join(lines) + "\n"
