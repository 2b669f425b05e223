"""`seamdesk health`: the health figures for scripts (JSON), for e-mail or a chat
channel (a daily Markdown report) and for a terminal (one line per handoff/system)."""

from __future__ import annotations

import sys

import orjson

from app.errors import UsageError
from app.health import report
from app.plain import visible
from app.service import Desk

MAX_DAYS = 365


def print_health(desk: Desk, args) -> int:
    if not 1 <= args.days <= MAX_DAYS:
        raise UsageError(f"health: --days: {args.days} is not 1 to {MAX_DAYS}")
    figures = desk.health_figures(args.days)
    matrix = desk.config.settings.ownership.matrix()
    if args.json:
        payload = report.as_json(figures, matrix) | {"alerts": desk.alert_summary()}
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.markdown:
        sys.stdout.write(visible(report.markdown(figures, matrix)))
    else:
        sys.stdout.write(visible(report.plain(figures)))
    return 0
