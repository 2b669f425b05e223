"""What every seamdesk screen shares: worker failures routed to the app's one handler.

Worker.StateChanged does not bubble, so each screen hands its failed workers to the app
instead of each reporting them its own way.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.worker import Worker, WorkerState


class DeskScreen(Screen):
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.report_failure(event.worker.error)
