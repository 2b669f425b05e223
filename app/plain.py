"""Text from the systems made safe to print: control characters (an ANSI escape sequence
in a vendor's item name or error message) are shown as visible escapes (`\\x1b`) instead
of acting on the terminal, the ticket or whoever cats the file."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and newline
_CONTROL_AND_LINES = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def visible(text: str, *, one_line: bool = False) -> str:
    """`text` with control characters escaped; `one_line` escapes newlines and tabs too."""
    pattern = _CONTROL_AND_LINES if one_line else _CONTROL
    return pattern.sub(lambda m: repr(m.group())[1:-1], text)


def printable(text: str | None, *, one_line: bool = True) -> str | None:
    """`visible` for text entering the cache, with a fast path for the usual clean text
    (`isprintable` is a C loop; most names never need the regex)."""
    if text is None or text.isprintable():
        return text
    return visible(text, one_line=one_line)
