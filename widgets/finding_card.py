"""One finding as a card: what is wrong (with the numbers), why, what to do, who owns it."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from app.diagnosis.catalogue import CATALOGUE, SYSTEM_WIDE
from app.diagnosis.evidence import Finding


class FindingCard(Static):
    DEFAULT_CSS = """
    FindingCard {
        height: auto;
        margin: 0 0 1 0;
        padding: 0 1;
        border-left: thick $error;
        background: $boost;
    }
    FindingCard.-system { border-left: thick $warning; }
    """

    def __init__(self, finding: Finding, number: int) -> None:
        super().__init__(card_text(finding, number))
        self.finding = finding
        if finding.code in SYSTEM_WIDE:
            self.add_class("-system")


def card_text(finding: Finding, number: int) -> Text:
    kind = CATALOGUE.get(finding.code)
    text = Text()
    text.append(f"{number}. {kind.title if kind else finding.code}", style="bold")
    cause = f" · {finding.cause}" if finding.cause else ""
    text.append(f"  {finding.code} · {finding.handoff}{cause}", style="dim")
    text.append("\n")
    text.append(finding.summary)
    if kind:
        text.append("\nLikely cause: ", style="bold")
        text.append(kind.cause)
    text.append("\nFirst action: ", style="bold")
    text.append(finding.first_action)
    text.append("\nOwner: ", style="bold")
    text.append(finding.owner_name or f"{finding.owner} (set it in [owners])")
    return text
