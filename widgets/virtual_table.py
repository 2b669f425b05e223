"""A table over a SQL result of any size: rows are fetched a page at a time in a thread
and drawn with Textual's line API, so the widget holds only the pages near the cursor.

Pages load by keyset (the cursor of the previous page's last row) while scrolling, and by
offset only when jumping (End, a far scrollbar drag); the next page is asked for while the
cursor is still half a page away, so paging down never waits on SQL. Cells are plain
text, never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

PAGE = 100
KEEP_PAGES = 30  # ~3,000 rows in memory at most, whatever the result's size
AHEAD = PAGE // 2  # rows below the screen worth having before the cursor gets there


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: int  # 0: take the space left
    cell: Callable[[Any], str]
    justify: str = "left"
    min_table: int = 0  # shown only when the table is at least this wide


Loader = Callable[[int, tuple | None, int], list]  # (offset, after, limit) → rows


class VirtualTable(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    VirtualTable { height: 1fr; }
    VirtualTable > .virtual-table--cursor { background: $block-cursor-background;
        color: $block-cursor-foreground; text-style: bold; }
    VirtualTable:blur > .virtual-table--cursor { background: $block-cursor-blurred-background; }
    VirtualTable > .virtual-table--loading { color: $text-muted; }
    """
    COMPONENT_CLASSES = {"virtual-table--cursor", "virtual-table--loading"}
    BINDINGS = [
        Binding("up", "move(-1)", show=False), Binding("down", "move(1)", show=False),
        Binding("pageup", "move(-20)", show=False), Binding("pagedown", "move(20)", show=False),
        Binding("home", "jump(0)", show=False), Binding("end", "jump(-1)", show=False),
        Binding("enter", "select", show=False),
    ]
    cursor = reactive(0, always_update=True)

    class Highlighted(Message):
        def __init__(self, table: VirtualTable, row: Any) -> None:
            super().__init__()
            self.table, self.row = table, row

    class Selected(Highlighted):
        pass

    class Resized(Message):
        """The table's width changed, and with it the columns shown (see header_text)."""

        def __init__(self, table: VirtualTable) -> None:
            super().__init__()
            self.table = table

    def __init__(self, columns: list[Column], cursor_of: Callable[[Any], tuple], *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = columns
        self.cursor_of = cursor_of
        self.total = 0
        self._loader: Loader | None = None
        self._pages: dict[int, list] = {}
        self._asked: set[int] = set()
        self._generation = 0
        self._layout: tuple[int, list[tuple[Column, int]]] = (-1, [])
        self._lines: dict[int, str] = {}  # row index → its drawn text, at _layout's width

    # -- data ---------------------------------------------------------------------------
    def reset(self, loader: Loader, total: int, keep_cursor: bool = False,
              first: list | None = None) -> None:
        """A new result (a filter or sort changed, or the data did): drop every page
        (`first`: page 0, if the caller fetched it along with the total)."""
        self._generation += 1
        self._loader, self.total = loader, total
        self._pages.clear()
        self._asked.clear()
        self._lines.clear()
        if first is not None:
            self._pages[0] = first
            self._asked.add(0)
        self.virtual_size = Size(self.size.width, total)
        self.cursor = min(self.cursor, max(total - 1, 0)) if keep_cursor else 0
        if not keep_cursor:
            self.scroll_to(y=0, animate=False)
        self.refresh()

    def set_total(self, total: int) -> None:
        """The same result, counted (reset may have been given a first guess): the
        loaded pages stay."""
        if total == self.total:
            return
        self.total = total
        self.virtual_size = Size(self.size.width, total)
        if self.cursor >= total:
            self.cursor = max(total - 1, 0)
        self._prefetch()
        self.refresh()

    def row(self, index: int) -> Any | None:
        """The row at `index` if its page is loaded; else None (and the page is asked for)."""
        number = index // PAGE
        page = self._pages.get(number)
        if page is None:
            self._ask(number)
            return None
        offset = index - number * PAGE
        return page[offset] if offset < len(page) else None

    def _ask(self, number: int) -> None:
        if number in self._asked or self._loader is None or number * PAGE >= self.total:
            return
        self._asked.add(number)
        previous = self._pages.get(number - 1)
        after = self.cursor_of(previous[-1]) if previous and len(previous) == PAGE else None
        self._load(self._generation, number, after)

    @work(thread=True, exit_on_error=False, group="pages")
    def _load(self, generation: int, number: int, after: tuple | None) -> None:
        loader = self._loader
        rows = loader(0, after, PAGE) if after is not None else loader(number * PAGE, None,
                                                                        PAGE)
        self.app.call_from_thread(self._loaded, generation, number, rows)

    def _loaded(self, generation: int, number: int, rows: list) -> None:
        if generation != self._generation:
            return  # an answer for a result that has since been replaced
        self._pages[number] = rows
        for far in sorted(self._pages, key=lambda n: -abs(n - self.cursor // PAGE))[
                :max(0, len(self._pages) - KEEP_PAGES)]:
            del self._pages[far]
            self._asked.discard(far)
            for index in range(far * PAGE, (far + 1) * PAGE):
                self._lines.pop(index, None)
        if number == self.cursor // PAGE:
            self._announce()
        self._prefetch()
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if number * PAGE < top + height and (number + 1) * PAGE > top:
            self.refresh()  # (a page fetched ahead of the cursor changes nothing on screen)

    def _prefetch(self) -> None:
        """Ask for the page below the screen before the cursor reaches it, by keyset once
        the page before it is here (pages on screen are asked for as they are drawn)."""
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        for number in range(top // PAGE, min(top + height + AHEAD, self.total - 1) // PAGE + 1):
            if number not in self._pages:
                if number - 1 in self._pages:
                    self._ask(number)
                break

    # -- the cursor ---------------------------------------------------------------------
    def action_move(self, delta: int) -> None:
        if self.total:
            self.cursor = max(0, min(self.total - 1, self.cursor + delta))

    def action_jump(self, index: int) -> None:
        if self.total:
            self.cursor = self.total - 1 if index < 0 else index

    def action_select(self) -> None:
        row = self.row(self.cursor)
        if row is not None:
            self.post_message(self.Selected(self, row))

    def watch_cursor(self, cursor: int) -> None:
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if cursor < top:
            self.scroll_to(y=cursor, animate=False)
        elif height and cursor >= top + height:
            self.scroll_to(y=cursor - height + 1, animate=False)
        self._announce()
        self.refresh()
        self.call_after_refresh(self._prefetch)  # its thread would compete with the frame

    def _announce(self) -> None:
        row = self.row(self.cursor) if self.total else None
        if row is not None:
            self.post_message(self.Highlighted(self, row))

    # -- drawing ------------------------------------------------------------------------
    def on_resize(self) -> None:
        self.post_message(self.Resized(self))

    def visible_columns(self) -> list[tuple[Column, int]]:
        """The columns that fit and their widths (worked out once per table width: every
        drawn line asks)."""
        width = self.scrollable_content_region.width or self.size.width
        if self._layout[0] != width:
            shown = [c for c in self.columns if width >= c.min_table]
            fixed = sum(c.width + 1 for c in shown if c.width)
            self._layout = (width, [(c, c.width or max(8, width - fixed)) for c in shown])
            self._lines.clear()
        return self._layout[1]

    def header_text(self) -> Text:
        return Text(" ".join(_fit(c.title, w, c.justify) for c, w in self.visible_columns()),
                    style="bold")

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        if index >= self.total:
            return Strip.blank(width)
        row = self.row(index)
        if row is None:
            style = self.get_component_rich_style("virtual-table--loading")
            return Strip([Segment(_fit("…", width), style)], width)
        columns = self.visible_columns()  # first: a new width forgets the drawn lines
        text = self._lines.get(index)
        if text is None:
            text = _fit(" ".join(_fit(c.cell(row), w, c.justify) for c, w in columns), width)
            if width == self._layout[0]:
                self._lines[index] = text
        style = self.get_component_rich_style("virtual-table--cursor") \
            if index == self.cursor else Style()
        return Strip([Segment(text, style)], width)


def _fit(text: str, width: int, justify: str = "left") -> str:
    """Exactly `width` cells: control characters dropped, long text cut with an ellipsis."""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    if len(text) > width:
        text = text[:max(0, width - 1)] + "…"
    return text.rjust(width) if justify == "right" else text.ljust(width)
