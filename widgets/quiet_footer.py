"""A Footer that rebuilds only when the keys it shows change (the queue screen keeps one
for typing in its filter box and one for everything else, and swaps them on focus).

`bindings_changed` is the Footer's own hook for the screen's bindings signal; overriding
it is the only way to skip Textual's remount of every key on each focus change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer, Input


class QuietFooter(Footer):
    """A Footer for one focus state of the screen: the filter box's (`typing`) or every
    other widget's. The screen shows the one whose state it is in, so a focus change swaps
    two footers instead of remounting every key (Textual's Footer rebuilds on each focus
    change and screen switch: a dozen mounts, a layout, and garbage for the collector).
    Each rebuilds only when the keys it shows change."""

    def __init__(self, *, typing: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.typing = typing
        self._shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        if isinstance(screen.focused, Input) != self.typing:
            return  # the other footer's state: it is hidden meanwhile
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            shown = tuple((b.key, screen.app.get_key_display(b), b.description, b.action,
                           b.group, enabled, tooltip)
                          for _, b, enabled, tooltip in screen.active_bindings.values()
                          if b.show)
            if shown == self._shown:
                return
            self._shown = shown
        super().bindings_changed(screen)
