"""`seamdesk serve`: the app in a browser through textual-serve. Each browser session runs
its own `seamdesk` process with this config, operator and read-only flag.

The browser session has no authentication of its own, so it listens on loopback unless
`--public` says otherwise, and then says plainly that it belongs behind an authenticating
proxy.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys

from app.errors import UsageError
from app.service import Desk

WARNING = ("no authentication: anyone who can reach {url} gets seamdesk as operator "
           "{operator!r}; put it behind an authenticating proxy (TLS and login)")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name that may resolve anywhere


def command_for(desk: Desk) -> str:
    """The command each browser session runs: this interpreter, this config."""
    argv = [sys.executable, "-m", "app.cli", "--config", str(desk.config.path),
            "--operator", desk.operator]
    if desk.read_only:
        argv.append("--read-only")
    return shlex.join(argv)


def serve(desk: Desk, host: str, port: int, *, public: bool) -> None:
    if not is_loopback(host) and not public:
        raise UsageError(f"--host {host}: the browser session has no authentication; "
                         "add --public to listen beyond this machine (behind a proxy)")
    from textual_serve.server import Server

    url = f"http://{host}:{port}"
    if public:
        print("seamdesk serve: " + WARNING.format(url=url, operator=desk.operator),
              file=sys.stderr, flush=True)
    print(f"seamdesk serving on {url} (ctrl+c stops)", flush=True)
    Server(command_for(desk), host=host, port=port, title="seamdesk").serve()
