"""config.toml: `[[alerts]]` rules, `[alert_destinations.NAME]` webhooks and `[alerting]`
limits. Tokens (and a Slack webhook URL, which is itself the secret) come from the
environment."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from app.diagnosis.catalogue import CATALOGUE

STATE_CHANGES = ("opened", "reopened", "cleared", "resolved", "corrected by hand",
                 "acknowledged", "assigned", "snoozed")
DEFAULT_RULE = "amendment-after-release"
DEFAULT_TO = ("procurement", "warehouse_lead")  # amendment-after-release goes to both


def _http_url(url: str | None) -> str | None:
    if url is not None and not url.startswith(("http://", "https://")):
        raise ValueError(f"{url!r} is not an http(s) URL")
    return url


WebhookUrl = Annotated[str | None, AfterValidator(_http_url)]
"""A webhook's address in config: http(s) only (also [handoff] webhook_url)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Destination(_Model):
    webhook_url: WebhookUrl = None
    url_env: str | None = None  # the URL itself from the environment (Slack's is secret)
    token_env: str | None = None  # a bearer token from the environment
    format: Literal["json", "slack"] = "json"
    timeout_seconds: float = Field(10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _one_url(self) -> Destination:
        if (self.webhook_url is None) == (self.url_env is None):
            raise ValueError("give webhook_url or url_env (one of them)")
        return self


class AlertRule(Destination):
    """What to alert on (finding codes, or one condition) and where: `to` names
    [alert_destinations], or the rule carries its own webhook."""

    name: str
    codes: list[str] = []  # a finding's exception changing state (see `on`)
    on: list[str] = ["opened", "reopened"]  # which state changes
    oldest_open_hours: float | None = Field(None, gt=0)  # oldest open exception older
    stale_hours: float | None = Field(None, gt=0)  # a system without a good read so long
    to: list[str] = []

    @field_validator("codes")
    @classmethod
    def _known(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if code not in CATALOGUE:
                raise ValueError(f"unknown finding code {code!r}")
        return codes

    @field_validator("on")
    @classmethod
    def _changes(cls, changes: list[str]) -> list[str]:
        for change in changes:
            if change not in STATE_CHANGES:
                raise ValueError(f"unknown state change {change!r} (one of "
                                 f"{', '.join(STATE_CHANGES)})")
        return changes

    @model_validator(mode="before")
    @classmethod
    def _inline_destination(cls, data):
        # A rule that names `to` needs no webhook of its own: satisfy _one_url.
        if isinstance(data, dict) and data.get("to") and not (
                data.get("webhook_url") or data.get("url_env")):
            data = {**data, "webhook_url": "http://unused.invalid"}
        return data

    @model_validator(mode="after")
    def _one_trigger(self) -> AlertRule:
        triggers = [bool(self.codes), self.oldest_open_hours is not None,
                    self.stale_hours is not None]
        if sum(triggers) != 1:
            raise ValueError(f"alert {self.name!r}: give exactly one of codes, "
                             "oldest_open_hours, stale_hours")
        return self


class AlertingSettings(_Model):
    max_per_hour: int = Field(30, ge=1)  # per destination; the rest wait, never dropped
    retries: int = Field(2, ge=0, le=10)  # further attempts within one evaluation
    backoff_seconds: float = Field(1.0, ge=0, le=60)  # doubled after each attempt
    give_up_after: int = Field(5, ge=1)  # evaluations with a failed delivery, then failed


def check(rules: list[AlertRule], destinations: dict[str, Destination]) -> None:
    """Cross-checks the sections (ValueError, reported as one config line)."""
    names = [rule.name for rule in rules]
    if len(set(names)) != len(names):
        raise ValueError("alerts: two rules share a name")
    for rule in rules:
        for name in rule.to:
            if name not in destinations:
                raise ValueError(f"alerts {rule.name!r}: to: no [alert_destinations.{name}] "
                                 f"(configured: {', '.join(destinations) or 'none'})")


def effective_rules(rules: list[AlertRule],
                    destinations: dict[str, Destination]) -> list[AlertRule]:
    """The configured rules, plus amendment-after-release to procurement and the warehouse
    lead's destinations unless a rule already covers that code."""
    covered = any(DEFAULT_RULE in rule.codes for rule in rules)
    to = [name for name in DEFAULT_TO if name in destinations]
    if covered or not to or DEFAULT_RULE in {r.name for r in rules}:
        return list(rules)
    return [*rules, AlertRule(name=DEFAULT_RULE, codes=[DEFAULT_RULE], to=to)]
