"""The installed `seamdesk demo` under a real pseudo-terminal at 80x24 with
TERM=xterm-256color (no COLORTERM), as a support engineer over SSH gets it: wait for the
lookup screen, look up a SKU, quit cleanly."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
SEAMDESK = Path(sys.executable).with_name("seamdesk")
ESCAPES = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


class Terminal:
    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                        env=env, cwd=cwd, start_new_session=True)
        os.close(slave)
        self.seen = b""

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text.encode() in ESCAPES.sub(b"", self.seen):
                return
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    break
        plain = ESCAPES.sub(b"", self.seen).decode(errors="replace")
        raise AssertionError(f"{text!r} never appeared; the terminal showed:\n{plain[-2000:]}")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def drain_until_exit(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.seen += os.read(self.master, 65536)
                except OSError:
                    break
        return self.process.wait(timeout=max(1, deadline - time.monotonic()))


@pytest.mark.skipif(not SEAMDESK.exists(), reason=f"no installed entry point at {SEAMDESK}")
def test_demo_in_a_real_terminal_looks_up_a_sku_and_quits(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TEXTUAL", "COLORTERM", "NO_COLOR"))}
    env.update(TERM="xterm-256color", SEAMDESK_OPERATOR="pty-tester", LANG="C.UTF-8")
    terminal = Terminal([str(SEAMDESK), "demo"], env, tmp_path)
    try:
        terminal.wait_for("Type a SKU or item name", timeout=90)
        terminal.wait_for("pty-tester")  # the header says who is at the terminal
        terminal.type("TEE-BLK-M\r")
        terminal.wait_for("Classic tee, black, M")
        terminal.wait_for("ERP and storefront disagree")
        terminal.type("\x1b")  # out of the search box, so q means quit
        time.sleep(0.5)
        terminal.type("q")
        assert terminal.drain_until_exit() == 0
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
            terminal.process.wait()
        os.close(terminal.master)
