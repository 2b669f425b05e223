"""The command line (CONTRACTS.md): `seamdesk [global options] [command] ...`.

Exit codes: 0 ok; 1 the command ran and found something wrong (a refresh that failed or
stopped partway); 2 bad usage, bad config or bad input, with one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from app import __version__
from app.errors import SeamdeskError, UsageError
from app.plain import visible


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)  # `--ful` must not quietly mean `--full`
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        command = self.prog.removeprefix("seamdesk").strip()  # main() says "seamdesk: "
        raise UsageError(f"{command + ': ' if command else ''}{message} (see --help)")


def _global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    keep = {} if defaults else {"default": argparse.SUPPRESS}
    parser.add_argument("--config", metavar="PATH", help="config file "
                        "(else $SEAMDESK_CONFIG, ./config.toml, the user config dir)", **keep)
    parser.add_argument("--operator", metavar="NAME",
                        help="who is at the terminal (else $SEAMDESK_OPERATOR, the login)",
                        **keep)
    parser.add_argument("--read-only", action="store_true",
                        help="no refresh and no queue actions (support staff)", **keep)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="seamdesk", description="Find the broken handoff when the WMS, "
                     "the ERP and the storefront disagree.")
    parser.add_argument("--version", action="version", version=f"seamdesk {__version__}")
    _global_options(parser, defaults=True)
    common = _Parser(add_help=False)
    _global_options(common, defaults=False)
    commands = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="command")

    demo = commands.add_parser("demo", parents=[common], help="the TUI against the simulator")
    demo.add_argument("--scenario", metavar="FILE", help="scenario file (default: the demo)")

    sim = commands.add_parser("simulate", parents=[common],
                              help="run the simulator server alone")
    sim.add_argument("--scenario", metavar="FILE")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    sim.add_argument("--generate", metavar="SKUS,LOCATIONS,SEED",
                     help="a large deterministic data set instead of a scenario")
    sim.add_argument("--write-config", metavar="PATH",
                     help="write a config.toml pointing at the simulator once it listens")
    sim.add_argument("--x12-folder", metavar="DIR",
                     help="with --write-config: the supplier's confirmations as X12 855/865 "
                     "files in DIR (read by kind x12-folder) instead of its portal")

    refresh = commands.add_parser("refresh", parents=[common],
                                  help="read every configured system into the cache")
    refresh.add_argument("--system", action="append", metavar="NAME",
                         help="only this system (repeatable)")
    refresh.add_argument("--full", action="store_true", help="full read, not incremental")

    look = commands.add_parser("lookup", parents=[common],
                               help="the three-system comparison and findings for a SKU")
    look.add_argument("sku", metavar="SKU")
    look.add_argument("--location", metavar="CODE", help="one location (default: all)")
    look.add_argument("--json", action="store_true", help="JSON as in CONTRACTS.md")

    queue = commands.add_parser("queue", parents=[common], help="the exception queue")
    queue.add_argument("--status", action="append", metavar="S",
                       help="open, acknowledged, assigned, snoozed, resolved, cleared, or "
                       "active (the first four; the default); repeatable")
    queue.add_argument("--code", action="append", metavar="C", help="finding code; repeatable")
    queue.add_argument("--owner", action="append", metavar="ROLE",
                       help="owner role or assignee; repeatable")
    queue.add_argument("--location", action="append", metavar="CODE", help="repeatable")
    queue.add_argument("--sort", choices=("age", "severity"), default="age")
    queue.add_argument("--json", action="store_true", help="a JSON list, one object each")

    health = commands.add_parser("health", parents=[common],
                                 help="sync health figures per handoff and system")
    health.add_argument("--days", type=int, default=30, metavar="N",
                        help="daily buckets over the last N days (default 30)")
    shape = health.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="the figures as JSON")
    shape.add_argument("--markdown", action="store_true",
                       help="a daily report for e-mail or a chat channel")

    serve = commands.add_parser("serve", parents=[common],
                                help="the app in a browser (textual-serve)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--public", action="store_true",
                       help="allow a --host reachable from other machines (no authentication:"
                       " put it behind an authenticating proxy)")

    snap = commands.add_parser("snapshot", parents=[common],
                               help="write an escalation packet headless (no TTY needed)")
    snap.add_argument("sku", metavar="SKU")
    snap.add_argument("--location", metavar="CODE", required=True)
    snap.add_argument("--out", metavar="DIR", required=True,
                      help="folder for lookup.svg, lookup.txt, packet.json, packet.md")
    snap.add_argument("--symptom", metavar="N", type=int, default=10,
                      help="what was seen, 1-10 (see FINDINGS.md; default 10: the numbers "
                      "just don't match)")
    snap.add_argument("--post", action="store_true",
                      help="also POST packet.json to the [handoff] webhook")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a Latin-1 terminal: "?" for a dash, not a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    try:
        try:
            args = build_parser().parse_args(argv)
            handler = {None: _tui, "demo": _demo, "simulate": _simulate, "refresh": _refresh,
                       "lookup": _lookup, "queue": _queue, "health": _health,
                       "snapshot": _snapshot, "serve": _serve}
            return handler[args.command](args)
        finally:  # a reader gone early fails here, where it is handled, not at exit
            sys.stdout.flush()
    except SeamdeskError as exc:
        # An error quotes what it was given: a newline or an escape sequence in that must
        # not break the one line (or reach the terminal as a command).
        print(f"seamdesk: {visible(exc.message, one_line=True)}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `seamdesk queue | head`: the reader has what it wanted
        # Python flushes stdout again at exit: aim it at /dev/null so that cannot fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a command ended by SIGPIPE
    except Exception as exc:
        if not _damaged_cache(exc):
            raise  # a bug: its traceback is what a report needs
        print(f"seamdesk: the cache cannot be read: {getattr(exc, 'orig', None) or exc} "
              "(move the file aside: the next refresh builds a new one)", file=sys.stderr)
        return 2


def _damaged_cache(exc: BaseException) -> bool:
    """Whether SQLite says the cache file is damaged (found mid-command, after it opened
    fine), through the driver or through SQLAlchemy (its `orig`)."""
    error = getattr(exc, "orig", None) or exc
    return isinstance(error, sqlite3.DatabaseError) and (
        "malformed" in str(error) or "not a database" in str(error))


def _desk(args, *, require_tokens: bool):
    from app import config as config_module
    from app.service import Desk, resolve_operator

    path = config_module.discover(args.config)
    config = config_module.load(path, require_tokens=False)
    read_only = args.read_only or config.read_only
    if require_tokens and not read_only:
        config.check_tokens()
    return Desk(config, operator=resolve_operator(args.operator), read_only=read_only)


def _tui(args) -> int:
    from app.config_path import discover
    from app.service import resolve_operator
    from app.tui import make_app

    path = discover(args.config)
    operator = resolve_operator(args.operator)

    def open_desk():  # in the app's thread, after the first paint (pydantic and SQLAlchemy
        from app import config as config_module  # are the slowest imports of all)
        from app.service import Desk

        config = config_module.load(path, require_tokens=False)
        read_only = args.read_only or config.read_only
        if not read_only:
            config.check_tokens()
        return Desk(config, operator=operator, read_only=read_only)

    app = make_app(open_desk, operator=operator, read_only=args.read_only)
    app.run()
    if app.failure is not None:
        raise app.failure
    return 0


def _refresh(args) -> int:
    from app.cli_progress import run_refresh

    if args.read_only:
        raise UsageError("refresh: not allowed with --read-only")
    desk = _desk(args, require_tokens=True)
    if desk.read_only:
        raise UsageError(f"refresh: not allowed: {desk.config.path} sets [session] read_only")
    gc.freeze()  # start-up objects live for the whole run: no need to re-scan them
    results = run_refresh(desk, args.system, args.full)
    failed = [r.system for r in results if r.status != "complete"]
    if failed:
        print(f"seamdesk: refresh did not complete for {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _lookup(args) -> int:
    import json

    from app.lookup_text import render_text

    desk = _desk(args, require_tokens=False)  # reads the cache only: no secrets needed
    result = desk.lookup(args.sku, args.location)
    if args.json:
        objects = [loc.as_json() for loc in result.locations]
        payload = objects[0] if args.location else objects
        print(json.dumps(payload, indent=2, ensure_ascii=False))  # JSON escapes controls
    else:
        print(visible(render_text(result)))
    return 0


def _queue(args) -> int:
    from app.queue_text import print_queue

    desk = _desk(args, require_tokens=False)  # reads the cache only
    return print_queue(desk, args)


def _health(args) -> int:
    from app.health_text import print_health

    desk = _desk(args, require_tokens=False)  # reads the cache only
    return print_health(desk, args)


def _snapshot(args) -> int:
    # One packet, then exit: almost everything this command allocates (modules, config,
    # the headless app) lives until then, so the cyclic collector would only re-scan it
    # (a tenth of the run); the little cyclic garbage of one packet goes with the process.
    collecting = gc.isenabled()
    gc.disable()
    try:
        from app.checklist.symptoms import symptom
        from app.snapshot import run_snapshot

        symptom(args.symptom)  # a bad number is bad input: before anything is read
        if args.post and args.read_only:
            raise UsageError("snapshot --post: not allowed with --read-only")
        desk = _desk(args, require_tokens=False)  # reads the cache only
        return run_snapshot(desk, args.sku, args.location, Path(args.out), args.symptom,
                            post=args.post)
    finally:
        if collecting:  # main() also runs in-process (tests): leave the collector as found
            gc.enable()


def _serve(args) -> int:
    from app.serve import serve

    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port: {args.port} is not a port number")
    desk = _desk(args, require_tokens=False)  # the config is checked before anyone connects
    serve(desk, args.host, args.port, public=args.public)
    return 0


def _parse_generate(text: str) -> tuple[int, int, int]:
    try:
        skus, locations, seed = (int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"--generate: expected SKUS,LOCATIONS,SEED, got {text!r}") from None
    if not (1 <= skus <= 5_000_000 and 1 <= locations <= 50):
        raise UsageError("--generate: SKUS must be 1..5000000 and LOCATIONS 1..50")
    return skus, locations, seed


def _world(scenario: str | None, generate: str | None):
    from app.simulator.scenario import load_scenario
    from app.simulator.world import from_scenario

    if generate:
        from app.simulator.generate import generate_world

        return generate_world(*_parse_generate(generate))
    if not scenario:
        raise UsageError("simulate: give --scenario FILE or --generate SKUS,LOCATIONS,SEED")
    return from_scenario(load_scenario(Path(scenario)))


def _simulate(args) -> int:
    from app.simulator.server import SimServer, Simulator, write_config

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port: {args.port} is not a port number")
    if args.x12_folder and not args.write_config:
        raise UsageError("--x12-folder: only with --write-config (the config names the folder)")
    simulator = Simulator(_world(args.scenario, args.generate))
    # A generated world is millions of long-lived objects: keep the cyclic garbage
    # collector from re-scanning them on every full collection while serving.
    gc.freeze()
    server = SimServer(simulator, args.host, args.port)
    if args.write_config:
        _check_writable(Path(args.write_config), "--write-config")

    def ready(port: int) -> None:
        url = f"http://{args.host}:{port}"
        if args.write_config:
            folder = Path(args.x12_folder).resolve() if args.x12_folder else None
            try:
                write_config(simulator, url, Path(args.write_config), x12_folder=folder)
            except OSError as exc:  # not "cannot listen": the socket is fine
                raise UsageError(f"--write-config: {args.write_config}: "
                                 f"{exc.strerror or exc}") from None
            print(f"config written to {args.write_config}", flush=True)
        print(f"simulator '{simulator.world.name}' listening on {url} (port {port})",
              flush=True)

    try:
        asyncio.run(server.serve(ready))
    except OSError as exc:
        raise UsageError(f"simulate: cannot listen on {args.host}:{args.port}: "
                         f"{exc.strerror or exc}") from None
    return 0


def _check_writable(path: Path, option: str) -> None:
    """A file the command will write: its folder must exist, and it must not be one."""
    if path.is_dir():
        raise UsageError(f"{option}: {path} is a folder, not a file")
    if not path.parent.is_dir():
        raise UsageError(f"{option}: {path.parent} is not an existing folder")


def _demo(args) -> int:
    # A few seconds pass before the app's first frame: say what is happening meanwhile.
    print("seamdesk demo: starting the simulated systems and reading them…", flush=True)
    import tempfile

    from app.demo import demo_desk, replay
    from app.service import resolve_operator
    from app.simulator.server import SimServer, Simulator
    from app.tui import make_app

    operator = resolve_operator(args.operator)
    simulator = Simulator(_world(args.scenario or str(demo_scenario()), None))
    server = SimServer(simulator)
    server.start_in_thread()
    try:
        with tempfile.TemporaryDirectory(prefix="seamdesk-demo-") as folder:
            desk = demo_desk(simulator, server.url, Path(folder), operator=operator,
                             read_only=False)
            results = []

            async def full_refresh() -> None:
                results[:] = await desk.refresh(full=True)

            asyncio.run(replay(desk, simulator, full_refresh))
            for result in results:
                print(result.summary(), flush=True)
            desk.read_only = args.read_only  # the cache is seeded either way
            make_app(desk).run()
    finally:
        server.stop()
    return 0


def demo_scenario() -> Path:
    """scenarios/demo.toml from a source checkout, else the copy inside the wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "scenarios" / "demo.toml",
                      here / "scenarios_data" / "demo.toml"):
        if candidate.is_file():
            return candidate
    raise UsageError("the demo scenario is missing from this installation; "
                     "pass --scenario FILE")


if __name__ == "__main__":
    sys.exit(main())
