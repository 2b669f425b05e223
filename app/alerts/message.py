"""What an alert says: a generic JSON object, or Slack's incoming-webhook shape
(`{"text": ...}`, with Slack's three control characters escaped so data cannot mention
@channel or forge a link)."""

from __future__ import annotations

from app.clock import iso, span_text
from app.diagnosis.catalogue import CATALOGUE, routed_to
from app.health.ownership import finding_authority
from app.plain import visible


def _slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def finding_body(facts: dict, fmt: str) -> dict:
    code = facts["code"]
    routed = routed_to(code, facts["owners"]) if code in CATALOGUE else facts["owner"]
    authority = finding_authority(code, facts["matrix"])
    where = " ".join(x for x in (facts["document"], facts["sku"], facts["location"]) if x)
    text = visible(f"seamdesk: {code} {facts['change']}: {where} ({facts['handoff']}). "
                   f"{facts['summary']} Routed to {routed}."
                   + (f" {authority}" if authority else ""), one_line=True)
    if fmt == "slack":
        return {"text": _slack(text)}
    return {"alert": facts["rule"], "kind": "finding", "code": code,
            "change": facts["change"], "at": iso(facts["at"]), "key": facts["key"],
            "sku": facts["sku"], "location": facts["location"],
            "document": facts["document"], "handoff": facts["handoff"],
            "owner": facts["owner"], "routed_to": routed, "status": facts["status"],
            "summary": facts["summary"], "ownership": authority, "text": text}


def condition_body(facts: dict, fmt: str) -> dict:
    age = span_text(facts["now"] - facts["since"])
    if facts["condition"] == "stale":
        text = (f"seamdesk: {facts['subject']} has had no good read for {age} "
                f"(since {iso(facts['since'])}; alert after {facts['hours']:g} h).")
    else:
        text = (f"seamdesk: the oldest open exception has waited {age} (alert after "
                f"{facts['hours']:g} h): {facts['summary']}")
    text = visible(text, one_line=True)
    if fmt == "slack":
        return {"text": _slack(text)}
    return {"alert": facts["rule"], "kind": "condition", "condition": facts["condition"],
            "subject": facts["subject"], "since": iso(facts["since"]),
            "at": iso(facts["now"]), "text": text}
